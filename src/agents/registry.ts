/**
 * Every agent the kernel knows: client connections, spawned processes, in-kernel
 * actors, worker threads, supervisors. Ids are never reused in one kernel lifetime
 * (protocol.md §6); names of supervised agents are unique while the agent lives and
 * released when it ends for good.
 */
import { randomBytes } from 'node:crypto';
import { KernelError } from '../protocol/errors.js';
import type { AgentKind } from '../protocol/schemas/agents.js';
import type { Level, Permissions } from '../protocol/schemas/permissions.js';
import { PRESETS } from '../protocol/schemas/permissions.js';
import type { AgentRuntime } from './runtime.js';

export type TransportKind = 'unix' | 'websocket' | 'inprocess' | 'relay';

/** Remote agents (docs/relay.md §12) take ids from here up, so a local id never collides with one. */
export const REMOTE_ID_BASE = 1_000_000_000;

/** Syscall counters of one agent; `byOp` is keyed by canonical opcode. */
export interface SyscallCounters {
  total: number;
  denied: number;
  failed: number;
  byOp: Map<number, number>;
}

export interface AgentRecord {
  readonly id: number;
  name: string | null;
  readonly kind: AgentKind;
  /** How a client agent is connected; null for supervised agents. */
  readonly transport: TransportKind | null;
  /** The agent that spawned this one; null for clients and the kernel's own. */
  readonly parentId: number | null;
  level: Level;
  permissions: Readonly<Permissions>;
  admin: boolean;
  /** Relative paths in READ, WRITE and EXEC resolve against it. */
  cwd: string;
  readonly counters: SyscallCounters;
  readonly createdAt: number;
  /** The live supervised child behind a process, actor, worker or supervisor agent. */
  runtime: AgentRuntime | null;
}

export interface NewAgent {
  kind: AgentKind;
  name?: string | null;
  transport?: TransportKind | null;
  parentId?: number | null;
  level: Level;
  permissions?: Readonly<Permissions>;
  admin?: boolean;
  cwd: string;
  /** 'remote': an id from REMOTE_ID_BASE up (agents of the relay tunnel); default 'local'. */
  idSpace?: 'local' | 'remote';
}

export class AgentRegistry {
  #nextId = 1;
  #nextRemoteId = REMOTE_ID_BASE;
  readonly #agents = new Map<number, AgentRecord>();
  readonly #names = new Map<string, number>();
  /** A name REGISTERed by a supervised agent that keeps its spawn name too: agent id → name. */
  readonly #aliases = new Map<number, string>();
  /** One-use tokens handed to spawned processes: token → agent id. */
  readonly #tokens = new Map<string, number>();
  readonly #removeListeners = new Set<(record: AgentRecord) => void>();

  get size(): number {
    return this.#agents.size;
  }

  /** A new agent; a supervised agent's name must be free (CONFLICT otherwise). */
  create(init: NewAgent): AgentRecord {
    const reserve = init.kind !== 'client' && init.name != null;
    if (reserve && this.#names.has(init.name as string)) {
      throw new KernelError('CONFLICT', `the name "${init.name}" is taken by agent ${this.#names.get(init.name as string)}`);
    }
    const record: AgentRecord = {
      id: init.idSpace === 'remote' ? this.#nextRemoteId++ : this.#nextId++,
      name: init.name ?? null,
      kind: init.kind,
      transport: init.transport ?? null,
      parentId: init.parentId ?? null,
      level: init.level,
      permissions: init.permissions ?? PRESETS[init.level],
      admin: init.admin ?? false,
      cwd: init.cwd,
      counters: { total: 0, denied: 0, failed: 0, byOp: new Map() },
      createdAt: Date.now(),
      runtime: null,
    };
    this.#agents.set(record.id, record);
    if (reserve) this.#names.set(record.name as string, record.id);
    return record;
  }

  get(id: number): AgentRecord | undefined {
    return this.#agents.get(id);
  }

  byName(name: string): AgentRecord | undefined {
    const id = this.#names.get(name);
    if (id !== undefined) return this.#agents.get(id);
    for (const record of this.#agents.values()) if (record.name === name) return record;
    return undefined;
  }

  /**
   * REGISTER: reserves `name` for the live agent `id` until it ends for good (a spawned
   * agent keeps its id across restarts, so its name stays). CONFLICT when another live
   * agent holds the name. A client's earlier name is released; a supervised agent keeps
   * its spawn name and answers to this one as well (its previous REGISTERed name is released).
   */
  register(id: number, name: string): AgentRecord {
    const record = this.#agents.get(id);
    if (!record) throw new KernelError('NOT_FOUND', `agent ${id} has ended`);
    const holder = this.#names.get(name) ?? this.#findUnreserved(name);
    if (holder !== undefined && holder !== id) {
      throw new KernelError('CONFLICT', `REGISTER: the name "${name}" is taken by agent ${holder} (released when it ends)`);
    }
    if (record.name === name || this.#aliases.get(id) === name) {
      this.#names.set(name, id);
      return record;
    }
    if (record.kind === 'client' || record.name === null) {
      if (record.name !== null && this.#names.get(record.name) === id) this.#names.delete(record.name);
      record.name = name;
    } else {
      this.#releaseAlias(id);
      this.#aliases.set(id, name);
    }
    this.#names.set(name, id);
    return record;
  }

  /** A fresh one-use token for the agent's next process; earlier ones stop working. */
  issueToken(id: number): string {
    this.revokeTokens(id);
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, id);
    return token;
  }

  /** The agent a token belongs to, consuming the token. */
  redeemToken(token: string): AgentRecord | undefined {
    const id = this.#tokens.get(token);
    if (id === undefined) return undefined;
    this.#tokens.delete(token);
    return this.#agents.get(id);
  }

  revokeTokens(id: number): void {
    for (const [token, owner] of this.#tokens) if (owner === id) this.#tokens.delete(token);
  }

  /** The agent ended for good: its id is retired and its name released. */
  remove(id: number): AgentRecord | undefined {
    const record = this.#agents.get(id);
    if (!record) return undefined;
    this.#agents.delete(id);
    if (record.name !== null && this.#names.get(record.name) === id) this.#names.delete(record.name);
    this.#releaseAlias(id);
    this.revokeTokens(id);
    for (const listener of this.#removeListeners) listener(record);
    return record;
  }

  /** Called whenever an agent ends for good (what it owns elsewhere is released); returns the remover. */
  onRemove(listener: (record: AgentRecord) => void): () => void {
    this.#removeListeners.add(listener);
    return () => this.#removeListeners.delete(listener);
  }

  #releaseAlias(id: number): void {
    const alias = this.#aliases.get(id);
    if (alias === undefined) return;
    this.#aliases.delete(id);
    if (this.#names.get(alias) === id) this.#names.delete(alias);
  }

  /** A live agent that carries `name` without having reserved it (a client's HELLO name). */
  #findUnreserved(name: string): number | undefined {
    for (const record of this.#agents.values()) if (record.name === name) return record.id;
    return undefined;
  }

  /** True when `ancestorId` spawned `id`, directly or through its descendants. */
  isDescendant(id: number, ancestorId: number): boolean {
    let current = this.#agents.get(id);
    for (let depth = 0; current && depth < 10_000; depth++) {
      if (current.parentId === null) return false;
      if (current.parentId === ancestorId) return true;
      current = this.#agents.get(current.parentId);
    }
    return false;
  }

  *[Symbol.iterator](): IterableIterator<AgentRecord> {
    yield* this.#agents.values();
  }
}
