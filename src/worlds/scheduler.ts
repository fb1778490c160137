/**
 * The chaos scheduler (worlds.md §4): decides *when* chaos effects start and end in a
 * world, from scheduled specs (`at: +30s`, `every`, `duration`), per-minute random draws
 * (`at: random`) and injected events (WORLD_EVENT, `heal`). It applies nothing itself:
 * each start and end goes to the listener (the world actor applies the effect and
 * publishes WORLD_EVENT), and is recorded in a bounded history.
 *
 * Time is the world clock's (ms since the world started), so `time_scale`, pause and
 * resume only change how long the one pending real timer waits; the planned world times,
 * and with them the history, do not depend on real time at all. Every decision is a
 * function of the specs, the seed and the injected events, in order: that is what makes
 * two runs of the same world produce the same history.
 */
import { z } from 'zod';
import { describeZodError } from '../protocol/errors.js';
import { EffectType, isInstantEffect } from './chaos/effects.js';
import type { WorldClock } from './clock.js';
import { WorldRandom } from './random.js';

/** `at: random` is a chance per world minute (worlds.md §4), so it is drawn once per minute. */
export const RANDOM_CHECK_MS = 60_000;
/** How many due entries one timer callback handles before yielding to the event loop. */
const MAX_DUE_PER_TICK = 1000;
/**
 * World time is real time × scale in floating point, so a timer set for exactly the due
 * time can read a hair before it; that hair (far below a millisecond) still counts as
 * due, or the scheduler would re-arm a zero-length timer for a rounding error.
 */
const DUE_TOLERANCE_MS = 0.001;
/**
 * Node's timers may also fire up to a millisecond early (they run on libuv's whole-ms
 * clock). Re-arming for the remainder would cost at least 1 ms more, since no timer is
 * shorter, so an entry due within this much *real* time runs now. The history keeps its
 * planned world time either way.
 */
const EARLY_TIMER_REAL_MS = 1;

const Targets = {
  target: z.string().min(1, 'expected a non-empty target').optional(),
  targets: z.array(z.string().min(1, 'expected non-empty target names')).optional(),
  /** The effect's parameter (cpu_spike 95, latency_spike ms, clock_skew ms...), kept as JSON for snapshots. */
  value: z.json().optional(),
};

export const EventAt = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('offset'), ms: z.number().min(0, 'expected at.ms >= 0').finite() }),
  z.strictObject({
    kind: z.literal('random'),
    probabilityPerMinute: z.number().min(0, 'expected a probability in 0..1').max(1, 'expected a probability in 0..1'),
  }),
]);
export type EventAt = z.infer<typeof EventAt>;

/**
 * One scheduled event, as the world definition's `events:` entries map onto it. `heal`
 * ends every active effect at its planned time, recorded like any other scheduled change.
 */
export const ScheduledEventSpec = z
  .strictObject({
    at: EventAt,
    type: z.union([EffectType, z.literal('heal')]),
    every_ms: z.number().positive('expected every_ms > 0').finite().optional(),
    duration_ms: z.number().positive('expected duration_ms > 0').finite().optional(),
    ...Targets,
  })
  .superRefine((spec, ctx) => {
    if (spec.at.kind === 'random' && spec.every_ms !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['every_ms'], message: 'not allowed with at: random (it is drawn once per world minute)' });
    }
    if (spec.target !== undefined && spec.targets !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'give target or targets, not both' });
    }
  });
export type ScheduledEventSpec = z.infer<typeof ScheduledEventSpec>;

/** A WORLD_EVENT payload: any effect at once, or `heal` to end every active effect. */
export const InjectedEvent = z.strictObject({
  type: z.union([EffectType, z.literal('heal')]),
  duration_ms: z.number().positive('expected duration_ms > 0').finite().optional(),
  ...Targets,
});
export type InjectedEvent = z.infer<typeof InjectedEvent>;

export const EventSource = z.enum(['schedule', 'random', 'inject']);
export type EventSource = z.infer<typeof EventSource>;

