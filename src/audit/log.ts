/**
 * The audit log: every denial, lifecycle event, permission change, quota breach and
 * admin action, in `<data-dir>/audit.db` (protocol.md §6, docs/protocol.md "Audit log").
 *
 * `record()` only appends to a bounded buffer; a timer writes the buffer
 * `flushIntervalMs` later in one transaction per `flushBatch` entries, letting I/O through
 * between slices, so a flood of denials costs a few insert batches instead of one commit
 * each, and never one long stall. When the buffer is full an entry is not kept but
 * counted, and the write that empties the buffer adds one `audit_dropped` entry (category
 * `admin`) with how many were lost, per category: memory stays bounded and the loss is on
 * the record. After each write, entries beyond `max_entries` are deleted oldest first, at
 * most `trimBatch` at a time (a lowered limit is reached over a few writes).
 *
 * SQLite runs on the event loop, as the state store's does: every statement is prepared
 * once, a write is one transaction of at most `flushBatch` rows, a page at most 1000 rows
 * through an index.
 *
 * Checking the audit trail from a test (a denial, say):
 *
 *   await expect(client.exec('cat /etc/shadow')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
 *   const { entries } = kernel.audit.query({ category: 'denial', agent_id: client.agentId });
 *   expect(entries.at(-1)).toMatchObject({ op: 'EXEC', detail: { reason: expect.stringContaining('/etc/shadow') } });
 *
 * `query()` flushes first, so every entry recorded before it is there; `flush()` does
 * it alone. Over the wire an admin client (HELLO with `<data-dir>/admin.token`) calls
 * GET_AUDIT_LOG with the same fields.
 */
import type { Logger } from '../kernel/logger.js';
import { KernelError } from '../protocol/errors.js';
import {
  AUDIT_SWITCHES,
  type AuditCategory,
  type AuditConfig,
  type AuditEntry,
  DEFAULT_AUDIT_MAX_ENTRIES,
} from '../protocol/schemas/audit.js';
import { type AuditRow, AuditStore, type PageQuery } from './store.js';

/** What a source records; the log adds the id and the time. */
export interface AuditRecord {
  category: AuditCategory;
  agent_id?: number | null;
  agent_name?: string | null;
  op: string;
  /** Bounded to MAX_DETAIL_CHARS of JSON; never put a secret here. */
  detail?: Record<string, unknown>;
}

export interface AuditQuery {
  category?: AuditCategory | undefined;
  agent_id?: number | undefined;
  /** Exclusive (default 0). */
  since_id?: number;
  /** Default 100. */
  limit?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  count: number;
  next_since_id: number;
  oldest_id: number | null;
}

export interface AuditStats {
  /** Entries waiting for the next flush. */
  buffered: number;
  /** The most that ever waited at once (never above bufferSize). */
  bufferHighWater: number;
  /** Entries written to the file since the log opened (its own notices included). */
  written: number;
  /** Entries lost to a full buffer or a failed write since the log opened. */
  dropped: number;
  /** Rows in the file now. */
  rows: number;
}

export interface AuditLogOptions {
  dataDir: string;
  log: Logger;
  /** Entries held between flushes; beyond it they are counted and dropped. */
  bufferSize: number;
  flushIntervalMs: number;
  /** max_entries until SET_AUDIT_CONFIG saves another. */
  maxEntries?: number;
  /** Rows retention deletes per write. */
  trimBatch?: number;
  /** Entries one timed write takes (about 5 ms of SQLite here); the rest follow in further slices. */
  flushBatch?: number;
  kernelVersion?: string;
  now?: () => number;
}

/** A detail's JSON is cut to fit this (see boundedJson). */
export const MAX_DETAIL_CHARS = 4096;
const EMPTY_DETAIL = '{}';

export class AuditLog {
  readonly #store: AuditStore;
  readonly #log: Logger;
  readonly #bufferSize: number;
  readonly #flushIntervalMs: number;
  readonly #trimBatch: number;
  readonly #flushBatch: number;
  readonly #now: () => number;
  #config: AuditConfig;
  #buffer: AuditRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Lost since the last audit_dropped entry, per category. */
  #lost = new Map<AuditCategory, number>();
  #stats = { bufferHighWater: 0, written: 0, dropped: 0 };
  #closed = false;

