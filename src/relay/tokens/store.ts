/**
 * The relay's token database (one SQLite file, WAL): machine and agent tokens kept as
 * HMAC-SHA256(server key, secret), with expiry and revocation. The server key is 32 random
 * bytes made on first open and kept in the same file, which is made 0600: whoever can read
 * the hashes could read the key anyway, and one file is one thing to back up.
 *
 * `verify` is the gate for bytes from the network: it never throws on what it is given and
 * answers with a typed reason. `revoke` tells its listeners at once, so the relay can close
 * live sessions that authenticated with the token.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describeZodError, KernelError } from '../../protocol/errors.js';
import { hashSecret, mintToken, parseToken, sameHash } from './hash.js';
import {
  type Ceiling,
  type CreatedToken,
  CreateToken,
  type MachineScope,
  SECRET_BYTES,
  type TokenKind,
  type TokenRecord,
  type VerifyExpectation,
  type VerifyResult,
} from './schema.js';

export interface TokenStoreOptions {
  /** The clock for created_at, expiry and revoked_at (ms since the epoch); tests drive it. */
  now?: () => number;
}

export type RevokeListener = (id: string) => void;
export type RevokeResult = 'revoked' | 'already_revoked' | 'not_found';

interface Row {
  id: string;
  kind: TokenKind;
  hash: Buffer;
  label: string | null;
  machine_id: string | null;
  machines: string | null;
  ceiling: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS server_key (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    key BLOB NOT NULL
  );
  CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('machine', 'agent')),
    hash BLOB NOT NULL,
    label TEXT,
    machine_id TEXT,
    machines TEXT,
    ceiling TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
  );
