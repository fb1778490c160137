/**
 * Exponential backoff between restarts, with jitter. OTP restarts at once; we wait a
 * little longer after each failure so a crash loop costs little before intensity
 * escalates it. Randomness and time are passed in, so tests are deterministic.
 */
import type { Backoff } from './spec.js';

/** A source of uniform numbers in [0, 1), such as `Math.random` or a seeded generator. */
export type Random = () => number;

/** The delay before jitter: `min(max_ms, initial_ms * factor^attempt)`; 0 when `initial_ms` is 0. */
export function baseDelay(attempt: number, backoff: Backoff): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be a whole number >= 0, got ${attempt}`);
  // Checked first: 0 * Infinity (a huge attempt) would be NaN.
  if (backoff.initial_ms === 0) return 0;
  return Math.min(backoff.max_ms, backoff.initial_ms * backoff.factor ** attempt);
}

/**
 * Milliseconds to wait before restart number `attempt` (0 = the first restart): the
 * base delay moved by up to ±`jitter` of itself, floored to whole ms. Never negative,
 * never above `max_ms * (1 + jitter)`.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: Random): number {
  const base = baseDelay(attempt, backoff);
  if (base === 0) return 0;
  // Clamped so a generator that returns exactly 1 (or worse) cannot break the bounds.
  const unit = Math.min(1, Math.max(0, random()));
  const jittered = base * (1 + backoff.jitter * (2 * unit - 1));
  return Math.floor(Math.min(backoff.max_ms * (1 + backoff.jitter), Math.max(0, jittered)));
}

/** One child's backoff over its life: how many quick failures in a row it has had. */
export class BackoffState {
  readonly #backoff: Backoff;
  #attempt = 0;
  #startedAt: number | undefined;

  constructor(backoff: Backoff) {
    this.#backoff = backoff;
  }

  /** The attempt number the next `next()` will use (0 after a reset). */
  get attempt(): number {
    return this.#attempt;
  }

  /** The child is up (again) at `nowMs`. */
  noteStarted(nowMs: number): void {
    this.#startedAt = nowMs;
  }

  /**
   * The child went down at `nowMs`: the delay before restarting it. A child that had
   * stayed up at least `reset_after_ms` is treated as healthy, so it starts over from
   * `initial_ms` rather than paying for failures long past.
   */
  next(nowMs: number, random: Random): number {
    if (this.#startedAt !== undefined && nowMs - this.#startedAt >= this.#backoff.reset_after_ms) this.#attempt = 0;
    // Consumed: a restart that never comes up must not earn a second reset.
    this.#startedAt = undefined;
    const delay = backoffDelay(this.#attempt, this.#backoff, random);
    // Stop counting once the delay can no longer grow, so the counter stays bounded.
    if (baseDelay(this.#attempt + 1, this.#backoff) > baseDelay(this.#attempt, this.#backoff)) this.#attempt++;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
    this.#startedAt = undefined;
  }
}