  constructor(options: AuditLogOptions) {
    this.#store = new AuditStore(options.dataDir);
    this.#log = options.log.child({ component: 'audit' });
    this.#bufferSize = options.bufferSize;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#trimBatch = options.trimBatch ?? 5000;
    this.#flushBatch = options.flushBatch ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#config = this.#store.loadConfig() ?? {
      log_denials: true,
      log_lifecycle: true,
      log_permissions: true,
      log_quota: true,
      max_entries: options.maxEntries ?? DEFAULT_AUDIT_MAX_ENTRIES,
    };
    this.record({ category: 'admin', op: 'kernel_start', detail: { pid: process.pid, kernel_version: options.kernelVersion ?? null } });
  }

  get config(): Readonly<AuditConfig> {
    return this.#config;
  }

  /** Buffers one entry unless its category is switched off; never throws, never blocks. */
  record(entry: AuditRecord): void {
    if (this.#closed) return;
    if (entry.category !== 'admin' && !this.#config[AUDIT_SWITCHES[entry.category]]) return;
    if (this.#buffer.length >= this.#bufferSize) {
      this.#lost.set(entry.category, (this.#lost.get(entry.category) ?? 0) + 1);
      this.#stats.dropped++;
      return;
    }
    this.#buffer.push({
      timestamp: this.#now(),
      category: entry.category,
      agent_id: entry.agent_id ?? null,
      agent_name: entry.agent_name ?? null,
      op: entry.op,
      detail: boundedJson(entry.detail),
    });
    if (this.#buffer.length > this.#stats.bufferHighWater) this.#stats.bufferHighWater = this.#buffer.length;
    this.#schedule();
  }

  /** Writes everything buffered (and the count of what was dropped) now, then applies retention. */
  flush(): void {
    this.#cancelTimer();
    if (!this.#closed) this.#write(Number.POSITIVE_INFINITY);
  }

  /** A page of entries after `since_id`, ascending; flushes first so nothing recorded before is missing. */
  query(query: AuditQuery = {}): AuditPage {
    if (this.#closed) throw new KernelError('UNAVAILABLE', 'the audit log is closed: the kernel is stopping');
    this.flush();
    const request: PageQuery = {
      category: query.category,
      agent_id: query.agent_id,
      since_id: query.since_id ?? 0,
      limit: query.limit ?? 100,
    };
    const entries = this.#store.page(request);
    const last = entries.at(-1);
    return { entries, count: entries.length, next_since_id: last ? last.id : request.since_id, oldest_id: this.#store.oldestId() };
  }

  /**
   * Changes switches and retention, persists them and records the change (category
   * `admin`, which no switch silences). Returns the fields that changed.
   */
  configure(patch: Partial<AuditConfig>, by: { agent_id: number; agent_name: string | null }): string[] {
    if (this.#closed) throw new KernelError('UNAVAILABLE', 'the audit log is closed: the kernel is stopping');
    const before = this.#config;
    const after: AuditConfig = { ...before };
    for (const key of Object.keys(before) as (keyof AuditConfig)[]) {
      if (patch[key] !== undefined) (after as Record<keyof AuditConfig, unknown>)[key] = patch[key];
    }
    const changed = (Object.keys(after) as (keyof AuditConfig)[]).filter((key) => after[key] !== before[key]);
    if (changed.length === 0) return [];
    this.#store.saveConfig(after);
    this.#config = after;
    const diff = Object.fromEntries(changed.map((key) => [key, { before: before[key], after: after[key] }]));
    this.record({ category: 'admin', agent_id: by.agent_id, agent_name: by.agent_name, op: 'SET_AUDIT_CONFIG', detail: { changed: diff } });
    return changed;
  }

  stats(): AuditStats {
    return { buffered: this.#buffer.length, ...this.#stats, rows: this.#store.rows };
  }

  /** Writes what is left and a kernel_stop entry, then closes the file; later records are ignored. */
  close(): void {
    if (this.#closed) return;
    this.record({ category: 'admin', op: 'kernel_stop', detail: { pid: process.pid } });
    this.flush();
    this.#closed = true;
    this.#store.close();
  }

  #schedule(delayMs = this.#flushIntervalMs): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A big buffer goes in slices, with I/O let through between them; the next slice follows at once.
      if (!this.#closed && this.#write(this.#flushBatch)) {
        this.#cancelTimer();
        this.#schedule(0);
      }
    }, delayMs);
    // The kernel's sockets keep the process alive; close() writes whatever is left.
    this.#timer.unref();
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Writes up to `max` buffered entries in one transaction (plus the audit_dropped entry
   * once the buffer is empty), then one retention batch. True when entries are left.
   */
  #write(max: number): boolean {
    const rows = this.#buffer.length <= max ? this.#buffer.splice(0) : this.#buffer.splice(0, max);
    const drained = this.#buffer.length === 0;
    if (drained && this.#lost.size > 0) {
      const byCategory = Object.fromEntries(this.#lost);
      const dropped = [...this.#lost.values()].reduce((sum, n) => sum + n, 0);
      rows.push({
        timestamp: this.#now(),
        category: 'admin',
        agent_id: null,
        agent_name: null,
        op: 'audit_dropped',
        detail: JSON.stringify({ dropped, by_category: byCategory, buffer_size: this.#bufferSize }),
      });
      this.#lost = new Map();
    }
    try {
      this.#store.insert(rows);
      this.#stats.written += rows.length;
    } catch (error) {
      // Lost, but counted: the next write that works says so.
      for (const row of rows) {
        if (row.op === 'audit_dropped') continue;
        this.#lost.set(row.category, (this.#lost.get(row.category) ?? 0) + 1);
        this.#stats.dropped++;
      }
      this.#log.error({ err: error, entries: rows.length }, 'audit entries could not be written');
      return !drained;
    }
    this.#retain();
    return !drained;
  }

  /** Deletes one batch of the oldest entries beyond max_entries; more batches follow on later flushes. */
  #retain(): void {
    try {
      const left = this.#store.trim(this.#config.max_entries, this.#trimBatch);
      if (left > 0) this.#schedule();
    } catch (error) {
      this.#log.error({ err: error }, 'audit retention failed');
    }
  }
}

/**
 * JSON of at most MAX_DETAIL_CHARS. Long strings and lists are cut where they are (with a
 * marker saying how much is missing), so a big detail keeps its shape and its first
 * fields; only what is still too large after that becomes a preview.
 */
function boundedJson(detail: Record<string, unknown> | undefined): string {
  if (detail === undefined) return EMPTY_DETAIL;
  let text: string;
  try {
    text = JSON.stringify(detail);
    if (text.length > MAX_DETAIL_CHARS) text = JSON.stringify(bounded(detail, 0));
  } catch {
    return JSON.stringify({ unserializable: true });
  }
  if (text.length <= MAX_DETAIL_CHARS) return text;
  return JSON.stringify({ truncated: true, chars: text.length, preview: text.slice(0, MAX_DETAIL_CHARS - 100) });
}

const MAX_STRING = 1024;
const MAX_ITEMS = 16;
const MAX_DEPTH = 4;

function bounded(value: unknown, depth: number): unknown {
  if (typeof value === 'string')
    return value.length <= MAX_STRING ? value : `${value.slice(0, MAX_STRING)}… (${value.length - MAX_STRING} more characters)`;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ITEMS).map((item) => bounded(item, depth + 1));
    return value.length <= MAX_ITEMS ? kept : [...kept, `… (${value.length - MAX_ITEMS} more)`];
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const kept = Object.fromEntries(entries.slice(0, MAX_ITEMS * 2).map(([key, item]) => [key, bounded(item, depth + 1)]));
  return entries.length <= MAX_ITEMS * 2 ? kept : { ...kept, truncated_fields: entries.length - MAX_ITEMS * 2 };
}
