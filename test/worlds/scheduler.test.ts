/**
 * The chaos scheduler, driven by ManualTime: scheduled, repeated, random and injected
 * events, healing, one timer at a time, pause/scale re-planning, snapshots, determinism.
 */
import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../src/worlds/chaos/manual-time.js';
import { WorldClock } from '../../src/worlds/clock.js';
import { WorldRandom } from '../../src/worlds/random.js';
import {
  ChaosScheduler,
  type ChaosSchedulerOptions,
  type HistoryEntry,
  parseScheduledEvents,
  type ScheduledEventSpec,
} from '../../src/worlds/scheduler.js';

const MIN = 60_000;

function world(
  specs: ScheduledEventSpec[],
  { seed = 42, timeScale = 60, ...options }: ChaosSchedulerOptions & { seed?: number; timeScale?: number } = {},
) {
  const time = new ManualTime(0);
  const clock = new WorldClock({ timeScale, realTime: time, timers: time });
  const heard: HistoryEntry[] = [];
  const scheduler = new ChaosScheduler(specs, WorldRandom.fromSeed(seed), clock, { listener: (entry) => heard.push(entry), ...options });
  scheduler.start();
  /** Advance world time (at the clock's current scale). */
  const advanceWorld = (ms: number) => time.advance(ms / clock.timeScale);
  return { time, clock, scheduler, heard, advanceWorld };
}

/** The fields that must not depend on real time. */
const decisions = (history: HistoryEntry[]) =>
  history.map(({ seq, kind, effect_id, type, target, targets, value, source, reason, world_ms }) => ({
    seq,
    kind,
    effect_id,
    type,
    target,
    targets,
    value,
    source,
    reason,
    world_ms,
  }));

const CHAOS: ScheduledEventSpec[] = [
  { at: { kind: 'offset', ms: 30_000 }, type: 'service_crash', target: 'worker-1' },
  { at: { kind: 'offset', ms: MIN }, type: 'cpu_spike', value: 95, duration_ms: 30_000 },
  { at: { kind: 'offset', ms: 2 * MIN }, type: 'network_partition', targets: ['worker-1', 'worker-2'], duration_ms: 15_000 },
  { at: { kind: 'offset', ms: 10_000 }, type: 'latency_spike', value: 500, every_ms: 45_000, duration_ms: 5000 },
  { at: { kind: 'random', probabilityPerMinute: 0.3 }, type: 'disk_full', duration_ms: 20_000 },
  { at: { kind: 'random', probabilityPerMinute: 0.5 }, type: 'packet_loss', value: 0.2, duration_ms: 90_000 },
];

