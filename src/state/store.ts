/**
 * The state store (protocol.md §5 STORE to INCR, §7 STATE_CHANGED).
 *
 * Global and agent scopes live in `<data-dir>/state.db` (SQLite, WAL). A write is
 * acknowledged after its commit, which `durability` makes either 'process' (the default,
 * synchronous=NORMAL: the commit is in the WAL file through write(2) before the reply, so
 * it survives kill -9 or any crash of the kernel; power loss or an OS crash may lose the
 * last commits) or 'power' (synchronous=FULL: the WAL is fsynced at every commit). Session
 * scope lives in an in-memory SQLite database with the same table and statements; it is
 * gone when the kernel stops.
 *
 * Every row is (scope, owner, key): `owner` is '' for global and session keys and the
 * agent's identity for agent keys, so no global key, whatever its text, can name or
 * reach an agent's key. An agent's identity is `name:<name>` for a supervised agent
 * (its name is reserved while it lives, and it comes back under the same name after a
 * kernel restart), else `id:<id>` (a client: ids restart at 1 with each kernel, so these
 * rows are deleted when the agent ends and at every start).
 *
 * SQLite calls are synchronous on the event loop: every statement is prepared once and
 * touches one row through the primary key, except KEYS (bounded by `limit`, at most
 * 10,000 keys) and the expiry sweep (bounded batches). Being synchronous also makes
 * CAS and INCR atomic without locks: nothing else runs between their read and write.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventSubscriptions } from '../events/subscriptions.js';
import { KernelError } from '../protocol/errors.js';
import type { StateScope } from '../protocol/schemas/state.js';
import type { ResourceWarnings } from '../resources/warnings.js';

export interface StateLimits {
  /** JSON bytes of one value. */
  maxValueBytes: number;
  /** Agent-scope keys one agent may hold. */
  maxKeysPerAgent: number;
  /** Keys the global scope, and the session scope, may hold each. */
  maxSharedKeys: number;
}

export interface StateStoreDeps extends StateLimits {
  dataDir: string;
  registry: AgentRegistry;
  subscriptions: EventSubscriptions;
  /** RESOURCE_WARNING when an agent nears maxKeysPerAgent. */
  warnings?: ResourceWarnings;
  /** Period of the active expiry sweep. */
  sweepIntervalMs: number;
  /** Rows one sweep may expire; the rest wait for the next tick. */
  sweepBatch?: number;
  /** 'process' (default): commits survive a crash of the kernel; 'power': they survive power loss too. */
  durability?: 'process' | 'power';
  now?: () => number;
}

interface Row {
  value: string;
  expires_at: number | null;
}

