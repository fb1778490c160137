/** The subtask graph check: unique keys, known dependencies, no self-dependency, cycles named. */
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/protocol/errors.js';
import { checkDag } from '../../src/tasks/dag.js';
import { backoffMs, hasRetriesLeft, pickAgent } from '../../src/tasks/retry.js';

function refused(nodes: { key: string; depends_on: string[] }[]): KernelError {
  try {
    checkDag(nodes);
  } catch (error) {
    if (error instanceof KernelError) return error;
    throw error;
  }
  throw new Error('expected checkDag to refuse');
}

describe('checkDag', () => {
  it('accepts a diamond', () => {
    expect(() =>
      checkDag([
        { key: 'a', depends_on: [] },
        { key: 'b', depends_on: ['a'] },
        { key: 'c', depends_on: ['a'] },
        { key: 'd', depends_on: ['b', 'c'] },
      ]),
    ).not.toThrow();
  });

  it('names the cycle and the field', () => {
    const error = refused([
      { key: 'x', depends_on: [] },
      { key: 'a', depends_on: ['b'] },
      { key: 'b', depends_on: ['a'] },
    ]);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toBe('subtasks[1].depends_on: cycle a → b → a');
  });

  it('finds a long cycle without recursing', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, depends_on: [`k${(i + 1) % 1000}`] }));
    expect(refused(nodes).message).toMatch(/cycle k0 → k1 → .* → k999 → k0$/);
  });

  it('refuses self-dependency, unknown keys, duplicates', () => {
    expect(refused([{ key: 'a', depends_on: ['a'] }]).message).toBe('subtasks[0].depends_on: "a" depends on itself');
    expect(refused([{ key: 'a', depends_on: ['zz'] }]).message).toMatch(/subtasks\[0\]\.depends_on: .*no subtask "zz"/);
    expect(
      refused([
        { key: 'a', depends_on: [] },
        { key: 'a', depends_on: [] },
      ]).message,
    ).toMatch(/subtasks\[1\]\.key: expected a unique key/);
  });
});

describe('retry arithmetic', () => {
  const policy = { max_retries: 2, backoff_ms: 100, max_backoff_ms: 250, reassign: true };
  it('doubles the backoff up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n))).toEqual([100, 200, 250, 250]);
    expect(backoffMs(policy, 10_000)).toBe(250);
  });
  it('allows 1 + max_retries attempts', () => {
    expect(hasRetriesLeft(policy, 2)).toBe(true);
    expect(hasRetriesLeft(policy, 3)).toBe(false);
  });
  it('picks the least loaded, round-robin, avoiding the agent that failed', () => {
    const load = (id: number) => (id === 2 ? 1 : 0);
    expect(pickAgent([1, 2, 3], load, 0, null)).toEqual({ agentId: 1, cursor: 1 });
    expect(pickAgent([1, 2, 3], load, 1, null)).toEqual({ agentId: 3, cursor: 3 });
    expect(pickAgent([1, 3], () => 0, 0, 1)?.agentId).toBe(3);
    expect(pickAgent([1], () => 0, 0, 1)?.agentId).toBe(1);
    expect(pickAgent([], () => 0, 0, null)).toBeUndefined();
  });
});
