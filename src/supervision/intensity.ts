/**
 * OTP's maximum restart intensity: more than `intensity` restarts within `period` and
 * the supervisor gives up and escalates to its parent. Pure bookkeeping: the caller
 * passes the time (from its actor clock), so tests step time instead of sleeping.
 */
import type { SupervisorFlags } from './spec.js';

export type IntensityVerdict = 'ok' | 'exceeded';

export class RestartIntensity {
  readonly #intensity: number;
  readonly #periodMs: number;
  /**
   * Restart times, oldest first from `#head`. Deciding "more than intensity" needs only
   * the newest intensity+1 of them, so the ring never grows past that.
   */
  readonly #times: Float64Array;
  #head = 0;
  #size = 0;

  constructor(intensity: number, periodMs: number) {
    if (!Number.isInteger(intensity) || intensity < 0) throw new RangeError(`intensity must be a whole number >= 0, got ${intensity}`);
    if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new RangeError(`periodMs must be a finite number above 0, got ${periodMs}`);
    this.#intensity = intensity;
    this.#periodMs = periodMs;
    this.#times = new Float64Array(intensity + 1);
  }

  /** From parsed flags, whose `period` is in seconds as in OTP. */
  static fromFlags(flags: Pick<SupervisorFlags, 'intensity' | 'period'>): RestartIntensity {
    return new RestartIntensity(flags.intensity, flags.period * 1000);
  }

  /**
   * Count a restart at `nowMs` and say whether the limit is now exceeded. As in OTP's
   * `add_restart`, a restart exactly `period` ago still counts (`t >= now - period`).
   */
  record(nowMs: number): IntensityVerdict {
    const capacity = this.#times.length;
    // A clock that steps back must not let old restarts escape the window.
    const now = this.#size > 0 ? Math.max(nowMs, this.#at(this.#size - 1)) : nowMs;
    const threshold = now - this.#periodMs;
    while (this.#size > 0 && this.#at(0) < threshold) {
      this.#head = (this.#head + 1) % capacity;
      this.#size--;
    }
    if (this.#size === capacity) {
      // Full means the last record was already 'exceeded'; keep the newest times only.
      this.#head = (this.#head + 1) % capacity;
      this.#size--;
    }
    this.#times[(this.#head + this.#size) % capacity] = now;
    this.#size++;
    return this.#size > this.#intensity ? 'exceeded' : 'ok';
  }

  /** Whether recording a restart at `nowMs` would exceed the limit; records nothing. */
  wouldExceed(nowMs: number): boolean {
    const now = this.#size > 0 ? Math.max(nowMs, this.#at(this.#size - 1)) : nowMs;
    const threshold = now - this.#periodMs;
    let inWindow = 0;
    for (let offset = 0; offset < this.#size; offset++) if (this.#at(offset) >= threshold) inWindow++;
    return inWindow + 1 > this.#intensity;
  }

  /** Restarts inside the window as of the last `record`. */
  get count(): number {
    return this.#size;
  }

  /** Forget every restart, as a freshly started supervisor would. */
  reset(): void {
    this.#head = 0;
    this.#size = 0;
  }

  #at(offset: number): number {
    return this.#times[(this.#head + offset) % this.#times.length]!;
  }
}
