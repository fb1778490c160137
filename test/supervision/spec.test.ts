/**
 * The supervision schemas: OTP's defaults, our backoff defaults, and every refusal,
 * each naming the child at fault.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  Backoff,
  backoffOf,
  ChildSpec,
  flagsFromSpawn,
  RestartPolicy,
  RestartType,
  restartPolicyFromType,
  restartTypeFromPolicy,
  Strategy,
  SupervisorFlags,
  SupervisorSpec,
  type SupervisorSpecInput,
  shutdownOf,
} from '../../src/supervision/index.js';

const DEFAULT_BACKOFF = { initial_ms: 100, max_ms: 30_000, factor: 2, jitter: 0.2, reset_after_ms: 60_000 };

/** The issues of a value the schema must refuse. */
function issuesOf(schema: z.ZodType, value: unknown): z.core.$ZodIssue[] {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  if (result.success) throw new Error('unreachable');
  return result.error.issues;
}

/** The single issue a spec is refused with. */
function refusal(spec: SupervisorSpecInput): z.core.$ZodIssue {
  const issues = issuesOf(SupervisorSpec, spec);
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

describe('defaults', () => {
  it('has the three OTP restart types and four strategies', () => {
    expect(RestartType.options).toEqual(['permanent', 'transient', 'temporary']);
    expect(Strategy.options).toEqual(['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one']);
  });

  it('fills every backoff field', () => {
    expect(Backoff.parse({})).toEqual(DEFAULT_BACKOFF);
  });

  it('keeps given backoff fields and defaults the rest', () => {
    expect(Backoff.parse({ initial_ms: 0 })).toEqual({ ...DEFAULT_BACKOFF, initial_ms: 0 });
  });

  it('makes a child a permanent, non-significant worker with no shutdown or backoff of its own', () => {
    expect(ChildSpec.parse({ id: 'db' })).toEqual({ id: 'db', type: 'worker', restart: 'permanent', significant: false });
  });

  it('fills a child backoff given in part', () => {
    expect(ChildSpec.parse({ id: 'db', backoff: { max_ms: 500 } }).backoff).toEqual({ ...DEFAULT_BACKOFF, max_ms: 500 });
  });

  it('uses OTP flags: one_for_one, 1 restart per 5 s, auto_shutdown never, default backoff', () => {
    expect(SupervisorFlags.parse({})).toEqual({
      strategy: 'one_for_one',
      intensity: 1,
      period: 5,
      auto_shutdown: 'never',
      backoff: DEFAULT_BACKOFF,
    });
  });

  it('parses a spec with flags and child defaults filled', () => {
    const spec = SupervisorSpec.parse({ children: [{ id: 'a' }, { id: 'b', type: 'supervisor' }] });
    expect(spec.strategy).toBe('one_for_one');
    expect(spec.backoff).toEqual(DEFAULT_BACKOFF);
    expect(spec.children.map((c) => [c.id, c.type, c.restart])).toEqual([
      ['a', 'worker', 'permanent'],
      ['b', 'supervisor', 'permanent'],
    ]);
  });

  it('accepts a supervisor with no children', () => {
    expect(SupervisorSpec.parse({ children: [] }).children).toEqual([]);
  });
});

describe('shutdownOf', () => {
  it('gives a worker 5000 ms when absent', () => {
    expect(shutdownOf(ChildSpec.parse({ id: 'w' }))).toBe(5000);
  });

  it("gives a supervisor 'infinity' when absent", () => {
    expect(shutdownOf(ChildSpec.parse({ id: 's', type: 'supervisor' }))).toBe('infinity');
  });

  it.each([['brutal_kill'], ['infinity'], [0], [250]] as const)('keeps an explicit %s', (shutdown) => {
    expect(shutdownOf(ChildSpec.parse({ id: 'w', shutdown }))).toBe(shutdown);
  });
});

describe('backoffOf', () => {
  it("prefers the child's own backoff, else the supervisor's", () => {
    const flags = SupervisorFlags.parse({ backoff: { initial_ms: 7 } });
    expect(backoffOf(ChildSpec.parse({ id: 'a' }), flags).initial_ms).toBe(7);
    expect(backoffOf(ChildSpec.parse({ id: 'a', backoff: { initial_ms: 0 } }), flags).initial_ms).toBe(0);
  });
});

describe('field refusals', () => {
  it.each([
    [{ jitter: 1.5 }, 'jitter'],
    [{ jitter: -0.1 }, 'jitter'],
    [{ factor: 0.5 }, 'factor'],
    [{ initial_ms: -1 }, 'initial_ms'],
    [{ initial_ms: 1.5 }, 'initial_ms'],
    [{ max_ms: -1 }, 'max_ms'],
    [{ reset_after_ms: -1 }, 'reset_after_ms'],
    [{ initial_ms: 60_000 }, 'initial_ms'],
  ])('refuses backoff %o at %s', (input, field) => {
    const issues = issuesOf(Backoff, input);
    expect(issues[0]!.path).toEqual([field]);
  });

  it('says initial_ms above max_ms is the problem', () => {
    expect(issuesOf(Backoff, { initial_ms: 10, max_ms: 5 })[0]!.message).toMatch(/initial_ms <= backoff\.max_ms/);
  });

  it.each([
    [{ id: '' }, 'id'],
    [{}, 'id'],
    [{ id: 'a', restart: 'sometimes' }, 'restart'],
    [{ id: 'a', type: 'daemon' }, 'type'],
    [{ id: 'a', shutdown: -1 }, 'shutdown'],
    [{ id: 'a', shutdown: 1.5 }, 'shutdown'],
    [{ id: 'a', shutdown: 'forever' }, 'shutdown'],
  ])('refuses child %o at %s', (input, field) => {
    expect(issuesOf(ChildSpec, input)[0]!.path).toEqual([field]);
  });

  it.each([
    [{ intensity: -1 }, 'intensity'],
    [{ intensity: 1.5 }, 'intensity'],
    [{ period: 0 }, 'period'],
    [{ period: -5 }, 'period'],
    [{ strategy: 'all_for_one' }, 'strategy'],
    [{ auto_shutdown: 'sometimes' }, 'auto_shutdown'],
  ])('refuses flags %o at %s', (input, field) => {
    expect(issuesOf(SupervisorFlags, input)[0]!.path).toEqual([field]);
  });
});

describe('spec refusals name the child', () => {
  it('refuses a duplicate child id', () => {
    const issue = refusal({ children: [{ id: 'db' }, { id: 'web' }, { id: 'db' }] });
    expect(issue.message).toContain('child "db"');
    expect(issue.message).toMatch(/duplicate id.*children\[0\]/);
    expect(issue.path).toEqual(['children', 2, 'id']);
  });

  it('refuses significant: true on a permanent child', () => {
    const issue = refusal({ auto_shutdown: 'any_significant', children: [{ id: 'job', significant: true }] });
    expect(issue.message).toContain('child "job"');
    expect(issue.message).toMatch(/permanent/);
    expect(issue.path).toEqual(['children', 0, 'significant']);
  });

  it('refuses a significant child when auto_shutdown is never', () => {
    const issue = refusal({ children: [{ id: 'ok' }, { id: 'job', restart: 'transient', significant: true }] });
    expect(issue.message).toContain('child "job"');
    expect(issue.message).toMatch(/auto_shutdown/);
    expect(issue.path).toEqual(['children', 1, 'significant']);
  });

  it('reports both problems of a significant permanent child under never', () => {
    const issues = issuesOf(SupervisorSpec, { children: [{ id: 'job', significant: true }] });
    expect(issues.map((i) => i.message)).toEqual([expect.stringMatching(/"job".*permanent/), expect.stringMatching(/"job".*never/)]);
  });

  it('accepts significant transient and temporary children under any_significant and all_significant', () => {
    for (const auto_shutdown of ['any_significant', 'all_significant'] as const) {
      const children = [
        { id: 'a', restart: 'transient', significant: true },
        { id: 'b', restart: 'temporary', significant: true },
      ] as const;
      expect(SupervisorSpec.safeParse({ auto_shutdown, children }).success).toBe(true);
    }
  });

  it('refuses simple_one_for_one with more than one child spec, naming them', () => {
    const issue = refusal({ strategy: 'simple_one_for_one', children: [{ id: 'tpl' }, { id: 'extra' }] });
    expect(issue.message).toMatch(/exactly one child spec/);
    expect(issue.message).toContain('"tpl"');
    expect(issue.message).toContain('"extra"');
    expect(issue.path).toEqual(['children']);
  });

  it('refuses simple_one_for_one with no template', () => {
    expect(refusal({ strategy: 'simple_one_for_one', children: [] }).message).toMatch(/exactly one child spec.*none/);
  });

  it('accepts simple_one_for_one with one template', () => {
    expect(SupervisorSpec.safeParse({ strategy: 'simple_one_for_one', children: [{ id: 'agent' }] }).success).toBe(true);
  });

  it.each([[5000], ['brutal_kill'], [0]] as const)('refuses a supervisor child with shutdown %s', (shutdown) => {
    const issue = refusal({ children: [{ id: 'w' }, { id: 'sub', type: 'supervisor', shutdown }] });
    expect(issue.message).toContain('child "sub"');
    expect(issue.message).toMatch(/infinity/);
    expect(issue.path).toEqual(['children', 1, 'shutdown']);
  });

  it("accepts a supervisor child with shutdown 'infinity' or none", () => {
    const children = [
      { id: 'a', type: 'supervisor', shutdown: 'infinity' },
      { id: 'b', type: 'supervisor' },
    ] as const;
    expect(SupervisorSpec.safeParse({ children }).success).toBe(true);
  });

  it('reports a bad child field before any cross-child rule', () => {
    const issues = issuesOf(SupervisorSpec, { children: [{ id: 'a', shutdown: -1 }] });
    expect(issues[0]!.path).toEqual(['children', 0, 'shutdown']);
  });
});

describe('wire mapping', () => {
  it.each([
    ['always', 'permanent'],
    ['on-failure', 'transient'],
    ['never', 'temporary'],
  ] as const)('maps restart_policy %s to %s and back', (policy, type) => {
    expect(restartTypeFromPolicy(policy)).toBe(type);
    expect(restartPolicyFromType(type)).toBe(policy);
  });

  it('round-trips every policy and every type', () => {
    for (const policy of RestartPolicy.options) expect(restartPolicyFromType(restartTypeFromPolicy(policy))).toBe(policy);
    for (const type of RestartType.options) expect(restartTypeFromPolicy(restartPolicyFromType(type))).toBe(type);
  });

  it('defaults SPAWN limits to 5 restarts per 300 s', () => {
    expect(flagsFromSpawn()).toEqual({ intensity: 5, period: 300 });
    expect(flagsFromSpawn({})).toEqual({ intensity: 5, period: 300 });
  });

  it('maps max_restarts to intensity and restart_window to period', () => {
    expect(flagsFromSpawn({ max_restarts: 0, restart_window: 1.5 })).toEqual({ intensity: 0, period: 1.5 });
    expect(flagsFromSpawn({ max_restarts: 3 })).toEqual({ intensity: 3, period: 300 });
  });

  it('ignores the other SPAWN fields', () => {
    const request = { command: 'agent.py', restart_policy: 'always', restart_window: 60 } as { restart_window: number };
    expect(flagsFromSpawn(request)).toEqual({ intensity: 5, period: 60 });
  });

  it.each([[{ max_restarts: -1 }], [{ max_restarts: 2.5 }], [{ restart_window: 0 }]])('refuses %o', (input) => {
    expect(() => flagsFromSpawn(input)).toThrow();
  });

  it('gives flags the spec accepts', () => {
    expect(SupervisorFlags.parse(flagsFromSpawn({ max_restarts: 2, restart_window: 10 }))).toMatchObject({ intensity: 2, period: 10 });
  });
});
