/**
 * Fans XState inspection events out to WebSocket clients (visualizers on /inspect).
 * `inspect` is handed to createActor and runs on every event in the kernel, hot paths
 * included, so with no client attached it returns at once and records nothing. With
 * clients, each event is serialized once and the same text goes to every client; a
 * client that does not read has its messages dropped (and counted) once its socket
 * buffers 1 MiB, so a stalled visualizer costs bounded memory and never slows the kernel.
 */
import type { WebSocket } from 'ws';
import type { AnyActorRef, InspectionEvent, Subscription } from 'xstate';
import { LiveActors } from './live-actors.js';
import { type DroppedMessage, type HelloMessage, type InspectMessage, toInspectData } from './messages.js';

export interface InspectionHubOptions {
  /**
   * The root actor, or an array of roots (one per actor system), read when the first
   * client attaches: nothing is recorded while nobody listens, so the actor list for
   * the hello comes from walking these trees.
   */
  root?: () => unknown;
  /** Visualizers attached at once; more are refused. */
  maxClients?: number;
  /** Past this many bytes queued on a client's socket, its messages are dropped. */
  maxBufferedBytes?: number;
  /** Live actors remembered for the hello; past it, new ones are counted as untracked. */
  maxActors?: number;
  /** After close(), clients that have not finished the close handshake are cut off after this long. */
  closeGraceMs?: number;
}

export interface InspectionCounters {
  /** Clients attached now. */
  clients: number;
  /** Inspection events streamed (only counted while someone listens). */
  events: number;
  /** Messages written to clients, hellos and notices included. */
  sent: number;
  /** Messages not written because a client's buffer was full, all clients together. */
  dropped: number;
  /** Events that could not be turned into a message. */
  errors: number;
  /** Live actors known now (kept only while someone listens). */
  actors: number;
  /** Actors not kept because the live-actor map was full. */
  untracked: number;
  /** Bytes queued on client sockets now, all clients together. */
  buffered: number;
}

interface Client {
  readonly ws: WebSocket;
  /** Messages dropped since the last notice. */
  dropped: number;
  /** Write callback: the moment a backed-up client drains is the moment to tell it what it missed. */
  readonly onWritten: (error?: Error) => void;
}

export class InspectionHub {
  readonly #clients = new Set<Client>();
  readonly #live: LiveActors;
  readonly #root: (() => unknown) | undefined;
  /**
   * Root actors whose systems are inspected only while a client listens: an observer
   * attached to a system makes XState build an inspection event for every event, which
   * costs the kernel even when the observer returns at once.
   */
  readonly #tracked = new Map<AnyActorRef, Subscription | null>();
  readonly #maxClients: number;
  readonly #maxBuffered: number;
  readonly #closeGraceMs: number;
  #closed = false;
  #events = 0;
  #sent = 0;
  #dropped = 0;
  #errors = 0;

  constructor(options: InspectionHubOptions = {}) {
    this.#root = options.root;
    this.#maxClients = options.maxClients ?? 16;
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.#closeGraceMs = options.closeGraceMs ?? 1000;
    this.#live = new LiveActors(options.maxActors ?? 50_000);
  }

