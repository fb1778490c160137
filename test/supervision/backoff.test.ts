/**
 * Restart backoff: bounded, growing before jitter, reset after a stable run, and off
 * entirely with initial_ms 0. Randomness is injected; properties run under fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, BackoffState, backoffDelay, baseDelay } from '../../src/supervision/index.js';
import { seededRandom } from './seeded-random.js';

const defaults = Backoff.parse({});
const middle = () => 0.5;

/** Any valid backoff, including initial_ms 0 and jitter at both ends. */
const anyBackoff = fc
  .record({
    initial_ms: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 })),
    span: fc.integer({ min: 0, max: 100_000 }),
    factor: fc.oneof(fc.constant(1), fc.double({ min: 1, max: 10, noNaN: true })),
    jitter: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
    reset_after_ms: fc.integer({ min: 0, max: 120_000 }),
  })
  .map(({ span, ...rest }) => Backoff.parse({ ...rest, max_ms: rest.initial_ms + span }));

const anyUnit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  it('doubles from 100 ms up to 30 s with the defaults and no jitter', () => {
    const delays = [0, 1, 2, 3, 8, 9, 50, 5000].map((attempt) => backoffDelay(attempt, defaults, middle));
    expect(delays).toEqual([100, 200, 400, 800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('moves the delay by up to ±jitter of itself', () => {
    expect(backoffDelay(0, defaults, () => 0)).toBe(80);
    expect(backoffDelay(0, defaults, () => 0.999_999_999)).toBe(119);
    expect(backoffDelay(20, defaults, () => 0)).toBe(24_000);
  });

  it('stays inside its bounds even when a generator misbehaves', () => {
    expect(backoffDelay(50, defaults, () => 1)).toBe(36_000);
    expect(backoffDelay(50, defaults, () => 7)).toBe(36_000);
    expect(backoffDelay(50, defaults, () => -3)).toBe(24_000);
  });

  it('initial_ms 0 means restart at once, at any attempt', () => {
    const none = Backoff.parse({ initial_ms: 0 });
    for (const attempt of [0, 1, 10, 10_000]) expect(backoffDelay(attempt, none, () => 0.99)).toBe(0);
  });

  it('survives attempts large enough to overflow factor^attempt', () => {
    expect(backoffDelay(100_000, defaults, middle)).toBe(30_000);
  });

  it.each([[-1], [0.5], [Number.NaN]])('refuses attempt %s', (attempt) => {
    expect(() => backoffDelay(attempt, defaults, middle)).toThrow(RangeError);
  });

  it('replays exactly with a seeded generator', () => {
    const run = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 12 }, (_, attempt) => backoffDelay(attempt, defaults, random));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('property: every delay is a whole number in [0, max_ms * (1 + jitter)]', () => {
    fc.assert(
      fc.property(anyBackoff, fc.integer({ min: 0, max: 2_000 }), anyUnit, (backoff, attempt, unit) => {
        const delay = backoffDelay(attempt, backoff, () => unit);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(backoff.max_ms * (1 + backoff.jitter));
      }),
    );
  });

  it('property: the same bounds hold under a seeded generator', () => {
    fc.assert(
      fc.property(anyBackoff, fc.integer(), (backoff, seed) => {
        const random = seededRandom(seed);
        for (let attempt = 0; attempt < 40; attempt++) {
          const delay = backoffDelay(attempt, backoff, random);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(backoff.max_ms * (1 + backoff.jitter));
        }
      }),
    );
  });

  it('property: the jittered delay stays within ±jitter of the base', () => {
    fc.assert(
      fc.property(anyBackoff, fc.integer({ min: 0, max: 200 }), anyUnit, (backoff, attempt, unit) => {
        const base = baseDelay(attempt, backoff);
        const delay = backoffDelay(attempt, backoff, () => unit);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - backoff.jitter)) - 1);
        expect(delay).toBeLessThanOrEqual(base * (1 + backoff.jitter));
      }),
    );
  });

  it('property: before jitter the delay never shrinks and never passes max_ms', () => {
    fc.assert(
      fc.property(anyBackoff, fc.integer({ min: 0, max: 2_000 }), (backoff, attempt) => {
        const here = baseDelay(attempt, backoff);
        expect(baseDelay(attempt + 1, backoff)).toBeGreaterThanOrEqual(here);
        expect(here).toBeLessThanOrEqual(backoff.max_ms);
        // With the generator at the middle there is no jitter, so the delay is monotone too.
        expect(backoffDelay(attempt + 1, backoff, middle)).toBeGreaterThanOrEqual(backoffDelay(attempt, backoff, middle));
      }),
    );
  });
});

