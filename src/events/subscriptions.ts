/**
 * Event subscriptions (protocol.md §5 SUBSCRIBE to EMIT, §7): one subscription per
 * agent, holding the types it wants (each with an optional filter), a bounded queue for
 * POLL_EVENTS and, for WebSocket clients, the connections to push to.
 *
 * One EventBus listener routes every event through an index type → subscriptions, so
 * the cost of an event grows with its own subscribers only. A subscription ends with its
 * agent (the registry's removal: a client's disconnect, a supervised agent's end).
 *
 * FILE_CHANGED comes from the file watchers owned here: a subscription to it holds one
 * watcher reference (its glob's directory) and gets only the paths its glob matches.
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { EventPush } from '../kernel/session.js';
import { Waiters } from '../kernel/waiters.js';
import type { EventFilter, EventType, KernelEvent, SubscribableType } from '../protocol/schemas/events.js';
import type { ResourceWarnings } from '../resources/warnings.js';
import { FileWatchers, type FileWatchLimits } from './file-watch.js';
import type { PathMatcher } from './glob.js';

/** A FILE_CHANGED subscription's watch: its glob, the subscriber's read check (path policy), its watcher reference. */
export interface FileWatch {
  glob: PathMatcher;
  /** Whether the subscriber may read `path` now (its rules may have narrowed since SUBSCRIBE). */
  readable: (path: string) => boolean;
  release: () => void;
}

export const DEFAULT_EVENT_QUEUE_SIZE = 1000;