  /** For createActor's `inspect` option; an arrow so it can be passed detached. */
  readonly inspect = (event: InspectionEvent): void => {
    if (this.#clients.size === 0) return;
    this.#publish(event);
  };

  /** Inspect this root actor's system while clients listen (its whole tree: one system). */
  track(actor: AnyActorRef): void {
    if (this.#closed || this.#tracked.has(actor)) return;
    this.#tracked.set(actor, this.#clients.size > 0 ? actor.system.inspect(this.inspect) : null);
    const untrack = () => {
      this.#tracked.get(actor)?.unsubscribe();
      this.#tracked.delete(actor);
    };
    actor.subscribe({ complete: untrack, error: untrack });
  }

  /** True when attach() would refuse: closed, or at the client limit. */
  get full(): boolean {
    return this.#closed || this.#clients.size >= this.#maxClients;
  }

  get counters(): InspectionCounters {
    let buffered = 0;
    for (const client of this.#clients) buffered += client.ws.bufferedAmount;
    return {
      clients: this.#clients.size,
      events: this.#events,
      sent: this.#sent,
      dropped: this.#dropped,
      errors: this.#errors,
      actors: this.#live.size,
      untracked: this.#live.untracked,
      buffered,
    };
  }

  /** Stream to this socket, starting with the live actors. Returns false (and closes it) when full. */
  attach(ws: WebSocket): boolean {
    if (this.full) {
      ws.close(this.#closed ? 1001 : 1013, this.#closed ? 'kernel shutting down' : 'too many inspectors');
      return false;
    }
    // The map is only fed while someone listens, so the first listener rebuilds it.
    if (this.#clients.size === 0) {
      this.#seed();
      for (const actor of this.#tracked.keys()) this.#tracked.set(actor, actor.system.inspect(this.inspect));
    }
    const client: Client = {
      ws,
      dropped: 0,
      onWritten: (error) => {
        if (!error && client.dropped > 0 && ws.bufferedAmount <= this.#maxBuffered) this.#notify(client);
      },
    };
    this.#clients.add(client);
    // Errors are followed by 'close'; a listener keeps them from becoming uncaught.
    ws.on('error', () => {});
    ws.on('close', () => this.#detach(client));
    const hello: HelloMessage = { push: 'INSPECT_HELLO', data: { actors: this.#live.list(), at: Date.now() } };
    this.#write(client, JSON.stringify(hello));
    return true;
  }

  /** Close every client (1001) and refuse new ones; stragglers are cut off after the grace period. */
  close(): void {
    this.#closed = true;
    if (this.#clients.size === 0) return;
    const clients = [...this.#clients];
    for (const { ws } of clients) ws.close(1001, 'kernel shutting down');
    const force = setTimeout(() => {
      for (const { ws } of clients) if (ws.readyState !== ws.CLOSED) ws.terminate();
    }, this.#closeGraceMs);
    force.unref();
  }

  #seed(): void {
    try {
      const roots = this.#root?.();
      const given = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots];
      this.#live.seed([...given, ...this.#tracked.keys()]);
    } catch {
      // A hello without actors is still a working stream.
      this.#live.clear();
      this.#errors++;
    }
  }

  #detach(client: Client): void {
    this.#clients.delete(client);
    // Nothing feeds the map without listeners; clear it rather than let it go stale.
    if (this.#clients.size === 0) {
      this.#live.clear();
      for (const [actor, subscription] of this.#tracked) {
        subscription?.unsubscribe();
        this.#tracked.set(actor, null);
      }
    }
  }

  #publish(event: InspectionEvent): void {
    // Called from inside XState's event processing: a throw here would break an actor.
    try {
      const data = toInspectData(event, Date.now());
      if (data === undefined) return;
      this.#events++;
      this.#live.apply(data);
      const message: InspectMessage = { push: 'INSPECT', data };
      const text = JSON.stringify(message);
      for (const client of this.#clients) this.#deliver(client, text);
    } catch {
      this.#errors++;
    }
  }

  #deliver(client: Client, text: string): void {
    const { ws } = client;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.#maxBuffered) {
      client.dropped++;
      this.#dropped++;
      return;
    }
    if (client.dropped > 0) this.#notify(client);
    this.#write(client, text);
  }

  /** Tell a client how many messages it missed, once it can take them again. */
  #notify(client: Client): void {
    const notice: DroppedMessage = { push: 'INSPECT_DROPPED', data: { count: client.dropped } };
    client.dropped = 0;
    this.#write(client, JSON.stringify(notice));
  }

  #write(client: Client, text: string): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(text, client.onWritten);
    this.#sent++;
  }
}
