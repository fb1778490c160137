/**
 * Mailboxes (protocol.md §5 SEND to REGISTER): one bounded FIFO per agent id, filled by
 * SEND and BROADCAST, emptied by RECV. A full mailbox refuses the message (the sender
 * gets QUOTA_EXCEEDED); nothing is ever dropped in silence. Messages of one sender
 * arrive in the order they were sent. A waiting RECV wakes the moment a message arrives.
 *
 * A mailbox belongs to its agent id, so a spawned agent keeps it across restarts and
 * reconnections; it goes with the agent (the registry's removal: a client's disconnect,
 * a supervised agent's end for good), waking any RECV still waiting on it.
 */
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import { Waiters } from '../kernel/waiters.js';
import { KernelError } from '../protocol/errors.js';
import type { Message } from '../protocol/schemas/ipc.js';
import type { ResourceWarnings } from '../resources/warnings.js';

export const DEFAULT_MAILBOX_SIZE = 1000;

/** Agents that can RECV: not the kernel's supervisors (they only supervise). */
const RECEIVERS: ReadonlySet<string> = new Set(['client', 'process', 'actor', 'worker']);

/** True for the kinds of agent that have a mailbox. */
export function canReceive(kind: string): boolean {
  return RECEIVERS.has(kind);
}

/** Who a message is from: an agent, or the kernel itself (`KERNEL_SENDER`, agent 0). */
export type Sender = Pick<AgentRecord, 'id' | 'name'>;

/** The kernel as a sender (task deliveries): from 0, from_name "kernel". */
export const KERNEL_SENDER: Sender = Object.freeze({ id: 0, name: 'kernel' });

export class Mailbox {
  readonly agentId: number;
  #items: Message[] = [];
  #head = 0;
  readonly #waiters = new Waiters();
  /** Messages delivered into this mailbox over its life, and refused because it was full. */
  received = 0;
  refused = 0;

  constructor(agentId: number) {
    this.agentId = agentId;
  }

  get pending(): number {
    return this.#items.length - this.#head;
  }

  push(message: Message): void {
    this.#items.push(message);
    this.received++;
    this.#waiters.wakeAll();
  }

  take(max: number): Message[] {
    const end = Math.min(this.#items.length, this.#head + max);
    const taken = this.#items.slice(this.#head, end);
    this.#head = end;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return taken;
  }

  /** Resolves when a message arrives, the mailbox ends, `signal` aborts, or after `timeoutMs`. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return this.#waiters.wait(timeoutMs, signal);
  }

  /** The agent ended: wake every waiting RECV and let the messages go. */
  end(): void {
    this.#waiters.wakeAll();
    this.#items = [];
    this.#head = 0;
  }
}

export class Mailboxes {
  readonly #size: number;
  readonly #byAgent = new Map<number, Mailbox>();
  readonly #registry: AgentRegistry;
  readonly #bus: EventBus;
  readonly #warnings: ResourceWarnings | undefined;
  #nextId = 1;

  constructor(deps: { registry: AgentRegistry; bus: EventBus; size?: number; warnings?: ResourceWarnings }) {
    this.#size = deps.size ?? DEFAULT_MAILBOX_SIZE;
    this.#registry = deps.registry;
    this.#bus = deps.bus;
    this.#warnings = deps.warnings;
    deps.registry.onRemove((record) => this.remove(record.id));
  }

  /** Mailboxes in existence (one per agent that was sent to or received). */
  get size(): number {
    return this.#byAgent.size;
  }

  /** Messages a mailbox holds at most. */
  get capacity(): number {
    return this.#size;
  }

  get(agentId: number): Mailbox | undefined {
    return this.#byAgent.get(agentId);
  }

