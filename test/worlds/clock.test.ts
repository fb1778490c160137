/** The world clock: scaled time, pause/resume, skew for agents only, exact snapshots. */
import { describe, expect, it } from 'vitest';
import { ManualTime } from '../../src/worlds/chaos/manual-time.js';
import { type ClockChange, WorldClock } from '../../src/worlds/clock.js';

const clockAt = (timeScale = 1) => {
  const time = new ManualTime(1_000_000);
  return { time, clock: new WorldClock({ timeScale, realTime: time, timers: time }) };
};

describe('WorldClock', () => {
  it('starts at world time 0 and advances at time_scale × real time', () => {
    const { time, clock } = clockAt(60);
    expect(clock.now()).toBe(0);
    time.advance(1000);
    expect(clock.now()).toBe(60_000);
    expect(clock.realDelayUntil(120_000)).toBe(1000);
    expect(clock.realDelayUntil(30_000)).toBe(0);
  });

  it('stands still while paused and continues from there on resume', () => {
    const { time, clock } = clockAt(2);
    time.advance(100);
    clock.pause();
    time.advance(5000);
    expect(clock.now()).toBe(200);
    expect(clock.realDelayUntil(300)).toBe(Number.POSITIVE_INFINITY);
    clock.resume();
    time.advance(50);
    expect(clock.now()).toBe(300);
  });

  it('a new time_scale applies from now on; elapsed world time is kept', () => {
    const { time, clock } = clockAt(1);
    time.advance(1000);
    clock.setTimeScale(10);
    time.advance(1000);
    expect(clock.now()).toBe(11_000);
    clock.pause();
    clock.setTimeScale(100); // changing the scale while paused moves nothing
    time.advance(1000);
    expect(clock.now()).toBe(11_000);
    clock.resume();
    time.advance(10);
    expect(clock.now()).toBe(12_000);
  });

  it('clock_skew shifts what agents read, not the scheduling time', () => {
    const { time, clock } = clockAt(1);
    time.advance(500);
    clock.setSkew(-3_600_000);
    expect(clock.now()).toBe(500);
    expect(clock.agentNow()).toBe(500 - 3_600_000);
    clock.setSkew(0);
    expect(clock.agentNow()).toBe(500);
  });

  it('tells subscribers of each change, once, until they unsubscribe', () => {
    const { clock } = clockAt(1);
    const changes: ClockChange[] = [];
    const off = clock.onChange((change) => changes.push(change));
    clock.pause();
    clock.pause();
    clock.resume();
    clock.setTimeScale(1);
    clock.setTimeScale(5);
    clock.setSkew(10);
    off();
    clock.setSkew(20);
    expect(changes).toEqual(['paused', 'resumed', 'time_scale', 'skew']);
  });

  it('a restored clock continues from the saved world time, scale, pause and skew', () => {
    const { time, clock } = clockAt(60);
    time.advance(2000);
    clock.setSkew(42);
    clock.pause();
    const state = JSON.parse(JSON.stringify(clock.state()));
    expect(state).toEqual({ world_ms: 120_000, time_scale: 60, paused: true, skew_ms: 42 });
    const later = new ManualTime(9_999_999);
    const restored = WorldClock.fromState(state, { realTime: later, timers: later });
    expect(restored.now()).toBe(120_000);
    expect(restored.agentNow()).toBe(120_042);
    restored.resume();
    later.advance(1000);
    expect(restored.now()).toBe(180_000);
  });

  it('refuses bad scales and states, naming the field', () => {
    expect(() => new WorldClock({ timeScale: 0 })).toThrow(/time_scale: expected time_scale > 0/);
    expect(() => new WorldClock({ timeScale: Number.POSITIVE_INFINITY })).toThrow(/time_scale/);
    expect(() => clockAt().clock.setSkew(Number.NaN)).toThrow(/skew_ms/);
    expect(() => WorldClock.fromState({ world_ms: -1, time_scale: 1, paused: false, skew_ms: 0 })).toThrow(/world_ms/);
    expect(() => WorldClock.fromState({ world_ms: 0, time_scale: 1, paused: 'no', skew_ms: 0 } as never)).toThrow(/paused/);
  });

  it('runs on real time by default', async () => {
    const clock = new WorldClock({ timeScale: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.now()).toBeGreaterThan(0);
  });
});
