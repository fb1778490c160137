/**
 * The restart rules, row by row against OTP's supervisor doc (sup_princ.md: "Restart
 * Strategy" and `restart`), and the classification of an exit into OTP's reasons.
 */
import { describe, expect, it } from 'vitest';
import {
  affected,
  ExitReason,
  exitReasonOf,
  type RestartType,
  restartPlan,
  type Strategy,
  shouldRestart,
} from '../../src/supervision/index.js';

const normal: ExitReason = { kind: 'normal' };
const shutdown: ExitReason = { kind: 'shutdown' };
const crash: ExitReason = { kind: 'crash', exitCode: 1 };

describe('shouldRestart (OTP `restart`)', () => {
  it.each([
    // A permanent child process is always restarted.
    ['permanent', normal, true],
    ['permanent', shutdown, true],
    ['permanent', crash, true],
    // A transient child is restarted only on an exit reason other than normal or shutdown.
    ['transient', normal, false],
    ['transient', shutdown, false],
    ['transient', crash, true],
    // A temporary child process is never restarted.
    ['temporary', normal, false],
    ['temporary', shutdown, false],
    ['temporary', crash, false],
  ] as const)('%s child, %o exit: restart %s', (restart, reason, expected) => {
    expect(shouldRestart(restart, reason)).toBe(expected);
  });

  it('treats every crash alike for a transient child', () => {
    for (const reason of [{ kind: 'crash' }, { kind: 'crash', signal: 'SIGSEGV' }, { kind: 'crash', error: 'spawn ENOENT' }] as const) {
      expect(shouldRestart('transient', reason)).toBe(true);
    }
  });
});

const ids = ['a', 'b', 'c', 'd'] as const;

describe('affected (OTP restart strategies)', () => {
  it.each([
    // one_for_one: only that process is restarted.
    ['one_for_one', 1, [1]],
    ['simple_one_for_one', 1, [1]],
    // one_for_all: all child processes, including the terminated one.
    ['one_for_all', 1, [0, 1, 2, 3]],
    // rest_for_one: the terminated one and the ones after it in start order.
    ['rest_for_one', 1, [1, 2, 3]],
    ['rest_for_one', 0, [0, 1, 2, 3]],
    ['rest_for_one', 3, [3]],
    ['one_for_all', 3, [0, 1, 2, 3]],
    ['one_for_one', 0, [0]],
  ] as const)('%s with child %i failed: %o', (strategy, failedIndex, expected) => {
    expect(affected(strategy, ids, failedIndex)).toEqual(expected);
  });

  it('handles a lone child under every strategy', () => {
    for (const strategy of ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'] as const) {
      expect(affected(strategy, ['only'], 0)).toEqual([0]);
    }
  });

  it.each([[-1], [4], [1.5], [Number.NaN]])('refuses failedIndex %s', (failedIndex) => {
    expect(() => affected('one_for_one', ids, failedIndex)).toThrow(RangeError);
  });

  it('refuses any index when there are no children', () => {
    expect(() => affected('one_for_all', [], 0)).toThrow(RangeError);
  });
});

type Child = { id: string; restart: RestartType };
const mixed: Child[] = [
  { id: 'p0', restart: 'permanent' },
  { id: 'p1', restart: 'permanent' },
  { id: 'tmp2', restart: 'temporary' },
  { id: 'tr3', restart: 'transient' },
];

