/**
 * A real-time source and timer facility moved by hand, for tests and replays: nothing
 * happens until `advance()`, which runs due timers in order, each at its own due time
 * (as xstate's SimulatedClock does). Determinism tests drive a world with it.
 */
import type { RealTimeSource, TimerFacility } from '../clock.js';

interface ManualTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

export class ManualTime implements RealTimeSource, TimerFacility {
  #now: number;
  #nextId = 1;
  /** Few timers at a time (a scheduler keeps one), so a plain array scanned for the earliest is enough. */
  readonly #timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.push({ id, dueMs: this.#now + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    const index = this.#timers.findIndex((timer) => timer.id === handle);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** How many timers are pending (a test can check the scheduler keeps just one). */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Move real time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      let earliest: ManualTimer | undefined;
      for (const timer of this.#timers) {
        // Ties run in creation order, as Node's timers do.
        if (timer.dueMs <= targetMs && (!earliest || timer.dueMs < earliest.dueMs)) earliest = timer;
      }
      if (!earliest) break;
      this.#timers.splice(this.#timers.indexOf(earliest), 1);
      this.#now = Math.max(this.#now, earliest.dueMs);
      earliest.callback();
    }
    this.#now = Math.max(this.#now, targetMs);
  }
}