describe('BackoffState', () => {
  it('grows with each quick failure', () => {
    const state = new BackoffState(defaults);
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      state.noteStarted(now);
      now += 1_000; // up for 1 s, well under reset_after_ms
      delays.push(state.next(now, middle));
    }
    expect(delays).toEqual([100, 200, 400, 800]);
  });

  it('resets after the child stayed up reset_after_ms, and not a millisecond before', () => {
    const state = new BackoffState(defaults);
    state.noteStarted(0);
    state.next(10, middle);
    state.noteStarted(20);
    expect(state.next(30, middle)).toBe(200);
    state.noteStarted(1_000);
    expect(state.next(1_000 + 59_999, middle)).toBe(400);
    state.noteStarted(100_000);
    expect(state.next(160_000, middle)).toBe(100);
    expect(state.attempt).toBe(1);
  });

  it('does not reset twice when the restarted child never came up', () => {
    const state = new BackoffState(defaults);
    state.noteStarted(0);
    state.next(1, middle);
    state.noteStarted(2);
    expect(state.next(100_000, middle)).toBe(100);
    // No noteStarted: the restart failed before the child was up.
    expect(state.next(200_000, middle)).toBe(200);
  });

  it('does not reset when the child was never noted as started', () => {
    const state = new BackoffState(defaults);
    expect([state.next(0, middle), state.next(1_000_000, middle)]).toEqual([100, 200]);
  });

  it('stops counting once the delay is at max_ms', () => {
    const state = new BackoffState(defaults);
    for (let i = 0; i < 1_000; i++) state.next(i, middle);
    expect(state.attempt).toBe(9);
    expect(state.next(1_000, middle)).toBe(30_000);
  });

  it('with initial_ms 0 always restarts at once and never counts', () => {
    const state = new BackoffState(Backoff.parse({ initial_ms: 0 }));
    for (let i = 0; i < 100; i++) expect(state.next(i, () => 0.9)).toBe(0);
    expect(state.attempt).toBe(0);
  });

  it('reset starts over', () => {
    const state = new BackoffState(defaults);
    state.next(0, middle);
    state.next(1, middle);
    state.reset();
    expect(state.next(2, middle)).toBe(100);
  });

  it('property: after a stable run the next delay is the first one again', () => {
    fc.assert(
      fc.property(
        anyBackoff,
        fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        anyUnit,
        (backoff, quickFailures, extraUptime, unit) => {
          const state = new BackoffState(backoff);
          let now = 0;
          for (const gap of quickFailures) {
            state.next(now, () => unit);
            now += gap;
          }
          state.noteStarted(now);
          now += backoff.reset_after_ms + extraUptime;
          expect(state.next(now, () => unit)).toBe(backoffDelay(0, backoff, () => unit));
        },
      ),
    );
  });

  it('property: a run shorter than reset_after_ms keeps the count', () => {
    fc.assert(
      fc.property(anyBackoff, fc.integer({ min: 1, max: 20 }), anyUnit, (backoff, failures, unit) => {
        fc.pre(backoff.reset_after_ms > 0);
        const state = new BackoffState(backoff);
        for (let i = 0; i < failures; i++) state.next(0, () => unit);
        const attempt = state.attempt;
        state.noteStarted(0);
        expect(state.next(backoff.reset_after_ms - 1, () => unit)).toBe(backoffDelay(attempt, backoff, () => unit));
      }),
    );
  });
});
