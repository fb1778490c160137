/**
 * Events over the real Unix socket: SUBSCRIBE, UNSUBSCRIBE, POLL_EVENTS (long poll),
 * EMIT, lifecycle and SYSCALL_BLOCKED events at their source, bounded queues with a
 * dropped counter, and cleanup when a subscriber disconnects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { failure, script, sleep, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

interface Poll {
  success: true;
  events: KernelEvent[];
  count: number;
  dropped: number;
}

const QUEUE = 5;
let kernel: TestKernel;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null });
  clients.push(c);
  return c;
}

const poll = async (c: AgentOSClient, payload: Record<string, unknown> = {}) => (await c.call('POLL_EVENTS', payload)) as Poll;

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted', eventQueueSize: QUEUE });
  dir = await mkdtemp(join(tmpdir(), 'agentos-events-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  await until(() => kernel.subscriptions.size === 0 && kernel.agents().length === 0, 'every subscriber of the test to be gone');
});

afterAll(async () => {
  await kernel?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('SUBSCRIBE and POLL_EVENTS', () => {
  it('subscribes (also with the "events" alias), polls what was emitted, and reports the subscribed types', async () => {
    const c = await client();
    expect(await c.call('SUBSCRIBE', { event_types: ['CUSTOM'] })).toMatchObject({ success: true, subscribed: ['CUSTOM'] });
    const reply = (await c.call('SUBSCRIBE', { events: 'AGENT_EXITED' })) as { subscribed: string[]; push: boolean };
    expect(reply.subscribed.sort()).toEqual(['AGENT_EXITED', 'CUSTOM']);
    expect(reply.push).toBe(false);
    kernel.events.emit('CUSTOM', { n: 1 }, null);
    kernel.events.emit('AGENT_PAUSED', { agent_id: 99 }, 99); // not subscribed
    const got = await poll(c);
    expect(got.count).toBe(1);
    expect(got.dropped).toBe(0);
    expect(got.events[0]).toMatchObject({ type: 'CUSTOM', data: { n: 1 }, source_agent_id: null });
    expect(typeof got.events[0]?.id).toBe('number');
    expect(typeof got.events[0]?.timestamp).toBe('number');
    expect((await poll(c)).count).toBe(0);
  });

  it('"*" subscribes to every type; max limits a poll; a filter on agent_id narrows it', async () => {
    const all = await client();
    const narrow = await client();
    await all.call('SUBSCRIBE', { event_types: ['*'] });
    await narrow.call('SUBSCRIBE', { event_types: ['AGENT_PAUSED'], filter: { agent_id: 7 } });
    kernel.events.emit('AGENT_PAUSED', { agent_id: 6 }, 6);
    kernel.events.emit('AGENT_PAUSED', { agent_id: 7 }, 7);
    kernel.events.emit('TUNNEL_STATE', { state: 'down' }, null);
    const first = await poll(all, { max: 2 });
    expect(first.events.map((e) => e.type)).toEqual(['AGENT_PAUSED', 'AGENT_PAUSED']);
    expect((await poll(all)).events.map((e) => e.type)).toEqual(['TUNNEL_STATE']);
    const filtered = await poll(narrow);
    expect(filtered.events.map((e) => e.data.agent_id)).toEqual([7]);
  });

  it('refuses FILE_CHANGED without filter.path, unknown types, bad filters and polls without a subscription', async () => {
    const c = await client();
    const fileChanged = await failure(c.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'] }), 'INVALID_REQUEST');
    expect(fileChanged.message).toContain('filter.path');
    await failure(c.call('SUBSCRIBE', { event_types: ['NOT_A_TYPE'] }), 'INVALID_REQUEST');
    await failure(c.call('SUBSCRIBE', { event_types: [] }), 'INVALID_REQUEST');
    await failure(c.call('SUBSCRIBE', {}), 'INVALID_REQUEST');
    const path = await failure(c.call('SUBSCRIBE', { event_types: ['CUSTOM'], filter: { path: '*.ts' } }), 'INVALID_REQUEST');
    expect(path.message).toContain('FILE_CHANGED only');
    expect((await failure(c.call('POLL_EVENTS', {}), 'INVALID_REQUEST')).message).toContain('SUBSCRIBE first');
    await failure(c.call('POLL_EVENTS', { max: 1001 }), 'INVALID_REQUEST');
    await failure(c.call('POLL_EVENTS', { wait_ms: 60_001 }), 'INVALID_REQUEST');
    expect(kernel.subscriptions.size).toBe(0);
  });
});

describe('long poll', () => {
  it('wakes the moment an event arrives', async () => {
    const c = await client();
    await c.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    const started = Date.now();
    const pending = poll(c, { wait_ms: 10_000 });
    await sleep(100);
    const emittedAt = Date.now();
    kernel.events.emit('CUSTOM', { wake: true }, null);
    const got = await pending;
    const latency = Date.now() - emittedAt;
    expect(got.count).toBe(1);
    expect(got.events[0]?.data).toEqual({ wake: true });
    expect(latency).toBeLessThan(200);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('times out with no events when none arrives', async () => {
    const c = await client();
    await c.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    const started = Date.now();
    const got = await poll(c, { wait_ms: 300 });
    const waited = Date.now() - started;
    expect(got.count).toBe(0);
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(2_000);
  });

  it('a waiting poll ends when its client disconnects; the subscription goes with it', async () => {
    const c = await client();
    await c.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    const pending = poll(c, { wait_ms: 30_000 }).catch((error: unknown) => error);
    await sleep(50);
    expect(kernel.subscriptions.size).toBe(1);
    await c.close();
    await pending;
    await until(() => kernel.subscriptions.size === 0, 'the subscription to be removed');
    expect(kernel.subscriptions.indexed).toBe(0);
  });
});

describe('events at their source', () => {
  it('AGENT_SPAWNED and AGENT_EXITED of a spawned script', async () => {
    const c = await client();
    await c.call('SUBSCRIBE', { event_types: ['AGENT_SPAWNED', 'AGENT_EXITED'] });
    const path = script(dir, 'quick.sh', '#!/bin/sh\nexit 3\n', true);
    const spawned = (await c.call('SPAWN', { name: 'quick', script: path })) as { agent_id: number };
    const seen: KernelEvent[] = [];
    const deadline = Date.now() + 10_000;
    while (!seen.some((e) => e.type === 'AGENT_EXITED') && Date.now() < deadline) {
      seen.push(...(await poll(c, { wait_ms: 2_000 })).events);
    }
    const mine = seen.filter((e) => e.data.agent_id === spawned.agent_id);
    expect(mine.map((e) => e.type)).toEqual(['AGENT_SPAWNED', 'AGENT_EXITED']);
    expect(mine[0]).toMatchObject({ source_agent_id: spawned.agent_id, data: { name: 'quick' } });
    expect(mine[1]).toMatchObject({ data: { exit_code: 3 } });
  });

  it('SYSCALL_BLOCKED when an agent is denied', async () => {
    const watcher = await client();
    await watcher.call('SUBSCRIBE', { event_types: ['SYSCALL_BLOCKED'] });
    const blocked = await client();
    const denied = await blocked.call('EMIT', { event_type: 'AGENT_EXITED', data: {} }).catch((error: unknown) => error);
    expect((denied as { code: string }).code).toBe('PERMISSION_DENIED');
    // A denial by level, from an in-process agent at "minimal".
    const minimal = await AgentOSClient.connect({ connection: kernel.connect({ level: 'minimal' }) });
    clients.push(minimal);
    await failure(minimal.call('EXEC', { command: 'true' }), 'PERMISSION_DENIED');
    const seen: KernelEvent[] = [];
    while (seen.length < 2) {
      const got = await poll(watcher, { wait_ms: 2_000 });
      expect(got.count).toBeGreaterThan(0);
      seen.push(...got.events);
    }
    expect(seen[0]).toMatchObject({
      type: 'SYSCALL_BLOCKED',
      source_agent_id: blocked.agentId,
      data: { agent_id: blocked.agentId, op: 'EMIT' },
    });
    expect(seen[1]).toMatchObject({ type: 'SYSCALL_BLOCKED', source_agent_id: minimal.agentId, data: { op: 'EXEC' } });
  });
});

describe('EMIT', () => {
  it('delivers CUSTOM to the other subscribers; a type outside §7 arrives as CUSTOM with data.custom_type', async () => {
    const emitter = await client();
    const a = await client();
    const b = await client();
    await client(); // not subscribed
    for (const c of [emitter, a, b]) await c.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    expect(await emitter.call('EMIT', { event_type: 'build.done', data: { ok: true } })).toMatchObject({
      success: true,
      delivered_to: 2,
      type: 'CUSTOM',
    });
    for (const c of [a, b]) {
      const got = await poll(c);
      expect(got.events).toHaveLength(1);
      expect(got.events[0]).toMatchObject({
        type: 'CUSTOM',
        source_agent_id: emitter.agentId,
        data: { ok: true, custom_type: 'build.done' },
      });
    }
    expect((await poll(emitter)).count).toBe(0);
    // "event" is an alias; include_self delivers to the emitter too.
    expect(await emitter.call('EMIT', { event: 'CUSTOM', data: { x: 1 }, include_self: true })).toMatchObject({ delivered_to: 3 });
    expect((await poll(emitter)).events[0]?.data).toEqual({ x: 1 });
  });

  it('refuses to forge kernel event types, and oversized or non-object data', async () => {
    const c = await client();
    for (const type of ['AGENT_SPAWNED', 'AGENT_EXITED', 'SYSCALL_BLOCKED', 'TASK_UPDATED']) {
      expect((await failure(c.call('EMIT', { event_type: type, data: {} }), 'PERMISSION_DENIED')).message).toContain(type);
    }
    await failure(c.call('EMIT', { event_type: 'x', data: 'text' }), 'INVALID_REQUEST');
    await failure(c.call('EMIT', { event_type: '*', data: {} }), 'INVALID_REQUEST');
    await failure(c.call('EMIT', { data: {} }), 'INVALID_REQUEST');
    await failure(c.call('EMIT', { event_type: 'big', data: { blob: 'x'.repeat(70_000) } }), 'INVALID_REQUEST');
    expect(await c.call('EMIT', { event_type: 'nobody.listens' })).toMatchObject({ delivered_to: 0 });
  });
});

describe('bounded queues', () => {
  it('keeps the newest events when full and reports how many were dropped since the last poll', async () => {
    const c = await client();
    await c.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    for (let n = 1; n <= QUEUE + 3; n++) kernel.events.emit('CUSTOM', { n }, null);
    const got = await poll(c);
    expect(got.dropped).toBe(3);
    expect(got.events.map((e) => e.data.n)).toEqual([4, 5, 6, 7, 8]);
    kernel.events.emit('CUSTOM', { n: 9 }, null);
    expect(await poll(c)).toMatchObject({ count: 1, dropped: 0 });
  });
});

describe('UNSUBSCRIBE and cleanup', () => {
  it('removes named types, then all; a subscription with no types is gone', async () => {
    const c = await client();
    await c.call('SUBSCRIBE', { event_types: ['CUSTOM', 'AGENT_EXITED', 'TASK_UPDATED'] });
    const some = (await c.call('UNSUBSCRIBE', { event_types: ['CUSTOM', 'WORLD_EVENT'] })) as Record<string, string[]>;
    expect(some.unsubscribed).toEqual(['CUSTOM']);
    expect(some.subscribed?.sort()).toEqual(['AGENT_EXITED', 'TASK_UPDATED']);
    kernel.events.emit('CUSTOM', {}, null);
    expect((await poll(c)).count).toBe(0);
    const rest = (await c.call('UNSUBSCRIBE', { all: true })) as Record<string, string[]>;
    expect(rest.unsubscribed?.sort()).toEqual(['AGENT_EXITED', 'TASK_UPDATED']);
    expect(kernel.subscriptions.size).toBe(0);
    expect(kernel.subscriptions.indexed).toBe(0);
    await failure(c.call('UNSUBSCRIBE', {}), 'INVALID_REQUEST');
  });

  it('drops the subscriptions and queues of a client that disconnects; others keep theirs', async () => {
    const leaving = await client();
    const staying = await client();
    await leaving.call('SUBSCRIBE', { event_types: ['*'] });
    await staying.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    kernel.events.emit('CUSTOM', {}, null);
    expect(kernel.subscriptions.size).toBe(2);
    await leaving.close();
    await until(() => kernel.subscriptions.size === 1, 'the leaving client to be unsubscribed');
    expect(kernel.subscriptions.get(leaving.agentId as number)).toBeUndefined();
    expect(kernel.subscriptions.indexed).toBe(1);
    expect((await poll(staying)).count).toBe(1);
  });
});