describe('ChaosScheduler', () => {
  it('fires scheduled events at their world times, heals durations, keeps active effects', () => {
    const { scheduler, heard, advanceWorld, time } = world(CHAOS.slice(0, 3));
    advanceWorld(29_999);
    expect(heard).toEqual([]);
    advanceWorld(1);
    expect(heard).toMatchObject([
      { seq: 1, kind: 'fired', type: 'service_crash', target: 'worker-1', source: 'schedule', world_ms: 30_000 },
    ]);
    expect(heard[0]!.late_real_ms).toBe(0);
    expect(scheduler.activeEffects()).toEqual([]); // a crash is instant: nothing to heal
    advanceWorld(30_000);
    expect(scheduler.activeEffects()).toEqual([
      { effect_id: 2, type: 'cpu_spike', value: 95, source: 'schedule', started_world_ms: MIN, ends_world_ms: 90_000 },
    ]);
    advanceWorld(30_000);
    expect(heard.at(-1)).toMatchObject({ kind: 'healed', effect_id: 2, type: 'cpu_spike', reason: 'duration', world_ms: 90_000 });
    advanceWorld(30_000);
    expect(scheduler.activeEffects()).toMatchObject([
      { type: 'network_partition', targets: ['worker-1', 'worker-2'], ends_world_ms: 135_000 },
    ]);
    advanceWorld(15_000);
    expect(scheduler.activeEffects()).toEqual([]);
    expect(heard.map((entry) => `${entry.kind} ${entry.type}@${entry.world_ms}`)).toEqual([
      'fired service_crash@30000',
      'fired cpu_spike@60000',
      'healed cpu_spike@90000',
      'fired network_partition@120000',
      'healed network_partition@135000',
    ]);
    expect(scheduler.history()).toEqual(heard);
    expect(time.pendingTimers).toBe(0); // nothing left to do, no timer
  });

  it('repeats `every` and keeps one timer for the next due entry only', () => {
    const { scheduler, advanceWorld, time } = world([CHAOS[3]!, CHAOS[1]!]);
    expect(time.pendingTimers).toBe(1);
    advanceWorld(3 * MIN);
    expect(time.pendingTimers).toBe(1);
    const fired = scheduler.history().filter((entry) => entry.kind === 'fired' && entry.type === 'latency_spike');
    expect(fired.map((entry) => entry.world_ms)).toEqual([10_000, 55_000, 100_000, 145_000]);
    expect(scheduler.upcoming()).toEqual([{ due_world_ms: 190_000, action: 'fire', type: 'latency_spike' }]);
  });

  it('catches up in planned order after a long gap, with lateness recorded', () => {
    const { scheduler, time } = world([CHAOS[3]!], { timeScale: 1 });
    time.advance(100_000); // one real jump over three firings and their heals
    expect(decisions(scheduler.history()).map((entry) => `${entry.kind}@${entry.world_ms}`)).toEqual([
      'fired@10000',
      'healed@15000',
      'fired@55000',
      'healed@60000',
      'fired@100000',
    ]);
    expect(scheduler.history().map((entry) => entry.late_real_ms)).toEqual([0, 0, 0, 0, 0]);
  });

  it('records the lateness when the timer wakes late', () => {
    const time = new ManualTime(0);
    // Timers that wake 5 ms late, as a busy event loop would.
    const late = {
      setTimeout: (callback: () => void, ms: number) => time.setTimeout(callback, ms + 5),
      clearTimeout: (h: unknown) => time.clearTimeout(h),
    };
    const clock = new WorldClock({ timeScale: 10, realTime: time, timers: late });
    const scheduler = new ChaosScheduler([CHAOS[0]!], WorldRandom.fromSeed(1), clock);
    scheduler.start();
    time.advanceTo(3005);
    expect(scheduler.history()[0]).toMatchObject({ world_ms: 30_000, fired_world_ms: 30_050, late_real_ms: 5, real_ms: 3005 });
  });

  it('re-plans on pause, resume and time_scale changes', () => {
    const { scheduler, clock, time } = world([CHAOS[0]!], { timeScale: 1 });
    time.advance(10_000);
    clock.pause();
    expect(time.pendingTimers).toBe(0);
    time.advance(100_000);
    expect(scheduler.history()).toEqual([]);
    clock.resume();
    clock.setTimeScale(10); // 20 s of world time left = 2 s real
    time.advance(1999);
    expect(scheduler.history()).toEqual([]);
    time.advance(1);
    expect(scheduler.history()).toMatchObject([{ type: 'service_crash', world_ms: 30_000, real_ms: 112_000 }]);
  });

  it('draws `at: random` once per world minute from the seed, deterministically', () => {
    const spec: ScheduledEventSpec = { at: { kind: 'random', probabilityPerMinute: 0.5 }, type: 'disk_full' };
    const run = (seed: number) => {
      const { scheduler, advanceWorld } = world([spec], { seed });
      advanceWorld(200 * MIN);
      return scheduler.history().map((entry) => entry.world_ms);
    };
    const times = run(7);
    expect(times.every((ms) => ms % MIN === 0 && ms > 0)).toBe(true);
    expect(times.length).toBeGreaterThan(60); // about 100 of 200 minutes
    expect(times.length).toBeLessThan(140);
    expect(run(7)).toEqual(times);
    expect(run(8)).not.toEqual(times);
    const never = world([{ ...spec, at: { kind: 'random', probabilityPerMinute: 0 } }]);
    never.advanceWorld(100 * MIN);
    expect(never.scheduler.history()).toEqual([]);
  });

  it('the same specs and seed give identical histories; time_scale and pauses change nothing', () => {
    const a = world(CHAOS, { seed: 99, timeScale: 60 });
    a.advanceWorld(30 * MIN);
    const b = world(CHAOS, { seed: 99, timeScale: 1 });
    b.advanceWorld(10 * MIN);
    b.clock.pause();
    b.time.advance(12_345);
    b.clock.resume();
    b.clock.setTimeScale(600);
    b.advanceWorld(20 * MIN);
    expect(a.scheduler.history().length).toBeGreaterThan(20);
    expect(decisions(b.scheduler.history())).toEqual(decisions(a.scheduler.history()));
    const c = world(CHAOS, { seed: 100 });
    c.advanceWorld(30 * MIN);
    const randoms = (history: HistoryEntry[]) => decisions(history).filter((entry) => entry.source === 'random');
    expect(randoms(c.scheduler.history())).not.toEqual(randoms(a.scheduler.history()));
  });

  it('inject fires at once (with its own heal), heal ends every active effect', () => {
    const { scheduler, heard, advanceWorld } = world([CHAOS[1]!]);
    advanceWorld(MIN + 1000);
    const [fired] = scheduler.inject({ type: 'clock_skew', value: -5000, duration_ms: 10_000 });
    expect(fired).toMatchObject({ kind: 'fired', type: 'clock_skew', value: -5000, source: 'inject', world_ms: 61_000 });
    scheduler.inject({ type: 'network_partition' });
    expect(scheduler.activeEffects().map((effect) => effect.type)).toEqual(['cpu_spike', 'clock_skew', 'network_partition']);
    const healed = scheduler.heal();
    expect(healed.map((entry) => `${entry.type} ${entry.reason}`)).toEqual(['cpu_spike heal', 'clock_skew heal', 'network_partition heal']);
    expect(scheduler.activeEffects()).toEqual([]);
    advanceWorld(5 * MIN);
    // Healed early: their duration heals never fire again.
    expect(heard.filter((entry) => entry.reason === 'duration')).toEqual([]);
    scheduler.inject({ type: 'disk_full' });
    expect(scheduler.inject({ type: 'heal' })).toMatchObject([{ kind: 'healed', type: 'disk_full', reason: 'heal' }]);
  });

  it('refuses bad specs and events, naming the field', () => {
    expect(() => parseScheduledEvents([{ at: { kind: 'offset', ms: -1 }, type: 'cpu_spike' }])).toThrow(/"\[0\]\.at\.ms"/);
    expect(() => parseScheduledEvents([CHAOS[0], { at: { kind: 'offset', ms: 1 }, type: 'meteor' }])).toThrow(/"\[1\]\.type"/);
    expect(() => parseScheduledEvents([{ at: { kind: 'random', probabilityPerMinute: 2 }, type: 'disk_full' }])).toThrow(
      /probabilityPerMinute.*0\.\.1/,
    );
    expect(() => parseScheduledEvents([{ ...CHAOS[4], every_ms: 1000 }])).toThrow(/every_ms.*not allowed with at: random/);
    expect(() => parseScheduledEvents([{ ...CHAOS[0], targets: ['x'] }])).toThrow(/targets.*not both/);
    expect(() => parseScheduledEvents([{ ...CHAOS[0], extra: 1 }])).toThrow(/extra/);
    const { scheduler } = world([]);
    expect(() => scheduler.inject({ type: 'cpu_spike', duration_ms: 0 })).toThrow(/duration_ms/);
  });

  it('keeps memory bounded: history and active effects have caps', () => {
    const { scheduler, advanceWorld } = world([{ at: { kind: 'offset', ms: 0 }, type: 'slow_io', every_ms: 1000 }], {
      historyLimit: 50,
      maxActiveEffects: 10,
    });
    advanceWorld(100_000);
    const history = scheduler.history();
    expect(history).toHaveLength(50);
    expect(history.at(-1)!.seq).toBeGreaterThan(150);
    expect(scheduler.activeEffects()).toHaveLength(10);
    expect(history.some((entry) => entry.reason === 'capacity')).toBe(true);
  });

  it('a throwing listener does not stop the schedule', () => {
    const errors: unknown[] = [];
    const { scheduler, advanceWorld } = world([CHAOS[3]!], {
      listener: () => {
        throw new Error('boom');
      },
      onListenerError: (error) => errors.push(error),
    });
    advanceWorld(2 * MIN);
    expect(scheduler.history().length).toBeGreaterThan(3);
    expect(errors).toHaveLength(scheduler.history().length);
  });

  it('a snapshot taken mid-run continues identically', () => {
    const first = world(CHAOS, { seed: 5 });
    first.advanceWorld(7 * MIN + 12_345);
    first.scheduler.inject({ type: 'memory_pressure', value: 90 });
    const clockState = JSON.parse(JSON.stringify(first.clock.state()));
    const state = JSON.parse(JSON.stringify(first.scheduler.state()));
    first.scheduler.stop();

    const time = new ManualTime(0);
    const clock = WorldClock.fromState(clockState, { realTime: time, timers: time });
    const restored = ChaosScheduler.fromState(CHAOS, state, clock);
    restored.start();
    time.advance((20 * MIN - 7 * MIN - 12_345) / clock.timeScale);

    const reference = world(CHAOS, { seed: 5 });
    reference.advanceWorld(7 * MIN + 12_345);
    reference.scheduler.inject({ type: 'memory_pressure', value: 90 });
    reference.advanceWorld(20 * MIN - 7 * MIN - 12_345);
    expect(decisions(restored.history())).toEqual(decisions(reference.scheduler.history()));
    expect(restored.activeEffects()).toEqual(reference.scheduler.activeEffects());

    expect(() => ChaosScheduler.fromState(CHAOS.slice(1), state, clock)).toThrow(/spec_count/);
    expect(() => ChaosScheduler.fromState(CHAOS, { ...state, version: 2 }, clock)).toThrow(/version/);
  });

  it('fires on real timers too, and the history shows how late (loosely checked)', async () => {
    const clock = new WorldClock({ timeScale: 60 });
    const scheduler = new ChaosScheduler(
      [{ at: { kind: 'offset', ms: 3000 }, type: 'cpu_spike', value: 80, every_ms: 3000, duration_ms: 1500 }],
      WorldRandom.fromSeed(1),
      clock,
    );
    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // 18 s of world time
    scheduler.stop();
    const fired = scheduler.history().filter((entry) => entry.kind === 'fired');
    expect(fired.length).toBeGreaterThanOrEqual(3);
    for (const entry of fired) {
      expect(entry.fired_world_ms).toBeGreaterThanOrEqual(entry.world_ms);
      expect(entry.late_real_ms).toBeGreaterThanOrEqual(0);
    }
  });
});
