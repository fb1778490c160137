/**
 * Maximum restart intensity: "more than intensity restarts within period" escalates,
 * with OTP's inclusive window edge (supervisor.erl add_restart keeps R >= Now - Period).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RestartIntensity, SupervisorFlags } from '../../src/supervision/index.js';

/** Record each time and collect the verdicts. */
function verdicts(window: RestartIntensity, times: readonly number[]): string[] {
  return times.map((t) => window.record(t));
}

describe('RestartIntensity', () => {
  it('OTP default (1 per 5 s): one restart is fine, a second within 5 s escalates', () => {
    const window = RestartIntensity.fromFlags(SupervisorFlags.parse({}));
    expect(verdicts(window, [0, 4_999])).toEqual(['ok', 'exceeded']);
  });

  it('counts a restart exactly one period ago (inclusive edge, as OTP)', () => {
    expect(verdicts(new RestartIntensity(1, 5_000), [0, 5_000])).toEqual(['ok', 'exceeded']);
  });

  it('forgets a restart just over one period ago', () => {
    const window = new RestartIntensity(1, 5_000);
    expect(verdicts(window, [0, 5_001])).toEqual(['ok', 'ok']);
    expect(window.count).toBe(1);
  });

  it('intensity 0: any restart exceeds', () => {
    const window = new RestartIntensity(0, 5_000);
    expect(window.record(0)).toBe('exceeded');
    window.reset();
    expect(window.record(1_000_000)).toBe('exceeded');
  });

  it('burst: intensity 5 allows 5 restarts in the same millisecond, not 6', () => {
    expect(verdicts(new RestartIntensity(5, 30_000), [0, 0, 0, 0, 0, 0])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'exceeded']);
  });

  it('sustained: 5 per 30 s runs forever at one restart every 6 s and a bit', () => {
    const window = new RestartIntensity(5, 30_000);
    const times = Array.from({ length: 200 }, (_, i) => i * 6_001);
    expect(verdicts(window, times).every((v) => v === 'ok')).toBe(true);
    expect(window.count).toBe(5);
  });

  it('sustained: exactly every 6 s puts 6 restarts in one inclusive 30 s window', () => {
    const times = [0, 6_000, 12_000, 18_000, 24_000, 30_000];
    expect(verdicts(new RestartIntensity(5, 30_000), times).at(-1)).toBe('exceeded');
  });

  it('same sustained rate, different burst: 1 per 6 s refuses two quick attempts that 5 per 30 s allows', () => {
    expect(verdicts(new RestartIntensity(1, 6_000), [0, 100])).toEqual(['ok', 'exceeded']);
    expect(verdicts(new RestartIntensity(5, 30_000), [0, 100])).toEqual(['ok', 'ok']);
  });

  it('a long period joins incidents far apart: 5 per hour gives up on one more restart 59 minutes later', () => {
    const times = [0, 1, 2, 3, 4, 59 * 60_000];
    expect(verdicts(new RestartIntensity(5, 3_600_000), times).at(-1)).toBe('exceeded');
  });

  it('counts what is inside the window and never holds more than intensity + 1', () => {
    const window = new RestartIntensity(2, 1_000);
    expect(window.count).toBe(0);
    window.record(0);
    window.record(10);
    expect(window.count).toBe(2);
    for (let i = 0; i < 10; i++) window.record(20 + i);
    expect(window.count).toBe(3);
    window.record(5_000);
    expect(window.count).toBe(1);
  });

  it('reset forgets every restart', () => {
    const window = new RestartIntensity(1, 5_000);
    window.record(0);
    window.reset();
    expect(window.count).toBe(0);
    expect(window.record(1)).toBe('ok');
  });

  it('a clock stepping back does not let restarts escape the window', () => {
    const window = new RestartIntensity(1, 5_000);
    window.record(10_000);
    expect(window.record(1_000)).toBe('exceeded');
  });

  it('fromFlags reads period in seconds', () => {
    const window = RestartIntensity.fromFlags({ intensity: 1, period: 0.5 });
    expect(verdicts(window, [0, 500, 1_001])).toEqual(['ok', 'exceeded', 'ok']);
  });

  it.each([
    [-1, 5_000],
    [1.5, 5_000],
    [1, 0],
    [1, -1],
    [1, Number.NaN],
    [1, Number.POSITIVE_INFINITY],
  ])('refuses intensity %s with period %s ms', (intensity, periodMs) => {
    expect(() => new RestartIntensity(intensity, periodMs)).toThrow(RangeError);
  });

  it('agrees with OTP add_restart (an unbounded list) on any non-decreasing times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.integer({ min: 0, max: 4_000 }), { maxLength: 60 }),
        (intensity, periodMs, gaps) => {
          const window = new RestartIntensity(intensity, periodMs);
          let restarts: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            restarts = [now, ...restarts.filter((r) => r >= now - periodMs)];
            const expected = restarts.length <= intensity ? 'ok' : 'exceeded';
            expect(window.record(now)).toBe(expected);
            expect(window.count).toBe(Math.min(restarts.length, intensity + 1));
          }
        },
      ),
    );
  });
});

describe('RestartIntensity.wouldExceed', () => {
  it('answers what record would say, without recording', () => {
    const window = new RestartIntensity(2, 1000);
    expect(window.wouldExceed(0)).toBe(false);
    window.record(0);
    window.record(100);
    expect(window.wouldExceed(200)).toBe(true);
    expect(window.count).toBe(2);
    expect(window.wouldExceed(1101)).toBe(false);
    expect(window.record(1101)).toBe('ok');
  });

  it('intensity 0: any restart exceeds', () => {
    expect(new RestartIntensity(0, 1000).wouldExceed(0)).toBe(true);
  });
});