/** Why an effect ended: its duration ran out, `heal`, or the active-effect cap evicted it. */
export const HealReason = z.enum(['duration', 'heal', 'capacity']);
export type HealReason = z.infer<typeof HealReason>;

const WorldMs = z.number().min(0).finite();

export const ActiveEffect = z.strictObject({
  effect_id: z.number().int().min(1),
  type: EffectType,
  ...Targets,
  source: EventSource,
  started_world_ms: WorldMs,
  /** Null: until `heal`. */
  ends_world_ms: WorldMs.nullable(),
});
export type ActiveEffect = z.infer<typeof ActiveEffect>;

/**
 * One history entry. `world_ms` is the *planned* world time (deterministic: a scheduled
 * time, a heal time, or the injection time); `fired_world_ms`, `real_ms` and
 * `late_real_ms` are what actually happened, for measuring scheduler accuracy.
 */
export const HistoryEntry = z.strictObject({
  seq: z.number().int().min(1),
  kind: z.enum(['fired', 'healed']),
  effect_id: z.number().int().min(1),
  type: EffectType,
  ...Targets,
  source: EventSource,
  /** Healed entries only. */
  reason: HealReason.optional(),
  world_ms: WorldMs,
  fired_world_ms: WorldMs,
  real_ms: z.number().finite(),
  /** Real ms between the planned and the actual time, at the scale in force when it fired. */
  late_real_ms: z.number().min(0).finite(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

const PendingEntry = z.strictObject({
  /** Insertion order: breaks ties between entries due at the same world time, deterministically. */
  order: z.number().int().min(0),
  due_world_ms: WorldMs,
  action: z.enum(['fire', 'check', 'heal']),
  /** fire and check: the spec; heal: the effect. */
  ref: z.number().int().min(0),
});
type PendingEntry = z.infer<typeof PendingEntry>;

export const SCHEDULER_STATE_VERSION = 1;

export const ChaosSchedulerState = z.strictObject({
  version: z.literal(SCHEDULER_STATE_VERSION, `expected scheduler state version ${SCHEDULER_STATE_VERSION}`),
  spec_count: z.number().int().min(0),
  random: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()]),
  started: z.boolean(),
  next_seq: z.number().int().min(1),
  next_effect_id: z.number().int().min(1),
  next_order: z.number().int().min(0),
  pending: z.array(PendingEntry),
  active: z.array(ActiveEffect),
  history: z.array(HistoryEntry),
});
export type ChaosSchedulerState = z.infer<typeof ChaosSchedulerState>;

export interface ChaosSchedulerOptions {
  /** Told of every start and end, after the scheduler's own state is updated. */
  listener?: (entry: HistoryEntry) => void;
  /** A throwing listener never stops the schedule; its errors land here (default: a process warning). */
  onListenerError?: (error: unknown, entry: HistoryEntry) => void;
  /** Entries kept in the history (oldest dropped first). Default 1000. */
  historyLimit?: number;
  /** Effects active at once; at the cap the oldest is healed early (reason `capacity`). Default 1024. */
  maxActiveEffects?: number;
}

type Fired = Pick<ActiveEffect, 'type' | 'target' | 'targets' | 'value'> & { duration_ms?: number | undefined };

/** Parse specs, throwing a TypeError that names the offending field (`events[1].at.ms: ...`). */
export function parseScheduledEvents(input: unknown): ScheduledEventSpec[] {
  const parsed = z.array(ScheduledEventSpec).safeParse(input);
  if (!parsed.success) throw new TypeError(describeZodError(parsed.error, 'events').message);
  return parsed.data;
}

export class ChaosScheduler {
  readonly #specs: readonly ScheduledEventSpec[];
  readonly #clock: WorldClock;
  #random: WorldRandom;
  readonly #listener: ((entry: HistoryEntry) => void) | undefined;
  readonly #onListenerError: (error: unknown, entry: HistoryEntry) => void;
  readonly #historyLimit: number;
  readonly #maxActive: number;

  #started = false;
  #stopped = false;
  #nextSeq = 1;
  #nextEffectId = 1;
  #nextOrder = 0;
  /** Bounded by the specs (one entry each) plus one heal per active effect. */
  #pending: PendingEntry[] = [];
  #active: ActiveEffect[] = [];
  #history: HistoryEntry[] = [];
  #timer: unknown;
  #timerSet = false;
  #unsubscribe: (() => void) | undefined;
  /** Set only by fromState, consumed by start(). */
  #restoring: ChaosSchedulerState | undefined;

  /**
   * `random` is the world's root stream; the scheduler draws from its own `fork('chaos')`,
   * so other consumers' draws never shift the chaos decisions.
   */
  constructor(specs: readonly ScheduledEventSpec[], random: WorldRandom, clock: WorldClock, options: ChaosSchedulerOptions = {}) {
    this.#specs = parseScheduledEvents(specs);
    this.#random = random.fork('chaos');
    this.#clock = clock;
    this.#listener = options.listener;
    this.#onListenerError = options.onListenerError ?? warnListenerError;
    this.#historyLimit = positiveInt(options.historyLimit ?? 1000, 'historyLimit');
    this.#maxActive = positiveInt(options.maxActiveEffects ?? 1024, 'maxActiveEffects');
  }

  /**
   * A scheduler continuing a snapshot: same specs (the definition's), the saved random
   * state, pending times, active effects and history. Call `start()` to resume timing.
   */
  static fromState(
    specs: readonly ScheduledEventSpec[],
    state: ChaosSchedulerState,
    clock: WorldClock,
    options: ChaosSchedulerOptions = {},
  ): ChaosScheduler {
    const parsed = ChaosSchedulerState.safeParse(state);
    if (!parsed.success) throw new TypeError(describeZodError(parsed.error, 'scheduler state').message);
    const saved = parsed.data;
    if (saved.spec_count !== specs.length) {
      throw new TypeError(`scheduler state: spec_count is ${saved.spec_count} but the definition has ${specs.length} events`);
    }
    const scheduler = new ChaosScheduler(specs, WorldRandom.fromSeed(0), clock, options);
    for (const [index, entry] of saved.pending.entries()) {
      const valid = entry.action === 'heal' ? saved.active.some((effect) => effect.effect_id === entry.ref) : entry.ref < specs.length;
      if (!valid)
        throw new TypeError(
          `scheduler state: pending[${index}].ref ${entry.ref} names no ${entry.action === 'heal' ? 'active effect' : 'event'}`,
        );
    }
    // Assigned, not forked: the saved state is already the chaos stream.
    scheduler.#random = WorldRandom.fromState(saved.random);
    scheduler.#restoring = saved;
    return scheduler;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Begin timing: plans every spec relative to the world's start (a restored scheduler continues). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const saved = this.#restoring;
    this.#restoring = undefined;
    if (saved?.started) {
      this.#nextSeq = saved.next_seq;
      this.#nextEffectId = saved.next_effect_id;
      this.#nextOrder = saved.next_order;
      this.#pending = saved.pending.map((entry) => ({ ...entry }));
      this.#active = saved.active.map((effect) => ({ ...effect }));
      this.#history = saved.history.map((entry) => ({ ...entry }));
    } else {
      for (const [index, spec] of this.#specs.entries()) {
        if (spec.at.kind === 'offset') this.#addPending(spec.at.ms, 'fire', index);
        else this.#addPending(RANDOM_CHECK_MS, 'check', index);
      }
    }
    this.#unsubscribe = this.#clock.onChange((change) => {
      if (change !== 'skew') this.#plan();
    });
    this.#plan();
  }

  /** Stop timing for good (the world is destroyed); state stays readable. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** WORLD_EVENT: apply an effect at once (or `heal`). Returns the entries it recorded. */
  inject(input: InjectedEvent): HistoryEntry[] {
    const parsed = InjectedEvent.safeParse(input);
    if (!parsed.success) throw new TypeError(describeZodError(parsed.error, 'world event').message);
    const event = parsed.data;
    if (event.type === 'heal') return this.heal();
    const now = this.#clock.now();
    const entries = this.#fire({ ...event, type: event.type }, 'inject', now, now);
    this.#plan();
    return entries;
  }

  /** End every active effect now (`{"type": "heal"}`), oldest first. Returns the entries recorded. */
  heal(): HistoryEntry[] {
    const now = this.#clock.now();
    const entries = this.#healAll(now, now);
    this.#plan();
    return entries;
  }

  #healAll(plannedMs: number, now: number): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    while (this.#active.length > 0) entries.push(this.#end(this.#active[0]!, 'heal', plannedMs, now));
    return entries;
  }

  activeEffects(): ActiveEffect[] {
    return this.#active.map((effect) => ({ ...effect }));
  }

  /** The newest `historyLimit` entries, oldest first. */
  history(): HistoryEntry[] {
    return this.#history.map((entry) => ({ ...entry }));
  }

  /** What is due next, soonest first: for WORLD_STATE and tests. */
  upcoming(): Array<{ due_world_ms: number; action: 'fire' | 'check' | 'heal'; type: EffectType | 'heal' }> {
    return [...this.#pending].sort(byDue).map((entry) => ({
      due_world_ms: entry.due_world_ms,
      action: entry.action,
      type: entry.action === 'heal' ? this.#effect(entry.ref).type : this.#specs[entry.ref]!.type,
    }));
  }

  /** Everything needed to continue identically (with the clock's own state and the specs). */
  state(): ChaosSchedulerState {
    if (this.#restoring) return structuredClone(this.#restoring);
    return {
      version: SCHEDULER_STATE_VERSION,
      spec_count: this.#specs.length,
      random: [...this.#random.state()],
      started: this.#started,
      next_seq: this.#nextSeq,
      next_effect_id: this.#nextEffectId,
      next_order: this.#nextOrder,
      pending: this.#pending.map((entry) => ({ ...entry })),
      active: this.activeEffects(),
      history: this.history(),
    };
  }

  #addPending(dueWorldMs: number, action: PendingEntry['action'], ref: number): void {
    this.#pending.push({ order: this.#nextOrder++, due_world_ms: dueWorldMs, action, ref });
  }

  /** One timer, for the earliest pending entry; none while paused or with nothing pending. */
  #plan(): void {
    this.#clearTimer();
    if (!this.#started || this.#stopped) return;
    let earliest: PendingEntry | undefined;
    for (const entry of this.#pending) if (!earliest || byDue(entry, earliest) < 0) earliest = entry;
    if (!earliest) return;
    const delay = this.#clock.realDelayUntil(earliest.due_world_ms);
    if (!Number.isFinite(delay)) return;
    this.#timerSet = true;
    this.#timer = this.#clock.timers.setTimeout(() => {
      this.#timerSet = false;
      this.#runDue();
      this.#plan();
    }, delay);
  }

  #clearTimer(): void {
    if (!this.#timerSet) return;
    this.#clock.timers.clearTimeout(this.#timer);
    this.#timerSet = false;
  }

  /** Handle what is due, in planned order; a timer firing a hair early just finds nothing due. */
  #runDue(): void {
    const now = this.#clock.now();
    const horizon = now + Math.max(DUE_TOLERANCE_MS, EARLY_TIMER_REAL_MS * this.#clock.timeScale);
    for (let handled = 0; handled < MAX_DUE_PER_TICK; handled++) {
      let index = -1;
      for (let i = 0; i < this.#pending.length; i++) {
        const entry = this.#pending[i]!;
        if (entry.due_world_ms <= horizon && (index < 0 || byDue(entry, this.#pending[index]!) < 0)) index = i;
      }
      if (index < 0) return;
      const [entry] = this.#pending.splice(index, 1) as [PendingEntry];
      this.#execute(entry, Math.max(now, entry.due_world_ms));
    }
  }

  #execute(entry: PendingEntry, now: number): void {
    const due = entry.due_world_ms;
    if (entry.action === 'heal') {
      this.#end(this.#effect(entry.ref), 'duration', due, now);
      return;
    }
    const spec = this.#specs[entry.ref]!;
    if (entry.action === 'check') {
      // Re-planned before firing, so the next minute's draw keeps its place in the order.
      this.#addPending(due + RANDOM_CHECK_MS, 'check', entry.ref);
      if (this.#random.chance(spec.at.kind === 'random' ? spec.at.probabilityPerMinute : 0)) this.#fireSpec(spec, 'random', due, now);
      return;
    }
    if (spec.every_ms !== undefined) this.#addPending(due + spec.every_ms, 'fire', entry.ref);
    this.#fireSpec(spec, 'schedule', due, now);
  }

  #fireSpec(spec: ScheduledEventSpec, source: EventSource, plannedMs: number, now: number): void {
    if (spec.type === 'heal') this.#healAll(plannedMs, now);
    else this.#fire({ ...spec, type: spec.type }, source, plannedMs, now);
  }

  #fire(event: Fired, source: EventSource, plannedMs: number, now: number): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    const effectId = this.#nextEffectId++;
    if (!isInstantEffect(event.type)) {
      if (this.#active.length >= this.#maxActive) entries.push(this.#end(this.#active[0]!, 'capacity', plannedMs, now));
      const ends = event.duration_ms === undefined ? null : plannedMs + event.duration_ms;
      this.#active.push({ effect_id: effectId, ...what(event), source, started_world_ms: plannedMs, ends_world_ms: ends });
      if (ends !== null) this.#addPending(ends, 'heal', effectId);
    }
    entries.push(this.#record({ kind: 'fired', effect_id: effectId, ...what(event), source }, plannedMs, now));
    return entries;
  }

  #end(effect: ActiveEffect, reason: HealReason, plannedMs: number, now: number): HistoryEntry {
    this.#active = this.#active.filter((active) => active !== effect);
    // An effect healed early must not be healed again when its duration runs out.
    this.#pending = this.#pending.filter((entry) => !(entry.action === 'heal' && entry.ref === effect.effect_id));
    return this.#record({ kind: 'healed', effect_id: effect.effect_id, ...what(effect), source: effect.source, reason }, plannedMs, now);
  }

  #record(
    fields: Pick<HistoryEntry, 'kind' | 'effect_id' | 'type' | 'target' | 'targets' | 'value' | 'source' | 'reason'>,
    plannedMs: number,
    now: number,
  ): HistoryEntry {
    const entry: HistoryEntry = {
      seq: this.#nextSeq++,
      ...dropUndefined(fields),
      world_ms: plannedMs,
      fired_world_ms: now,
      real_ms: this.#clock.realTime.now(),
      late_real_ms: Math.max(0, (now - plannedMs) / this.#clock.timeScale),
    };
    this.#history.push(entry);
    if (this.#history.length > this.#historyLimit) this.#history.splice(0, this.#history.length - this.#historyLimit);
    if (this.#listener) {
      try {
        this.#listener({ ...entry });
      } catch (error) {
        this.#onListenerError(error, entry);
      }
    }
    return { ...entry };
  }

  #effect(effectId: number): ActiveEffect {
    const effect = this.#active.find((active) => active.effect_id === effectId);
    // Unreachable: heals are removed with their effect, and fromState checks the refs.
    if (!effect) throw new Error(`no active effect ${effectId}`);
    return effect;
  }
}

function byDue(a: PendingEntry, b: PendingEntry): number {
  return a.due_world_ms - b.due_world_ms || a.order - b.order;
}

/** The effect's identity, without absent fields, so histories compare and serialise cleanly. */
function what(event: Fired): Pick<ActiveEffect, 'type' | 'target' | 'targets' | 'value'> {
  return dropUndefined({ type: event.type, target: event.target, targets: event.targets, value: event.value });
}

function dropUndefined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: expected a whole number >= 1, got ${value}`);
  return value;
}

function warnListenerError(error: unknown, entry: HistoryEntry): void {
  process.emitWarning(`chaos listener failed on ${entry.kind} ${entry.type} (seq ${entry.seq}): ${String(error)}`, 'WorldChaosWarning');
}