export interface Entry {
  value: unknown;
  expiresAt: number | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS state (
    scope TEXT NOT NULL,
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (scope, owner, key)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS state_expiry ON state (expires_at) WHERE expires_at IS NOT NULL;
  -- Keys per (scope, owner), kept by triggers in the same transaction as the row: the limit
  -- check of a new key reads one row instead of counting the scope (count(*) took ms at 100k keys).
  CREATE TABLE IF NOT EXISTS state_counts (
    scope TEXT NOT NULL,
    owner TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, owner)
  ) WITHOUT ROWID;
  CREATE TRIGGER IF NOT EXISTS state_counted AFTER INSERT ON state BEGIN
    INSERT INTO state_counts (scope, owner, n) VALUES (new.scope, new.owner, 1)
    ON CONFLICT (scope, owner) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER IF NOT EXISTS state_uncounted AFTER DELETE ON state BEGIN
    UPDATE state_counts SET n = n - 1 WHERE scope = old.scope AND owner = old.owner;
  END;
`;

/** Recounts from the rows once at open: a database from before the counters (or any drift) starts right. */
const RECOUNT = `
  DELETE FROM state_counts;
  INSERT INTO state_counts (scope, owner, n) SELECT scope, owner, count(*) FROM state GROUP BY scope, owner;
`;

/** One database (the file, or the session's memory) and its statements, prepared once. */
class Table {
  readonly db: Database.Database;
  readonly get: Database.Statement<[string, string, string], Row>;
  readonly put: Database.Statement<[string, string, string, string, number | null]>;
  readonly setValue: Database.Statement<[{ scope: string; owner: string; key: string; value: string }]>;
  readonly remove: Database.Statement<[string, string, string]>;
  readonly removeExpired: Database.Statement<[string, string, string, number]>;
  readonly count: Database.Statement<[string, string], { n: number }>;
  readonly keys: Database.Statement<
    [{ scope: string; owner: string; prefix: string; glob: string; now: number; limit: number }],
    { key: string }
  >;
  readonly expired: Database.Statement<[number, number], { scope: StateScope; owner: string; key: string }>;
  readonly removeOwner: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(SCHEMA);
    db.transaction(() => db.exec(RECOUNT))();
    this.get = db.prepare('SELECT value, expires_at FROM state WHERE scope = ? AND owner = ? AND key = ?');
    this.put = db.prepare(
      `INSERT INTO state (scope, owner, key, value, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, owner, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    );
    this.setValue = db.prepare('UPDATE state SET value = @value WHERE scope = @scope AND owner = @owner AND key = @key');
    this.remove = db.prepare('DELETE FROM state WHERE scope = ? AND owner = ? AND key = ?');
    this.removeExpired = db.prepare('DELETE FROM state WHERE scope = ? AND owner = ? AND key = ? AND expires_at <= ?');
    this.count = db.prepare('SELECT n FROM state_counts WHERE scope = ? AND owner = ?');
    // GLOB on the primary key's BINARY collation: the prefix before the first wildcard narrows the index range.
    this.keys = db.prepare(
      `SELECT key FROM state WHERE scope = @scope AND owner = @owner AND key >= @prefix AND key GLOB @glob
       AND (expires_at IS NULL OR expires_at > @now) ORDER BY key LIMIT @limit`,
    );
    this.expired = db.prepare('SELECT scope, owner, key FROM state WHERE expires_at <= ? ORDER BY expires_at LIMIT ?');
    this.removeOwner = db.prepare('DELETE FROM state WHERE scope = ? AND owner = ?');
  }
}

/** `prefix*` with GLOB's special characters taken literally. */
function globPrefix(prefix: string): string {
  return `${prefix.replace(/[*?[]/g, (c) => `[${c}]`)}*`;
}

/** JSON with object keys sorted, so CAS compares values, not key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** Who owns an agent-scope key: see the module comment. */
export function agentOwner(agent: Pick<AgentRecord, 'id' | 'kind' | 'name'>): string {
  return agent.kind !== 'client' && agent.name !== null ? `name:${agent.name}` : `id:${agent.id}`;
}

export type StateOp = 'store' | 'delete' | 'expire';

export class StateStore {
  readonly #disk: Table;
  readonly #memory: Table;
  readonly #limits: StateLimits;
  readonly #registry: AgentRegistry;
  readonly #subscriptions: EventSubscriptions;
  readonly #warnings: ResourceWarnings | undefined;
  readonly #now: () => number;
  readonly #sweepBatch: number;
  readonly #timer: NodeJS.Timeout;
  readonly #unlisten: () => void;
  #closed = false;