describe('restartPlan', () => {
  it.each([
    ['one_for_one', { stop: [], start: [1] }],
    ['simple_one_for_one', { stop: [], start: [1] }],
    // Siblings stop in reverse start order; the temporary one (2) is not started again;
    // the transient one (3), stopped by the supervisor, is.
    ['one_for_all', { stop: [3, 2, 0], start: [0, 1, 3] }],
    ['rest_for_one', { stop: [3, 2], start: [1, 3] }],
  ] as const)('%s after a permanent child crashes', (strategy, plan) => {
    expect(restartPlan(strategy, mixed, 1, crash)).toEqual(plan);
  });

  it('restarts a permanent child that exited normally, and its siblings as the strategy says', () => {
    expect(restartPlan('one_for_all', mixed, 0, normal)).toEqual({ stop: [3, 2, 1], start: [0, 1, 3] });
  });

  it('restarts a crashed transient child and applies the strategy', () => {
    expect(restartPlan('rest_for_one', mixed, 3, crash)).toEqual({ stop: [], start: [3] });
    expect(restartPlan('one_for_all', mixed, 3, crash)).toEqual({ stop: [2, 1, 0], start: [0, 1, 3] });
  });

  const strategies: Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
  it.each(strategies)('%s: a failed child not to be restarted leaves its siblings alone', (strategy) => {
    const empty = { stop: [], start: [] };
    expect(restartPlan(strategy, mixed, 3, normal)).toEqual(empty); // transient, normal
    expect(restartPlan(strategy, mixed, 3, shutdown)).toEqual(empty); // transient, shutdown
    expect(restartPlan(strategy, mixed, 2, crash)).toEqual(empty); // temporary, even crashed
  });

  it('never restarts a temporary sibling, wherever it sits', () => {
    const children: Child[] = [
      { id: 't0', restart: 'temporary' },
      { id: 'p1', restart: 'permanent' },
      { id: 't2', restart: 'temporary' },
    ];
    expect(restartPlan('one_for_all', children, 1, crash)).toEqual({ stop: [2, 0], start: [1] });
    expect(restartPlan('rest_for_one', children, 1, crash)).toEqual({ stop: [2], start: [1] });
  });

  it('starts in start order and stops in the reverse, on a longer list', () => {
    const children: Child[] = Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, restart: 'permanent' }));
    const plan = restartPlan('rest_for_one', children, 2, crash);
    expect(plan).toEqual({ stop: [5, 4, 3], start: [2, 3, 4, 5] });
  });

  it('refuses an index outside the children', () => {
    expect(() => restartPlan('one_for_one', mixed, 4, crash)).toThrow(RangeError);
  });
});

describe('exitReasonOf', () => {
  it.each([
    [{ exitCode: 0, stopRequested: false }, { kind: 'normal' }],
    [{ exitCode: 0, signal: null, stopRequested: false }, { kind: 'normal' }],
    [{ exitCode: 0, stopRequested: true }, { kind: 'shutdown' }],
    [{ exitCode: null, signal: 'SIGKILL', stopRequested: true }, { kind: 'shutdown' }],
    [{ exitCode: 143, signal: 'SIGTERM', stopRequested: true }, { kind: 'shutdown' }],
    [
      { exitCode: 1, stopRequested: false },
      { kind: 'crash', exitCode: 1 },
    ],
    [
      { exitCode: null, signal: 'SIGSEGV', stopRequested: false },
      { kind: 'crash', signal: 'SIGSEGV' },
    ],
    // A KILL nobody in the tree asked for (the OOM killer, say) is a crash.
    [
      { exitCode: null, signal: 'SIGKILL', stopRequested: false },
      { kind: 'crash', signal: 'SIGKILL' },
    ],
    [
      { exitCode: 0, error: 'heartbeat lost', stopRequested: false },
      { kind: 'crash', exitCode: 0, error: 'heartbeat lost' },
    ],
    [
      { error: 'spawn ENOENT', stopRequested: false },
      { kind: 'crash', error: 'spawn ENOENT' },
    ],
  ] as const)('%o is %o', (exit, reason) => {
    expect(exitReasonOf(exit)).toEqual(reason);
  });

  it('produces values the ExitReason schema accepts', () => {
    expect(ExitReason.parse(exitReasonOf({ exitCode: 2, signal: 'SIGABRT', stopRequested: false }))).toEqual({
      kind: 'crash',
      exitCode: 2,
      signal: 'SIGABRT',
    });
  });

  it('refuses an unknown kind', () => {
    expect(ExitReason.safeParse({ kind: 'killed' }).success).toBe(false);
  });
});
