/**
 * A CPU throttle for one process agent: a SIGSTOP/SIGCONT duty cycle on its process
 * group, for machines (or agents) without a cgroup cpu controller. Each period the group
 * runs for `duty` of it and is stopped for the rest; the enforcer adjusts `duty` from
 * each sample so the measured share settles at the limit.
 */

/** Short enough that an interactive agent still answers promptly, long enough to cost little. */
export const THROTTLE_PERIOD_MS = 100;
const MIN_DUTY = 0.02;
/** Periods in a row the agent may not run before the cycle stops by itself. */
const IDLE_PERIODS = 10;

export interface ThrottleTarget {
  /** Send a signal to the whole agent. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** False while the agent is paused by someone else (PAUSE, a quota): the throttle must not continue it. */
  mayRun(): boolean;
}

export class Throttle {
  readonly #target: ThrottleTarget;
  #duty = 1;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #idle = 0;

  constructor(target: ThrottleTarget) {
    this.#target = target;
  }

  /** The share of each period the agent runs, 0.02 to 1. */
  get duty(): number {
    return this.#duty;
  }

  /**
   * A new sample: `measured` percent of a core used while running `duty` of the time,
   * against `limit`. Returns false once no throttling is needed (the caller stops it).
   */
  adjust(measured: number, limit: number): boolean {
    // What the agent would use unthrottled, and the duty that brings that down to the limit.
    const demand = measured / this.#duty;
    const wanted = demand > 0 ? limit / demand : 1;
    this.#duty = Math.min(1, Math.max(MIN_DUTY, wanted));
    if (this.#duty >= 1) return false;
    if (this.#timer === undefined) this.#run();
    return true;
  }

  /** End the cycle and let the agent run (unless someone else paused it). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped && this.#target.mayRun()) this.#target.signal('SIGCONT');
    this.#stopped = false;
  }

  /** A period starts: the agent runs for `duty` of it. */
  #run(): void {
    if (!this.#target.mayRun()) {
      // Paused by someone else, stopping or ended: the cycle idles out; the next sample restarts it if needed.
      if (++this.#idle >= IDLE_PERIODS) {
        this.#timer = undefined;
        this.#stopped = false;
        return;
      }
    } else {
      this.#idle = 0;
      this.#target.signal('SIGCONT');
    }
    this.#stopped = false;
    this.#timer = setTimeout(() => this.#pause(), this.#duty * THROTTLE_PERIOD_MS);
    this.#timer.unref();
  }

  #pause(): void {
    if (this.#target.mayRun()) this.#target.signal('SIGSTOP');
    this.#stopped = true;
    this.#timer = setTimeout(() => this.#run(), (1 - this.#duty) * THROTTLE_PERIOD_MS);
    this.#timer.unref();
  }
}
