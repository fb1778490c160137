/**
 * The Quotas module on its own: windows, refusals, holds, the LLM rate of the
 * permissions, RESOURCE_WARNING, and what happens when an agent ends. Time is a
 * stepped clock (`now`), so no test waits for a window to pass except the hold tests,
 * whose windows are a few milliseconds long.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type AgentRecord, AgentRegistry } from '../../src/agents/registry.js';
import { EventBus } from '../../src/kernel/events.js';
import { KernelError } from '../../src/protocol/errors.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { PRESETS } from '../../src/protocol/schemas/permissions.js';
import { Quotas, type Suspender } from '../../src/quotas/quotas.js';
import { ResourceWarnings } from '../../src/resources/warnings.js';
import { until } from '../agents/support.js';

function setup(options: { suspender?: Suspender; maxHoldMs?: number; maxHeldCalls?: number; realTime?: boolean } = {}) {
  const registry = new AgentRegistry();
  const bus = new EventBus(pino({ level: 'silent' }));
  const events: KernelEvent[] = [];
  bus.on((event) => events.push(event));
  const warnings = new ResourceWarnings({ bus, registry });
  const clock = { now: 1_000_000 };
  const { realTime, ...rest } = options;
  const quotas = new Quotas({ bus, registry, warnings, ...(realTime ? {} : { now: () => clock.now }), ...rest });
  const agent = (kind: 'client' | 'process' = 'client') => registry.create({ kind, level: 'standard', cwd: '/' });
  return { registry, bus, events, warnings, clock, quotas, agent };
}

function refused(run: () => unknown): KernelError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).code).toBe('QUOTA_EXCEEDED');
    return error as KernelError;
  }
  throw new Error('expected QUOTA_EXCEEDED');
}

/** Warnings are emitted a microtask after their source. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Quotas', () => {
  it('admits up to the limit, then refuses naming the resource, and admits again in the next window', () => {
    const { quotas, clock, agent } = setup();
    const a = agent();
    quotas.set(a.id, { llm_tokens: { limit: 100, window_s: 60, on_exceed: 'refuse' } });
    quotas.charge(a, 'llm_tokens', 60);
    quotas.charge(a, 'llm_tokens', 40);
    const error = refused(() => quotas.charge(a, 'llm_tokens', 1));
    expect(error.message).toMatch(/llm_tokens quota of agent \d+ is spent: 100 of 100/);
    expect(error.details).toMatchObject({ resource: 'llm_tokens', limit: 100, used: 100, window_s: 60, resets_at: 1_060_000 });
    // A refused charge counts nothing.
    expect(quotas.view(a.id).llm_tokens?.used).toBe(100);
    clock.now += 60_000;
    expect(quotas.view(a.id).llm_tokens).toMatchObject({ used: 0, resets_at: 1_120_000 });
    quotas.charge(a, 'llm_tokens', 100);
  });

  it('windows stay aligned to when the quota was set, however long the agent was idle', () => {
    const { quotas, clock, agent } = setup();
    const a = agent();
    quotas.set(a.id, { syscalls: { limit: 1, window_s: 10, on_exceed: 'refuse' } });
    clock.now += 35_500;
    quotas.charge(a, 'syscalls');
    expect(quotas.view(a.id).syscalls).toMatchObject({ used: 1, resets_at: 1_000_000 + 40_000 });
  });

  it('check admits without counting; record counts afterwards and never refuses', () => {
    const { quotas, agent } = setup();
    const a = agent();
    quotas.set(a.id, { llm_tokens: { limit: 10, window_s: 60, on_exceed: 'refuse' } });
    quotas.check(a, 'llm_tokens');
    quotas.record(a, 'llm_tokens', 25);
    expect(quotas.view(a.id).llm_tokens?.used).toBe(25);
    refused(() => quotas.check(a, 'llm_tokens'));
  });

  it('an agent without quotas is never refused, and a resource without one is not either', () => {
    const { quotas, agent } = setup();
    const a = agent();
    expect(quotas.charge(a, 'bytes_written', 1e12)).toBeUndefined();
    quotas.set(a.id, { bytes_read: { limit: 1, window_s: 60, on_exceed: 'refuse' } });
    expect(quotas.charge(a, 'bytes_written', 1e12)).toBeUndefined();
    expect(quotas.limits(a.id, 'bytes_read')).toBe(true);
    expect(quotas.limits(a.id, 'bytes_written')).toBe(false);
  });

  it('SET_QUOTA merges: null removes one resource, an unchanged rule keeps its use, a changed one starts a new window', () => {
    const { quotas, clock, agent } = setup();
    const a = agent();
    quotas.set(a.id, {
      syscalls: { limit: 5, window_s: 60, on_exceed: 'refuse' },
      bytes_read: { limit: 5, window_s: 60, on_exceed: 'refuse' },
    });
    quotas.charge(a, 'syscalls', 3);
    quotas.charge(a, 'bytes_read', 3);
    clock.now += 1000;
    const view = quotas.set(a.id, { syscalls: { limit: 5, window_s: 60, on_exceed: 'refuse' }, bytes_read: null });
    expect(Object.keys(view)).toEqual(['syscalls']);
    expect(view.syscalls?.used).toBe(3);
    const changed = quotas.set(a.id, { syscalls: { limit: 6, window_s: 60, on_exceed: 'refuse' } });
    expect(changed.syscalls).toMatchObject({ used: 0, limit: 6, resets_at: clock.now + 60_000 });
  });

  it('llm_calls is bounded by permissions.max_llm_calls_per_min too, whatever SET_QUOTA says', () => {
    const { quotas, clock, agent } = setup();
    const a = agent();
    a.permissions = { ...PRESETS.standard, max_llm_calls_per_min: 2 };
    quotas.charge(a, 'llm_calls');
    quotas.charge(a, 'llm_calls');
    const error = refused(() => quotas.charge(a, 'llm_calls'));
    expect(error.message).toContain('max_llm_calls_per_min');
    expect(error.details).toMatchObject({ resource: 'llm_calls', limit: 2, window_s: 60 });
    clock.now += 60_000;
    quotas.charge(a, 'llm_calls');
    // Calls reported afterwards (LLM_REPORT) count toward the rate as well.
    quotas.record(a, 'llm_calls', 1);
    refused(() => quotas.check(a, 'llm_calls'));
  });

  it('RESOURCE_WARNING at 80 % of a quota, once per window; the next window re-arms it', async () => {
    const { quotas, clock, agent, events } = setup();
    const a = agent();
    quotas.set(a.id, { bytes_written: { limit: 100, window_s: 60, on_exceed: 'refuse' } });
    quotas.charge(a, 'bytes_written', 79);
    await settle();
    expect(events.filter((e) => e.type === 'RESOURCE_WARNING')).toHaveLength(0);
    quotas.charge(a, 'bytes_written', 1);
    quotas.charge(a, 'bytes_written', 10);
    await settle();
    const warned = events.filter((e) => e.type === 'RESOURCE_WARNING');
    expect(warned).toHaveLength(1);
    expect(warned[0]?.data).toMatchObject({ agent_id: a.id, resource: 'bytes_written', used: 80, limit: 100, percent: 80 });
    clock.now += 60_000;
    quotas.charge(a, 'bytes_written', 85);
    await settle();
    expect(events.filter((e) => e.type === 'RESOURCE_WARNING')).toHaveLength(2);
  });

  it('suspend holds a client call until the window restarts, then admits it; one QUOTA_EXCEEDED per suspension', async () => {
    // Real time here: a hold is a timer until the window's end.
    const { quotas, agent, events } = setup({ maxHoldMs: 60_000, realTime: true });
    const b = agent();
    quotas.set(b.id, { syscalls: { limit: 1, window_s: 1, on_exceed: 'suspend' } });
    quotas.charge(b, 'syscalls');
    const first = quotas.charge(b, 'syscalls', 1, { op: 'NOOP' });
    expect(first).toBeInstanceOf(Promise);
    const suspended = events.filter((e) => e.type === 'QUOTA_EXCEEDED');
    expect(suspended).toHaveLength(1);
    expect(suspended[0]?.data).toMatchObject({ agent_id: b.id, op: 'NOOP', resource: 'syscalls', action: 'suspend' });
    const resumesAt = suspended[0]?.data.resumes_at as number;
    await first;
    // Admitted in the next window, and counted there.
    expect(quotas.view(b.id).syscalls).toMatchObject({ used: 1, resets_at: resumesAt + 1000 });
  });

  it('suspend refuses instead when the restart is beyond maxHoldMs, when too many calls are held, or a use exceeds the limit itself', async () => {
    const { quotas, agent } = setup({ maxHoldMs: 5_000, maxHeldCalls: 1 });
    const a = agent();
    quotas.set(a.id, { syscalls: { limit: 1, window_s: 3600, on_exceed: 'suspend' } });
    quotas.charge(a, 'syscalls');
    await expect(quotas.charge(a, 'syscalls')).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });

    const b = agent();
    quotas.set(b.id, { bytes_read: { limit: 10, window_s: 2, on_exceed: 'suspend' } });
    refused(() => quotas.charge(b, 'bytes_read', 11));
    quotas.charge(b, 'bytes_read', 10);
    const held = quotas.charge(b, 'bytes_read', 1);
    await expect(quotas.charge(b, 'bytes_read', 1)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    quotas.set(b.id, { bytes_read: null });
    await held;
  });

  it('a held call is given up when its connection closes or its agent ends', async () => {
    const { quotas, agent, registry } = setup({ maxHoldMs: 60_000 });
    const a = agent();
    quotas.set(a.id, { syscalls: { limit: 1, window_s: 30, on_exceed: 'suspend' } });
    quotas.charge(a, 'syscalls');
    const closed = new AbortController();
    const byClose = quotas.charge(a, 'syscalls', 1, { signal: closed.signal });
    const byEnd = quotas.charge(a, 'syscalls', 1);
    closed.abort();
    await expect(byClose).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringContaining('given up') });
    registry.remove(a.id);
    await expect(byEnd).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: expect.stringContaining('has ended') });
    expect(quotas.view(a.id)).toEqual({});
  });

  it('suspend pauses a process agent until the window restarts, then resumes it', async () => {
    const calls: string[] = [];
    const suspender: Suspender = {
      pause: (agent: AgentRecord) => {
        calls.push(`pause ${agent.id}`);
        return true;
      },
      resume: (agent: AgentRecord) => {
        calls.push(`resume ${agent.id}`);
      },
    };
    const { quotas, agent } = setup({ suspender, realTime: true });
    const p = agent('process');
    quotas.set(p.id, { llm_calls: { limit: 1, window_s: 1, on_exceed: 'suspend' } });
    quotas.charge(p, 'llm_calls');
    const held = quotas.charge(p, 'llm_calls');
    expect(calls).toEqual([`pause ${p.id}`]);
    await held;
    await until(() => calls.length === 2, 'the resume at the window restart');
    expect(calls).toEqual([`pause ${p.id}`, `resume ${p.id}`]);
  });
});