`;

const PUBLIC_COLUMNS = 'id, kind, label, machine_id, machines, ceiling, created_at, expires_at, revoked_at';

/** Compared against when the id is unknown, so an unknown id costs what a known one does. */
const DUMMY_HASH = Buffer.alloc(32);

export class TokenStore {
  readonly #db: Database.Database;
  readonly #key: Buffer;
  readonly #now: () => number;
  readonly #listeners = new Set<RevokeListener>();
  readonly #insert: Database.Statement<[Row]>;
  readonly #byId: Database.Statement<[string], Row>;
  readonly #all: Database.Statement<[], Omit<Row, 'hash'>>;
  readonly #revoke: Database.Statement<[number, string]>;

  /** Opens (or creates) the database at `path`; the server key is made on first open. */
  static open(path: string, options: TokenStoreOptions = {}): TokenStore {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      // INSERT OR IGNORE then read: two relays opening a new file at once agree on one key.
      db.prepare('INSERT OR IGNORE INTO server_key (only, key) VALUES (1, ?)').run(randomKey());
      const key = db.prepare<[], { key: Buffer }>('SELECT key FROM server_key WHERE only = 1').get()?.key;
      if (key === undefined || key.length !== SECRET_BYTES) throw new Error(`token database ${path}: server key missing or damaged`);
      restrictMode(path);
      return new TokenStore(db, key, options.now ?? Date.now);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(db: Database.Database, key: Buffer, now: () => number) {
    this.#db = db;
    this.#key = key;
    this.#now = now;
    this.#insert = db.prepare(
      `INSERT INTO tokens (id, kind, hash, label, machine_id, machines, ceiling, created_at, expires_at, revoked_at)
       VALUES (@id, @kind, @hash, @label, @machine_id, @machines, @ceiling, @created_at, @expires_at, @revoked_at)`,
    );
    this.#byId = db.prepare(`SELECT ${PUBLIC_COLUMNS}, hash FROM tokens WHERE id = ?`);
    this.#all = db.prepare(`SELECT ${PUBLIC_COLUMNS} FROM tokens ORDER BY created_at, rowid`);
    this.#revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  /**
   * A new token. Throws KernelError INVALID_REQUEST naming the field when the request is
   * wrong (this is the admin's call, not the network's). The token is returned this once.
   */
  create(request: CreateToken): CreatedToken {
    const parsed = CreateToken.safeParse(request);
    if (!parsed.success) {
      const { message, field } = describeZodError(parsed.error, 'token request');
      throw new KernelError('INVALID_REQUEST', message, { field });
    }
    const { kind, machine_id, machines, ceiling, expires_at, label } = parsed.data;
    const { id, secret, token } = mintToken(kind);
    const row: Row = {
      id,
      kind,
      hash: hashSecret(this.#key, secret),
      label: label ?? null,
      machine_id: machine_id ?? null,
      machines: machines === undefined ? null : JSON.stringify(machines),
      ceiling: ceiling === undefined ? null : JSON.stringify(ceiling),
      created_at: this.#now(),
      expires_at: expires_at ?? null,
      revoked_at: null,
    };
    this.#insert.run(row);
    return { token, ...toRecord(row) };
  }

  /**
   * The record behind `token`, or why not. Never throws on its input. Order: the form, the
   * secret (an unknown id and a wrong secret look alike, so ids cannot be probed), then
   * revoked, expired, kind and machine.
   */
  verify(token: unknown, expect: VerifyExpectation): VerifyResult {
    const parsed = parseToken(token);
    if (parsed === null) return { ok: false, reason: 'malformed' };
    const hash = hashSecret(this.#key, parsed.secret);
    const row = this.#byId.get(parsed.id);
    const matches = sameHash(hash, row?.hash ?? DUMMY_HASH);
    // The kind in the token's text is part of what was issued: a token re-labelled is forged.
    if (row === undefined || !matches || row.kind !== parsed.kind) return { ok: false, reason: 'unknown' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (row.expires_at !== null && row.expires_at <= this.#now()) return { ok: false, reason: 'expired' };
    if (row.kind !== expect.kind) return { ok: false, reason: 'wrong_kind' };
    const record = toRecord(row);
    if (expect.machine_id !== undefined && !reaches(record, expect.machine_id)) return { ok: false, reason: 'wrong_machine' };
    return { ok: true, record };
  }

  /**
   * Revokes at once: later verifies fail, and every listener is called before this returns.
   * A listener that throws does not stop the others; their errors are thrown together after.
   */
  revoke(id: string): RevokeResult {
    if (typeof id !== 'string') return 'not_found';
    const changed = this.#revoke.run(this.#now(), id).changes;
    if (changed === 0) return this.#byId.get(id) === undefined ? 'not_found' : 'already_revoked';
    const errors: unknown[] = [];
    for (const listener of [...this.#listeners]) {
      try {
        listener(id);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `token ${id} revoked, but ${errors.length} revoke listener(s) failed`);
    return 'revoked';
  }

  /** Calls `listener(id)` on every revocation; returns the function that stops it. */
  onRevoke(listener: RevokeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One token's record (no secret, no hash), or null. */
  get(id: string): TokenRecord | null {
    const row = this.#byId.get(id);
    return row === undefined ? null : toRecord(row);
  }

  /** Every token, oldest first (ties in creation order), revoked and expired ones included; no secrets, no hashes. */
  list(): TokenRecord[] {
    return this.#all.all().map(toRecord);
  }

  close(): void {
    this.#listeners.clear();
    this.#db.close();
  }
}

function randomKey(): Buffer {
  return randomBytes(SECRET_BYTES);
}

/** An agent token reaches its listed machines (or all, with '*'); a machine token claims its one id. */
function reaches(record: TokenRecord, machineId: string): boolean {
  if (record.kind === 'machine') return record.machine_id === machineId;
  return record.machines === '*' || (record.machines?.includes(machineId) ?? false);
}

function toRecord(row: Omit<Row, 'hash'>): TokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    label: row.label,
    machine_id: row.machine_id,
    machines: row.machines === null ? null : (JSON.parse(row.machines) as MachineScope),
    ceiling: row.ceiling === null ? null : (JSON.parse(row.ceiling) as Ceiling),
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
  };
}

/** The key and hashes live in the file: only the relay's user may read it (and its WAL). */
function restrictMode(path: string): void {
  if (path === ':memory:' || path === '') return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}