  /** The live agent a SEND names: by id or by name; NOT_FOUND when there is none (or it has ended). */
  resolve(target: { to?: number; to_name?: string }): AgentRecord {
    const record = target.to !== undefined ? this.#registry.get(target.to) : this.#registry.byName(target.to_name as string);
    if (!record) {
      const who = target.to !== undefined ? `agent ${target.to}` : `an agent named "${target.to_name}"`;
      throw new KernelError('NOT_FOUND', `SEND: there is no live ${who}; it never existed or has ended (LIST shows the live agents)`);
    }
    if (!RECEIVERS.has(record.kind)) {
      throw new KernelError('INVALID_REQUEST', `SEND: agent ${record.id} is a ${record.kind}, which has no mailbox`, { field: 'to' });
    }
    return record;
  }

  /**
   * Puts a message into `to`'s mailbox and emits MESSAGE_RECEIVED; QUOTA_EXCEEDED when
   * the mailbox is full (the message is not delivered).
   */
  deliver(from: Sender, to: AgentRecord, body: unknown, replyTo?: number): Message {
    const mailbox = this.#mailbox(to.id);
    if (!mailbox) throw new KernelError('NOT_FOUND', `SEND: agent ${to.id} has ended`);
    if (mailbox.pending >= this.#size) {
      mailbox.refused++;
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `SEND: the mailbox of agent ${to.id} is full (${this.#size} messages waiting for RECV); the message was not delivered, try again later`,
      );
    }
    const message: Message = {
      id: this.#nextId++,
      from: from.id,
      from_name: from.name,
      message: body,
      ...(replyTo !== undefined ? { reply_to: replyTo } : {}),
      timestamp: Date.now(),
    };
    mailbox.push(message);
    this.#warnings?.observe(to.id, 'mailbox', mailbox.pending, this.#size);
    this.#bus.emit('MESSAGE_RECEIVED', { message_id: message.id, from: from.id, to: to.id, agent_id: to.id }, from.id);
    return message;
  }

  /** Delivers to every live agent that has a mailbox (the sender too when `includeSelf`). */
  broadcast(from: AgentRecord, body: unknown, includeSelf: boolean): { delivered: number; full: number[] } {
    let delivered = 0;
    const full: number[] = [];
    for (const record of [...this.#registry]) {
      if ((record.id === from.id && !includeSelf) || !RECEIVERS.has(record.kind)) continue;
      try {
        this.deliver(from, record, body);
        delivered++;
      } catch (error) {
        if (error instanceof KernelError && error.code === 'QUOTA_EXCEEDED') full.push(record.id);
        else if (!(error instanceof KernelError && error.code === 'NOT_FOUND')) throw error;
      }
    }
    return { delivered, full };
  }

  /** Up to `max` messages, waiting up to `waitMs` for the first. */
  async recv(agentId: number, max: number, waitMs: number, signal: AbortSignal): Promise<Message[]> {
    const mailbox = this.#mailbox(agentId);
    if (!mailbox) return [];
    const deadline = Date.now() + waitMs;
    // Another RECV of the same agent may take what woke us: wait again until the deadline.
    while (mailbox.pending === 0 && !signal.aborted && this.#byAgent.get(agentId) === mailbox) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await mailbox.wait(left, signal);
    }
    const taken = mailbox.take(max);
    if (taken.length > 0) this.#warnings?.observe(agentId, 'mailbox', mailbox.pending, this.#size);
    return taken;
  }

  /** The agent ended: its mailbox, messages and waiters go. */
  remove(agentId: number): void {
    const mailbox = this.#byAgent.get(agentId);
    if (!mailbox) return;
    this.#byAgent.delete(agentId);
    mailbox.end();
  }

  /** The agent's mailbox, made on first use; undefined when the agent is not live (so none outlives it). */
  #mailbox(agentId: number): Mailbox | undefined {
    let mailbox = this.#byAgent.get(agentId);
    if (mailbox) return mailbox;
    if (!this.#registry.get(agentId)) return undefined;
    mailbox = new Mailbox(agentId);
    this.#byAgent.set(agentId, mailbox);
    return mailbox;
  }
}
