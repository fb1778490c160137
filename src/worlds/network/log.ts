/**
 * The network's record for WORLD_STATE and scoring: every request as a log entry (a ring
 * of the last `capacity`, so memory stays bounded however long the world runs) and
 * counters over all requests ever seen (never trimmed).
 */
import { z } from 'zod';

export const DECISION_KINDS = ['mock', 'passthrough', 'fail', 'blocked'] as const;
export const FAILURE_ERRORS = ['timeout', 'connection_reset', 'mock_failure'] as const;

export const RequestLogEntry = z.strictObject({
  seq: z.number().int().min(1),
  /** World time of the decision, in ms. */
  at_ms: z.number().finite(),
  agent_id: z.string(),
  agent_name: z.string().optional(),
  method: z.string(),
  url: z.string(),
  kind: z.enum(DECISION_KINDS),
  /** Set for `fail`. */
  error: z.enum(FAILURE_ERRORS).optional(),
  /** Set for `mock` (the mock's status); a passthrough's status is the caller's to know. */
  status: z.number().int().optional(),
  latency_ms: z.number().finite().min(0),
});
export type RequestLogEntry = z.infer<typeof RequestLogEntry>;

export const NetworkCounters = z.strictObject({
  /** Every request decided. The others partition it. */
  intercepted: z.number().int().min(0),
  mocked: z.number().int().min(0),
  passed_through: z.number().int().min(0),
  /** Partitions and mock failures (fail_rate). */
  failed: z.number().int().min(0),
  /** Lost to packet loss. */
  dropped: z.number().int().min(0),
  blocked: z.number().int().min(0),
});
export type NetworkCounters = z.infer<typeof NetworkCounters>;

export const emptyCounters = (): NetworkCounters => ({ intercepted: 0, mocked: 0, passed_through: 0, failed: 0, dropped: 0, blocked: 0 });

/** Keeps the last `capacity` entries; `entries()` is oldest first. */
export class RequestLog {
  readonly capacity: number;
  #ring: RequestLogEntry[] = [];
  /** Index of the oldest entry once the ring is full. */
  #start = 0;

  constructor(capacity: number, entries: readonly RequestLogEntry[] = []) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`logCapacity: expected a positive integer, got ${capacity}`);
    this.capacity = capacity;
    for (const entry of entries.slice(-capacity)) this.add(entry);
  }

  add(entry: RequestLogEntry): void {
    if (this.#ring.length < this.capacity) {
      this.#ring.push(entry);
      return;
    }
    this.#ring[this.#start] = entry;
    this.#start = (this.#start + 1) % this.capacity;
  }

  entries(): RequestLogEntry[] {
    return [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }

  get size(): number {
    return this.#ring.length;
  }
}