/** A FIFO bounded in events: when full, the oldest event is evicted. Memory follows what is queued. */
class EventQueue {
  readonly #capacity: number;
  #items: KernelEvent[] = [];
  #head = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Adds the event; true when the oldest had to be evicted for it. */
  push(event: KernelEvent): boolean {
    this.#items.push(event);
    if (this.size <= this.#capacity) return false;
    this.#head++;
    this.#compact();
    return true;
  }

  take(max: number): KernelEvent[] {
    const end = Math.min(this.#items.length, this.#head + max);
    const taken = this.#items.slice(this.#head, end);
    this.#head = end;
    this.#compact();
    return taken;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

export class Subscription {
  readonly agentId: number;
  /** Subscribed types, each with its filter (null: every event of the type). */
  readonly types = new Map<SubscribableType, EventFilter | null>();
  /** Connections that get events pushed instead of queued (WebSocket clients). */
  readonly sinks = new Set<EventPush>();
  /** FILE_CHANGED: the glob of `filter.path` and the release of its watcher reference. */
  #fileWatch: FileWatch | null = null;
  readonly #queue: EventQueue;
  readonly #queueSize: number;
  readonly #warnings: ResourceWarnings | undefined;
  readonly #waiters = new Waiters();
  /** Events lost since the last POLL_EVENTS: evicted from a full queue, or refused by a slow push. */
  dropped = 0;
  droppedTotal = 0;

  constructor(agentId: number, queueSize: number, warnings?: ResourceWarnings) {
    this.agentId = agentId;
    this.#queue = new EventQueue(queueSize);
    this.#queueSize = queueSize;
    this.#warnings = warnings;
  }

  get pending(): number {
    return this.#queue.size;
  }

  /** Whether the filter of `key` lets the event through. */
  accepts(event: KernelEvent, key: SubscribableType): boolean {
    // File events only reach a FILE_CHANGED subscription whose glob matches, never "*".
    if (event.type === 'FILE_CHANGED') {
      const path = event.data.path;
      if (key !== 'FILE_CHANGED' || typeof path !== 'string' || !this.#fileWatch?.glob.test(path)) return false;
      // Last: the glob already narrowed the events to the few this subscriber asked for.
      if (!this.#fileWatch.readable(path)) return false;
    }
    const filter = this.types.get(key);
    if (!filter) return true;
    if (filter.agent_id !== undefined && event.data.agent_id !== filter.agent_id) return false;
    if (filter.source_agent_id !== undefined && event.source_agent_id !== filter.source_agent_id) return false;
    return true;
  }

  deliver(event: KernelEvent): void {
    if (this.sinks.size > 0) {
      let refused = false;
      for (const sink of this.sinks) if (!sink(event)) refused = true;
      if (refused) this.#drop();
      return;
    }
    if (this.#queue.push(event)) this.#drop();
    this.#warnings?.observe(this.agentId, 'event_queue', this.#queue.size, this.#queueSize);
    this.#waiters.wakeAll();
  }

  take(max: number): { events: KernelEvent[]; dropped: number } {
    const dropped = this.dropped;
    this.dropped = 0;
    const events = this.#queue.take(max);
    if (events.length > 0) this.#warnings?.observe(this.agentId, 'event_queue', this.#queue.size, this.#queueSize);
    return { events, dropped };
  }

  /** Resolves when an event is queued, the subscription ends, `signal` aborts, or after `timeoutMs`. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return this.#waiters.wait(timeoutMs, signal);
  }

  /** Sets (or with null, clears) the FILE_CHANGED glob, releasing the watcher of the one it replaces. */
  watchFiles(watch: FileWatch | null): void {
    this.#fileWatch?.release();
    this.#fileWatch = watch;
  }

  /** The subscription ended: wake every waiting POLL_EVENTS. */
  end(): void {
    this.#waiters.wakeAll();
    this.sinks.clear();
  }

  #drop(): void {
    this.dropped++;
    this.droppedTotal++;
  }
}

export interface PollResult {
  events: KernelEvent[];
  count: number;
  dropped: number;
}

export class EventSubscriptions {
  readonly #queueSize: number;
  readonly #byAgent = new Map<number, Subscription>();
  readonly #byType = new Map<SubscribableType, Set<Subscription>>();
  readonly #bus: EventBus;
  readonly #warnings: ResourceWarnings | undefined;
  /** Recursive directory watchers behind FILE_CHANGED, shared across subscriptions. */
  readonly files: FileWatchers;
  /** Set only while EMIT's event is routed: the emitter, when it asked not to get its own event. */
  #exclude: number | null = null;
  /** Set only while `publish` routes an event meant for one agent: every other subscriber is skipped. */
  #audience: number | null = null;
  /** What the last routed event reached, read back by `emit`. */
  #lastRoutedId = 0;
  #lastDeliveredTo = 0;

  constructor(deps: {
    bus: EventBus;
    registry: AgentRegistry;
    queueSize?: number;
    fileWatch?: Partial<FileWatchLimits>;
    warnings?: ResourceWarnings;
  }) {
    this.#queueSize = deps.queueSize ?? DEFAULT_EVENT_QUEUE_SIZE;
    this.#bus = deps.bus;
    this.#warnings = deps.warnings;
    this.files = new FileWatchers((path, change) => this.#bus.emit('FILE_CHANGED', { path, change }, null), deps.fileWatch);
    deps.bus.on((event) => this.#route(event));
    deps.registry.onRemove((record) => this.remove(record.id));
  }

  /** Agents with a subscription. */
  get size(): number {
    return this.#byAgent.size;
  }

  /** Entries in the type index (agent × type); 0 once every subscriber is gone. */
  get indexed(): number {
    let entries = 0;
    for (const set of this.#byType.values()) entries += set.size;
    return entries;
  }

  /** Open file watchers (one per distinct watched directory); 0 once no FILE_CHANGED subscription is left. */
  get watchers(): number {
    return this.files.count;
  }

  get(agentId: number): Subscription | undefined {
    return this.#byAgent.get(agentId);
  }

  /**
   * Adds types to the agent's subscription; `filter` applies to these types (replacing
   * their earlier filter). `sink`: push to this connection instead of queueing, until `closed`.
   * `watch`: for FILE_CHANGED, its glob and watcher reference (owned by the subscription from here on).
   * Returns every type the agent is now subscribed to.
   */
  subscribe(
    agentId: number,
    types: readonly SubscribableType[],
    filter: EventFilter | undefined,
    sink?: { push: EventPush; closed: AbortSignal },
    watch?: FileWatch,
  ): SubscribableType[] {
    let subscription = this.#byAgent.get(agentId);
    if (!subscription) {
      subscription = new Subscription(agentId, this.#queueSize, this.#warnings);
      this.#byAgent.set(agentId, subscription);
    }
    const hasFilter =
      filter !== undefined && (filter.agent_id !== undefined || filter.source_agent_id !== undefined || filter.path !== undefined);
    if (watch && types.includes('FILE_CHANGED')) subscription.watchFiles(watch);
    else watch?.release();
    for (const type of types) {
      subscription.types.set(type, hasFilter ? { ...filter } : null);
      let set = this.#byType.get(type);
      if (!set) {
        set = new Set();
        this.#byType.set(type, set);
      }
      set.add(subscription);
    }
    if (sink && !sink.closed.aborted && !subscription.sinks.has(sink.push)) {
      const owner = subscription;
      owner.sinks.add(sink.push);
      sink.closed.addEventListener('abort', () => owner.sinks.delete(sink.push), { once: true });
    }
    return [...subscription.types.keys()];
  }

  /** Removes types (all of them when `types` is 'all'); a subscription left with none ends, queue and all. */
  unsubscribe(
    agentId: number,
    types: readonly SubscribableType[] | 'all',
  ): { unsubscribed: SubscribableType[]; subscribed: SubscribableType[] } {
    const subscription = this.#byAgent.get(agentId);
    if (!subscription) return { unsubscribed: [], subscribed: [] };
    const wanted = types === 'all' ? [...subscription.types.keys()] : types;
    const unsubscribed: SubscribableType[] = [];
    for (const type of wanted) {
      if (!subscription.types.delete(type)) continue;
      unsubscribed.push(type);
      this.#unindex(type, subscription);
    }
    if (subscription.types.size === 0) this.remove(agentId);
    return { unsubscribed, subscribed: [...subscription.types.keys()] };
  }

  /** Queued events, waiting up to `waitMs` for the first; undefined when the agent has no subscription. */
  async poll(agentId: number, max: number, waitMs: number, signal: AbortSignal): Promise<PollResult | undefined> {
    const subscription = this.#byAgent.get(agentId);
    if (!subscription) return undefined;
    const deadline = Date.now() + waitMs;
    // Another poller of the same agent may take what woke us: wait again until the deadline.
    while (subscription.pending === 0 && !signal.aborted && this.#byAgent.get(agentId) === subscription) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await subscription.wait(left, signal);
    }
    const { events, dropped } = subscription.take(max);
    return { events, count: events.length, dropped };
  }

  /** Emits on the bus as `source`; returns the event and how many subscribers got it. */
  emit(source: number, type: EventType, data: Record<string, unknown>, includeSelf: boolean): { event: KernelEvent; deliveredTo: number } {
    this.#exclude = includeSelf ? null : source;
    try {
      const event = this.#bus.emit(type, data, source);
      return { event, deliveredTo: this.#lastRoutedId === event.id ? this.#lastDeliveredTo : 0 };
    } finally {
      this.#exclude = null;
    }
  }

  /**
   * Emits on the bus; with an `audience` (an agent id) only that agent's subscription gets
   * it (STATE_CHANGED of an agent-scope key). Other bus listeners still see every event.
   */
  publish(audience: number | null, type: EventType, data: Record<string, unknown>, source: number | null): KernelEvent {
    this.#audience = audience;
    try {
      return this.#bus.emit(type, data, source);
    } finally {
      this.#audience = null;
    }
  }

  /** Kernel shutdown: every file watcher closes. */
  close(): void {
    this.files.close();
  }

  /** The agent ended: its subscription, queue and waiters go. */
  remove(agentId: number): void {
    const subscription = this.#byAgent.get(agentId);
    if (!subscription) return;
    this.#byAgent.delete(agentId);
    for (const type of subscription.types.keys()) this.#unindex(type, subscription);
    subscription.types.clear();
    subscription.end();
  }

  #unindex(type: SubscribableType, subscription: Subscription): void {
    if (type === 'FILE_CHANGED') subscription.watchFiles(null);
    const set = this.#byType.get(type);
    if (!set) return;
    set.delete(subscription);
    if (set.size === 0) this.#byType.delete(type);
  }

  #skips(subscription: Subscription): boolean {
    return subscription.agentId === this.#exclude || (this.#audience !== null && subscription.agentId !== this.#audience);
  }

  #route(event: KernelEvent): void {
    let deliveredTo = 0;
    const exact = this.#byType.get(event.type);
    const any = this.#byType.get('*');
    if (exact) {
      for (const subscription of exact) {
        if (this.#skips(subscription) || !subscription.accepts(event, event.type)) continue;
        subscription.deliver(event);
        deliveredTo++;
      }
    }
    if (any) {
      for (const subscription of any) {
        // A type named explicitly is judged by its own filter, above.
        if (exact?.has(subscription) || this.#skips(subscription) || !subscription.accepts(event, '*')) continue;
        subscription.deliver(event);
        deliveredTo++;
      }
    }
    this.#lastRoutedId = event.id;
    this.#lastDeliveredTo = deliveredTo;
  }
}
