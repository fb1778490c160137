/**
 * A world's own clock (worlds.md §4): world time is the number of ms since the world
 * started, advancing at `time_scale` × real time, standing still while the world is
 * paused. Scheduling always uses this time; `clock_skew` only shifts what agents *read*
 * (`agentNow()`), so a skewed world still fires its chaos on schedule.
 *
 * Real time and timers are injected (`RealTimeSource`, `TimerFacility`), so tests drive
 * the clock with `ManualTime` instead of sleeping. The clock keeps no timers itself: it
 * only converts between world and real time and tells subscribers when that conversion
 * changes (pause, resume, new scale), so they can re-plan their single timer.
 */
import { z } from 'zod';
import { describeZodError } from '../protocol/errors.js';

/** Monotonic real time in ms (an epoch-based reading is nicest for histories). */
export interface RealTimeSource {
  now(): number;
}

/** What the clock's users need from `setTimeout`: one-shot timers they can cancel. */
export interface TimerFacility {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real monotonic time, as ms since the epoch (`performance` never steps back, unlike `Date`). */
export const realTimeSource: RealTimeSource = { now: () => performance.timeOrigin + performance.now() };

/**
 * Node's timers, unref'd: a world's pending chaos is no reason to keep the process
 * alive (the kernel's own servers do that).
 */
export const realTimers: TimerFacility = {
  setTimeout(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

const TimeScale = z.number().positive('expected time_scale > 0').finite('expected a finite time_scale');

/** Everything a snapshot needs to continue the clock exactly where it stood. */
export const WorldClockState = z.strictObject({
  world_ms: z.number().min(0, 'expected world_ms >= 0').finite(),
  time_scale: TimeScale,
  paused: z.boolean(),
  skew_ms: z.number().finite('expected a finite skew_ms'),
});
export type WorldClockState = z.infer<typeof WorldClockState>;

export interface WorldClockOptions {
  /** World ms per real ms (60: one world minute per real second). Default 1. */
  timeScale?: number;
  realTime?: RealTimeSource;
  timers?: TimerFacility;
}

export type ClockChange = 'paused' | 'resumed' | 'time_scale' | 'skew';

export class WorldClock {
  readonly realTime: RealTimeSource;
  readonly timers: TimerFacility;
  /** World time at `#anchorReal`; world time moves on linearly from there unless paused. */
  #anchorWorld: number;
  #anchorReal: number;
  #timeScale: number;
  #paused: boolean;
  #skewMs = 0;
  readonly #listeners = new Set<(change: ClockChange) => void>();

  constructor(options: WorldClockOptions = {}) {
    this.realTime = options.realTime ?? realTimeSource;
    this.timers = options.timers ?? realTimers;
    this.#timeScale = parseTimeScale(options.timeScale ?? 1);
    this.#anchorWorld = 0;
    this.#anchorReal = this.realTime.now();
    this.#paused = false;
  }

  /** A clock continuing a snapshot; it starts running (or paused) from the saved world time at once. */
  static fromState(state: WorldClockState, options: Omit<WorldClockOptions, 'timeScale'> = {}): WorldClock {
    const parsed = WorldClockState.safeParse(state);
    if (!parsed.success) throw new TypeError(describeZodError(parsed.error, 'clock state').message);
    const clock = new WorldClock({ ...options, timeScale: parsed.data.time_scale });
    clock.#anchorWorld = parsed.data.world_ms;
    clock.#paused = parsed.data.paused;
    clock.#skewMs = parsed.data.skew_ms;
    return clock;
  }

  /** World ms since the world started: the time chaos is scheduled in. */
  now(): number {
    if (this.#paused) return this.#anchorWorld;
    return this.#anchorWorld + (this.realTime.now() - this.#anchorReal) * this.#timeScale;
  }

  /** The time agents read: world time plus the `clock_skew` in force. */
  agentNow(): number {
    return this.now() + this.#skewMs;
  }

  get timeScale(): number {
    return this.#timeScale;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get skewMs(): number {
    return this.#skewMs;
  }

  /**
   * Real ms until world time reaches `worldMs` at the current scale: 0 if it already
   * has, Infinity while paused (a paused world reaches nothing).
   */
  realDelayUntil(worldMs: number): number {
    if (this.#paused) return Number.POSITIVE_INFINITY;
    return Math.max(0, (worldMs - this.now()) / this.#timeScale);
  }

  pause(): void {
    if (this.#paused) return;
    this.#reanchor();
    this.#paused = true;
    this.#emit('paused');
  }

  resume(): void {
    if (!this.#paused) return;
    this.#anchorReal = this.realTime.now();
    this.#paused = false;
    this.#emit('resumed');
  }

  /** Change the speed from now on; world time already elapsed stays as it was. */
  setTimeScale(timeScale: number): void {
    const scale = parseTimeScale(timeScale);
    if (scale === this.#timeScale) return;
    this.#reanchor();
    this.#timeScale = scale;
    this.#emit('time_scale');
  }

  /** The `clock_skew` effect: agents read world time shifted by `skewMs` (0 heals it). */
  setSkew(skewMs: number): void {
    if (!Number.isFinite(skewMs)) throw new RangeError(`skew_ms: expected a finite number of ms, got ${skewMs}`);
    if (skewMs === this.#skewMs) return;
    this.#skewMs = skewMs;
    this.#emit('skew');
  }

  /** Be told when the world/real conversion (or the skew) changes; returns the unsubscribe. */
  onChange(listener: (change: ClockChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  state(): WorldClockState {
    return { world_ms: this.now(), time_scale: this.#timeScale, paused: this.#paused, skew_ms: this.#skewMs };
  }

  /** Fold the elapsed real time into the anchor, so a new scale applies from now only. */
  #reanchor(): void {
    const real = this.realTime.now();
    if (!this.#paused) this.#anchorWorld += (real - this.#anchorReal) * this.#timeScale;
    this.#anchorReal = real;
  }

  #emit(change: ClockChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function parseTimeScale(value: number): number {
  const parsed = TimeScale.safeParse(value);
  if (!parsed.success) throw new RangeError(`time_scale: ${parsed.error.issues[0]?.message ?? 'invalid'}, got ${value}`);
  return parsed.data;
}