  constructor(deps: StateStoreDeps) {
    const file = new Database(join(deps.dataDir, 'state.db'));
    try {
      file.pragma('journal_mode = WAL');
      file.pragma(`synchronous = ${deps.durability === 'power' ? 'FULL' : 'NORMAL'}`);
      file.pragma('busy_timeout = 5000');
      this.#disk = new Table(file);
    } catch (error) {
      file.close();
      throw error;
    }
    this.#memory = new Table(new Database(':memory:'));
    // Client agents' keys are bound to ids of the previous kernel: nobody may inherit them.
    file.prepare("DELETE FROM state WHERE scope = 'agent' AND owner LIKE 'id:%'").run();
    this.#limits = { maxValueBytes: deps.maxValueBytes, maxKeysPerAgent: deps.maxKeysPerAgent, maxSharedKeys: deps.maxSharedKeys };
    this.#registry = deps.registry;
    this.#subscriptions = deps.subscriptions;
    this.#warnings = deps.warnings;
    this.#now = deps.now ?? Date.now;
    this.#sweepBatch = deps.sweepBatch ?? 256;
    this.#unlisten = deps.registry.onRemove((record) => {
      const owner = agentOwner(record);
      if (!this.#closed && owner.startsWith('id:')) this.#disk.removeOwner.run('agent', owner);
    });
    this.#timer = setInterval(() => this.sweep(), deps.sweepIntervalMs);
    this.#timer.unref();
  }

  store(agent: AgentRecord, scope: StateScope, key: string, value: unknown, ttlS: number | undefined): { expiresAt: number | null } {
    const text = this.#encode(value);
    const { table, owner } = this.#where(agent, scope);
    const now = this.#now();
    if (this.#live(table, scope, owner, key, now) === undefined) this.#checkRoom(table, scope, owner, agent.id);
    const expiresAt = ttlS === undefined ? null : now + Math.max(1, Math.round(ttlS * 1000));
    table.put.run(scope, owner, key, text, expiresAt);
    this.#changed('store', scope, owner, key, agent.id);
    return { expiresAt };
  }

  fetch(agent: AgentRecord, scope: StateScope, key: string): Entry | undefined {
    const { table, owner } = this.#where(agent, scope);
    const row = this.#live(table, scope, owner, key, this.#now());
    return row && { value: JSON.parse(row.value) as unknown, expiresAt: row.expires_at };
  }

  delete(agent: AgentRecord, scope: StateScope, key: string): boolean {
    const { table, owner } = this.#where(agent, scope);
    if (this.#live(table, scope, owner, key, this.#now()) === undefined) return false;
    table.remove.run(scope, owner, key);
    this.#changed('delete', scope, owner, key, agent.id);
    return true;
  }

  keys(agent: AgentRecord, scope: StateScope, prefix: string, limit: number): { keys: string[]; truncated: boolean } {
    const { table, owner } = this.#where(agent, scope);
    const rows = table.keys.all({ scope, owner, prefix, glob: globPrefix(prefix), now: this.#now(), limit: limit + 1 });
    const keys = rows.slice(0, limit).map((row) => row.key);
    return { keys, truncated: rows.length > limit };
  }

  /** Sets `value` when the current value equals `expected` (null: the key must not exist). */
  cas(
    agent: AgentRecord,
    scope: StateScope,
    key: string,
    expected: unknown,
    value: unknown,
    ttlS: number | undefined,
  ): { swapped: true } | { swapped: false; current: unknown } {
    const { table, owner } = this.#where(agent, scope);
    const row = this.#live(table, scope, owner, key, this.#now());
    const current = row === undefined ? null : (JSON.parse(row.value) as unknown);
    const matches = expected === null ? row === undefined : row !== undefined && canonical(current) === canonical(expected);
    if (!matches) return { swapped: false, current };
    this.store(agent, scope, key, value, ttlS);
    return { swapped: true };
  }

  /** Adds `by` to a number (a missing key counts from 0); its expiry stays. */
  incr(agent: AgentRecord, scope: StateScope, key: string, by: number): number {
    const { table, owner } = this.#where(agent, scope);
    const row = this.#live(table, scope, owner, key, this.#now());
    const current = row === undefined ? 0 : (JSON.parse(row.value) as unknown);
    if (typeof current !== 'number') {
      throw new KernelError(
        'CONFLICT',
        `INCR: the value of "${key}" is not a number (it is ${Array.isArray(current) ? 'an array' : typeof current})`,
        {
          value: current,
        },
      );
    }
    const next = current + by;
    if (!Number.isFinite(next)) throw new KernelError('CONFLICT', `INCR: ${current} + ${by} is not a finite number`, { value: current });
    if (row === undefined) {
      this.#checkRoom(table, scope, owner, agent.id);
      table.put.run(scope, owner, key, JSON.stringify(next), null);
    } else {
      table.setValue.run({ scope, owner, key, value: JSON.stringify(next) });
    }
    this.#changed('store', scope, owner, key, agent.id);
    return next;
  }

  /** Expires up to one batch of keys whose time has come, in both databases; returns how many. */
  sweep(): number {
    if (this.#closed) return 0;
    const now = this.#now();
    let expired = 0;
    for (const table of [this.#disk, this.#memory]) {
      for (const row of table.expired.all(now, this.#sweepBatch - expired)) {
        if (table.removeExpired.run(row.scope, row.owner, row.key, now).changes > 0) {
          expired++;
          this.#changed('expire', row.scope, row.owner, row.key, null);
        }
      }
      if (expired >= this.#sweepBatch) break;
    }
    return expired;
  }

  /** The `synchronous` pragma in force on state.db: 1 (NORMAL, durability 'process') or 2 (FULL, 'power'). */
  get synchronous(): number {
    return this.#disk.db.pragma('synchronous', { simple: true }) as number;
  }

  /** Stops the sweep and closes both databases (the session scope is gone). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unlisten();
    this.#memory.db.close();
    this.#disk.db.close();
  }

  #where(agent: AgentRecord, scope: StateScope): { table: Table; owner: string } {
    if (this.#closed) throw new KernelError('UNAVAILABLE', 'the state store is closed: the kernel is stopping');
    if (scope === 'session') return { table: this.#memory, owner: '' };
    return { table: this.#disk, owner: scope === 'agent' ? agentOwner(agent) : '' };
  }

  /** The row unless missing or expired (an expired row is deleted now: the lazy half of expiry). */
  #live(table: Table, scope: StateScope, owner: string, key: string, now: number): Row | undefined {
    const row = table.get.get(scope, owner, key);
    if (row === undefined) return undefined;
    if (row.expires_at !== null && row.expires_at <= now) {
      if (table.removeExpired.run(scope, owner, key, now).changes > 0) this.#changed('expire', scope, owner, key, null);
      return undefined;
    }
    return row;
  }

  #encode(value: unknown): string {
    const text = JSON.stringify(value);
    const size = Buffer.byteLength(text);
    if (size > this.#limits.maxValueBytes) {
      throw new KernelError('QUOTA_EXCEEDED', `the value is ${size} bytes of JSON; at most ${this.#limits.maxValueBytes} are allowed`, {
        field: 'value',
        limit: this.#limits.maxValueBytes,
      });
    }
    return text;
  }

  /** A new key must fit the owner's key limit. */
  /** Refuses a new key beyond the scope's limit; `agentId` adds the key when it does not. */
  #checkRoom(table: Table, scope: StateScope, owner: string, agentId: number): void {
    const limit = scope === 'agent' ? this.#limits.maxKeysPerAgent : this.#limits.maxSharedKeys;
    const { n } = table.count.get(scope, owner) ?? { n: 0 };
    if (n >= limit) {
      const whose = scope === 'agent' ? 'this agent holds' : `the ${scope} scope holds`;
      throw new KernelError('QUOTA_EXCEEDED', `${whose} ${n} keys; at most ${limit} are allowed`, { limit });
    }
    if (scope === 'agent') this.#warnings?.observe(agentId, 'state_keys', n + 1, limit);
  }

  /** STATE_CHANGED; an agent-scope event reaches its owner only (nobody when the owner is not running). */
  #changed(op: StateOp, scope: StateScope, owner: string, key: string, source: number | null): void {
    if (scope !== 'agent') {
      this.#subscriptions.publish(null, 'STATE_CHANGED', { op, key, scope }, source);
      return;
    }
    const record = owner.startsWith('name:') ? this.#registry.byName(owner.slice(5)) : this.#registry.get(Number(owner.slice(3)));
    // byName may answer a client that calls itself so: only the owner itself qualifies.
    if (record === undefined || agentOwner(record) !== owner) return;
    this.#subscriptions.publish(record.id, 'STATE_CHANGED', { op, key, scope, owner: record.id }, source);
  }
}
