/**
 * Who is on each connection: the agent table. Every connection is an agent with a
 * kernel-assigned id that is never reused in one kernel lifetime (protocol.md §6).
 */
import type { Level, Permissions } from '../protocol/schemas/permissions.js';
import { PRESETS } from '../protocol/schemas/permissions.js';

export type TransportKind = 'unix' | 'websocket' | 'inprocess';

/** Syscall counters of one agent; `byOp` is indexed by canonical opcode. */
export interface SyscallCounters {
  total: number;
  denied: number;
  failed: number;
  byOp: Map<number, number>;
}

export interface AgentSession {
  readonly id: number;
  name: string | null;
  level: Level;
  permissions: Readonly<Permissions>;
  admin: boolean;
  readonly transport: TransportKind;
  /** Directory relative paths in READ, WRITE and EXEC resolve against. */
  cwd: string;
  readonly connectedAt: number;
  readonly counters: SyscallCounters;
  /** Aborted when the connection closes, so in-flight work (EXEC) is cancelled. */
  readonly closed: AbortSignal;
  /** Ask the transport to close after the reply being sent (EXIT). */
  requestClose: () => void;
}

export interface NewSession {
  transport: TransportKind;
  level: Level;
  cwd: string;
  name?: string | null;
  requestClose: () => void;
}

export class AgentTable {
  #nextId = 1;
  readonly #sessions = new Map<number, { session: AgentSession; abort: AbortController }>();

  get size(): number {
    return this.#sessions.size;
  }

  open(init: NewSession): AgentSession {
    const abort = new AbortController();
    const session: AgentSession = {
      id: this.#nextId++,
      name: init.name ?? null,
      level: init.level,
      permissions: PRESETS[init.level],
      admin: false,
      transport: init.transport,
      cwd: init.cwd,
      connectedAt: Date.now(),
      counters: { total: 0, denied: 0, failed: 0, byOp: new Map() },
      closed: abort.signal,
      requestClose: init.requestClose,
    };
    this.#sessions.set(session.id, { session, abort });
    return session;
  }

  /** Forget a session and cancel whatever it still has running. */
  close(id: number): void {
    const entry = this.#sessions.get(id);
    if (!entry) return;
    this.#sessions.delete(id);
    entry.abort.abort();
  }

  get(id: number): AgentSession | undefined {
    return this.#sessions.get(id)?.session;
  }

  *[Symbol.iterator](): IterableIterator<AgentSession> {
    for (const entry of this.#sessions.values()) yield entry.session;
  }
}
