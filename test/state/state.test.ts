/**
 * The state store over the real Unix socket: every op's success and errors, scope
 * isolation, TTL (active and lazy), limits, CAS/INCR atomicity, STATE_CHANGED audiences,
 * persistence across a restart, and named agents finding their keys again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import type { KernelOptionsInput } from '../../src/kernel/index.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { failure, sleep, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
const clients: AgentOSClient[] = [];

async function client(k: TestKernel = kernel): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: k.socketPath, token: null });
  clients.push(c);
  await c.hello({});
  return c;
}

type Reply = Record<string, unknown>;
const call = async (c: AgentOSClient, op: string, payload: Reply) => (await c.call(op, payload)) as Reply;
const poll = async (c: AgentOSClient) => ((await c.call('POLL_EVENTS', {})) as { events: KernelEvent[] }).events;

beforeAll(async () => {
  kernel = await startTestKernel({ stateSweepIntervalMs: 50, stateMaxKeysPerAgent: 5, stateMaxValueBytes: 1024 });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('STORE, FETCH, DELETE, KEYS', () => {
  it('stores and fetches any JSON value in each scope, the agent scope by default', async () => {
    const c = await client();
    for (const scope of ['global', 'agent', 'session'] as const) {
      expect(await call(c, 'STORE', { key: `ops-${scope}`, value: { n: 1, s: [scope] }, scope })).toMatchObject({
        success: true,
        key: `ops-${scope}`,
        scope,
      });
      expect(await call(c, 'FETCH', { key: `ops-${scope}`, scope })).toMatchObject({ exists: true, value: { n: 1, s: [scope] }, scope });
    }
    expect(await call(c, 'FETCH', { key: 'ops-agent' })).toMatchObject({ exists: true, scope: 'agent' });
    expect(await call(c, 'FETCH', { key: 'ops-global' })).toMatchObject({ exists: false, value: null });
    expect(await call(c, 'FETCH', { key: 'missing', scope: 'global' })).toMatchObject({ success: true, exists: false, value: null });
    // Overwrite.
    await call(c, 'STORE', { key: 'ops-global', value: 'two', scope: 'global' });
    expect((await call(c, 'FETCH', { key: 'ops-global', scope: 'global' })).value).toBe('two');
  });

  it('deletes once, then reports nothing deleted', async () => {
    const c = await client();
    await call(c, 'STORE', { key: 'del', value: 1, scope: 'global' });
    expect(await call(c, 'DELETE', { key: 'del', scope: 'global' })).toMatchObject({ success: true, deleted: true });
    expect(await call(c, 'DELETE', { key: 'del', scope: 'global' })).toMatchObject({ success: true, deleted: false });
    expect((await call(c, 'FETCH', { key: 'del', scope: 'global' })).exists).toBe(false);
  });

  it('lists keys by prefix, sorted, with a limit, taking GLOB characters literally', async () => {
    const c = await client();
    for (const key of ['k/b', 'k/a', 'k*', 'k/[x]', 'other']) await call(c, 'STORE', { key, value: 0, scope: 'session' });
    expect(await call(c, 'KEYS', { prefix: 'k/', scope: 'session' })).toMatchObject({
      keys: ['k/[x]', 'k/a', 'k/b'],
      count: 3,
      truncated: false,
    });
    expect(await call(c, 'KEYS', { prefix: 'k*', scope: 'session' })).toMatchObject({ keys: ['k*'], count: 1 });
    expect(await call(c, 'KEYS', { prefix: 'k/', scope: 'session', limit: 2 })).toMatchObject({ keys: ['k/[x]', 'k/a'], truncated: true });
    const all = (await call(c, 'KEYS', { scope: 'session' })).keys as string[];
    expect(all).toEqual(expect.arrayContaining(['k*', 'k/a', 'other']));
  });

  it('rejects bad requests with INVALID_REQUEST naming the field', async () => {
    const c = await client();
    for (const [op, payload, field] of [
      ['STORE', { value: 1 }, 'key'],
      ['STORE', { key: '', value: 1 }, 'key'],
      ['STORE', { key: 'x' }, 'value'],
      ['STORE', { key: 'x', value: null }, 'value'],
      ['STORE', { key: 'x', value: 1, scope: 'world' }, 'scope'],
      ['STORE', { key: 'x', value: 1, ttl: 0 }, 'ttl'],
      ['STORE', { key: 'x'.repeat(513), value: 1 }, 'key'],
      ['FETCH', { key: 5 }, 'key'],
      ['KEYS', { limit: 0 }, 'limit'],
      ['INCR', { key: 'x', by: 'one' }, 'by'],
    ] as const) {
      const error = await failure(c.call(op, payload), 'INVALID_REQUEST');
      expect(error.reply?.field, `${op} ${JSON.stringify(payload)}`).toBe(field);
    }
  });
});

describe('scope isolation', () => {
  it("a global key spelled like an agent key never touches that agent's key", async () => {
    const owner = await client();
    const attacker = await client();
    const id = owner.agentId;
    await call(owner, 'STORE', { key: 'secret', value: 'mine' });
    for (const key of [`agent:${id}:secret`, `${id}:secret`, `agent/${id}/secret`, 'secret']) {
      await call(attacker, 'STORE', { key, value: 'overwritten', scope: 'global' });
      expect((await call(attacker, 'FETCH', { key, scope: 'global' })).value).toBe('overwritten');
      await call(attacker, 'DELETE', { key, scope: 'global' });
    }
    expect((await call(owner, 'FETCH', { key: 'secret' })).value).toBe('mine');
  });

  it('another agent cannot FETCH, DELETE, KEYS, CAS or INCR my agent-scope keys', async () => {
    const owner = await client();
    const other = await client();
    await call(owner, 'STORE', { key: 'private', value: 7, scope: 'agent' });
    expect(await call(other, 'FETCH', { key: 'private', scope: 'agent' })).toMatchObject({ exists: false });
    expect(await call(other, 'DELETE', { key: 'private', scope: 'agent' })).toMatchObject({ deleted: false });
    expect((await call(other, 'KEYS', { scope: 'agent' })).keys).toEqual([]);
    // CAS and INCR see only the caller's own (missing) key.
    const cas = await failure(other.call('CAS', { key: 'private', expected: 7, value: 'x' }), 'CONFLICT');
    expect(cas.reply).toMatchObject({ exists: false, value: null });
    expect(await call(other, 'INCR', { key: 'private', scope: 'agent' })).toMatchObject({ value: 1 });
    expect(await call(owner, 'FETCH', { key: 'private' })).toMatchObject({ exists: true, value: 7 });
    expect((await call(owner, 'KEYS', {})).keys).toEqual(['private']);
  });

  it('the session scope is shared by every agent', async () => {
    const a = await client();
    const b = await client();
    await call(a, 'STORE', { key: 'shared-session', value: 'hi', scope: 'session' });
    expect((await call(b, 'FETCH', { key: 'shared-session', scope: 'session' })).value).toBe('hi');
  });

  it("a client's agent-scope keys go when it disconnects (its id is never reused)", async () => {
    const a = await client();
    await call(a, 'STORE', { key: 'short-lived', value: 1 });
    const id = a.agentId;
    await a.close();
    await until(() => !kernel.agents().some((agent) => agent.id === id), 'the client to end');
    const b = await client();
    expect((await call(b, 'KEYS', {})).keys).toEqual([]);
  });
});

describe('TTL', () => {
  it('expires actively: the key goes and STATE_CHANGED expire is emitted without any FETCH', async () => {
    const c = await client();
    const seen: KernelEvent[] = [];
    const off = kernel.events.on((event) => event.type === 'STATE_CHANGED' && seen.push(event));
    try {
      const reply = await call(c, 'STORE', { key: 'ttl-active', value: 1, scope: 'global', ttl: 0.1 });
      expect(reply.expires_in as number).toBeGreaterThan(0);
      expect((await call(c, 'FETCH', { key: 'ttl-active', scope: 'global' })).expires_in as number).toBeLessThanOrEqual(0.1);
      await until(() => seen.find((e) => e.data.op === 'expire' && e.data.key === 'ttl-active'), 'the expire event', 3000);
      expect(seen.find((e) => e.data.op === 'expire')?.data).toEqual({ op: 'expire', key: 'ttl-active', scope: 'global' });
      expect((await call(c, 'KEYS', { prefix: 'ttl-active', scope: 'global' })).keys).toEqual([]);
    } finally {
      off();
    }
  });

  it('expires lazily: an expired key is gone at FETCH even before the sweep runs', async () => {
    const lazy = await startTestKernel({ stateSweepIntervalMs: 60_000 });
    try {
      const c = await client(lazy);
      const seen: KernelEvent[] = [];
      lazy.events.on((event) => event.type === 'STATE_CHANGED' && seen.push(event));
      await call(c, 'STORE', { key: 'ttl-lazy', value: 1, scope: 'session', ttl: 0.05 });
      await call(c, 'STORE', { key: 'ttl-lazy2', value: 1, scope: 'session', ttl: 0.05 });
      await sleep(80);
      expect((await call(c, 'KEYS', { scope: 'session' })).keys).toEqual([]);
      expect(await call(c, 'FETCH', { key: 'ttl-lazy', scope: 'session' })).toMatchObject({ exists: false });
      expect(seen.map((e) => e.data.op)).toEqual(['store', 'store', 'expire']);
      expect(await call(c, 'INCR', { key: 'ttl-lazy2', scope: 'session' })).toMatchObject({ value: 1 });
    } finally {
      await lazy.cleanup();
    }
  });
});

describe('limits', () => {
  it('refuses a value above stateMaxValueBytes and keys beyond stateMaxKeysPerAgent with QUOTA_EXCEEDED', async () => {
    const c = await client();
    const big = await failure(c.call('STORE', { key: 'big', value: 'x'.repeat(1100) }), 'QUOTA_EXCEEDED');
    expect(big.reply?.limit).toBe(1024);
    for (let i = 0; i < 5; i++) await call(c, 'STORE', { key: `q${i}`, value: i });
    await failure(c.call('STORE', { key: 'q5', value: 5 }), 'QUOTA_EXCEEDED');
    await failure(c.call('INCR', { key: 'q5' }), 'QUOTA_EXCEEDED');
    await failure(c.call('CAS', { key: 'q5', expected: null, value: 1 }), 'QUOTA_EXCEEDED');
    // Overwriting an existing key is not a new key; deleting one makes room.
    await call(c, 'STORE', { key: 'q0', value: 'again' });
    await call(c, 'DELETE', { key: 'q1' });
    await call(c, 'STORE', { key: 'q5', value: 5 });
    // The limit is per agent: another agent has its own room.
    const d = await client();
    await call(d, 'STORE', { key: 'q0', value: 0 });
  });
});

describe('CAS and INCR', () => {
  it('CAS swaps on a match, refuses a mismatch with CONFLICT and the current value, and null means absent', async () => {
    const c = await client();
    expect(await call(c, 'CAS', { key: 'cas', expected: null, value: { v: 1, w: 2 }, scope: 'global' })).toMatchObject({ swapped: true });
    const taken = await failure(c.call('CAS', { key: 'cas', expected: null, value: 0, scope: 'global' }), 'CONFLICT');
    expect(taken.reply).toMatchObject({ swapped: false, exists: true, value: { v: 1, w: 2 } });
    // Key order does not matter.
    expect(await call(c, 'CAS', { key: 'cas', expected: { w: 2, v: 1 }, value: 3, scope: 'global' })).toMatchObject({
      swapped: true,
      value: 3,
    });
    const stale = await failure(c.call('CAS', { key: 'cas', expected: 2, value: 4, scope: 'global' }), 'CONFLICT');
    expect(stale.reply).toMatchObject({ swapped: false, value: 3 });
    const missing = await failure(c.call('CAS', { key: 'nope', expected: 1, value: 2, scope: 'global' }), 'CONFLICT');
    expect(missing.reply).toMatchObject({ exists: false, value: null });
  });

  it('INCR counts from 0, adds by, and refuses a non-number with CONFLICT', async () => {
    const c = await client();
    expect(await call(c, 'INCR', { key: 'n', scope: 'session' })).toMatchObject({ value: 1 });
    expect(await call(c, 'INCR', { key: 'n', by: -3.5, scope: 'session' })).toMatchObject({ value: -2.5 });
    await call(c, 'STORE', { key: 's', value: 'text', scope: 'session' });
    expect((await failure(c.call('INCR', { key: 's', scope: 'session' }), 'CONFLICT')).reply?.value).toBe('text');
    await call(c, 'STORE', { key: 'max', value: Number.MAX_VALUE, scope: 'session' });
    await failure(c.call('INCR', { key: 'max', by: Number.MAX_VALUE, scope: 'session' }), 'CONFLICT');
  });

  it('concurrent INCRs and CASes from several connections are atomic', async () => {
    const cs = await Promise.all([client(), client(), client(), client()]);
    await Promise.all(cs.flatMap((c) => Array.from({ length: 50 }, () => c.call('INCR', { key: 'race', scope: 'global' }))));
    expect((await call(cs[0]!, 'FETCH', { key: 'race', scope: 'global' })).value).toBe(200);
    // Exactly one of many CAS from null wins.
    const results = await Promise.allSettled(cs.map((c, i) => c.call('CAS', { key: 'leader', expected: null, value: i, scope: 'global' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('STATE_CHANGED', () => {
  it('global and session changes reach every subscriber; agent-scope changes only their owner', async () => {
    const owner = await client();
    const other = await client();
    await call(owner, 'SUBSCRIBE', { event_types: ['STATE_CHANGED'] });
    await call(other, 'SUBSCRIBE', { event_types: ['*'] });
    await call(owner, 'STORE', { key: 'ev-private', value: 1, ttl: 0.05 });
    await call(owner, 'DELETE', { key: 'ev-private' });
    await call(owner, 'STORE', { key: 'ev-private2', value: 1, ttl: 0.05 });
    await call(owner, 'STORE', { key: 'ev-public', value: 1, scope: 'global' });
    await call(owner, 'DELETE', { key: 'ev-public', scope: 'global' });
    let mine: KernelEvent[] = [];
    await until(async () => {
      mine = mine.concat(await poll(owner));
      return mine.some((e) => e.data.op === 'expire');
    }, 'the owner to see its key expire');
    const ownerId = owner.agentId;
    expect(mine.map((e) => e.data)).toEqual([
      { op: 'store', key: 'ev-private', scope: 'agent', owner: ownerId },
      { op: 'delete', key: 'ev-private', scope: 'agent', owner: ownerId },
      { op: 'store', key: 'ev-private2', scope: 'agent', owner: ownerId },
      { op: 'store', key: 'ev-public', scope: 'global' },
      { op: 'delete', key: 'ev-public', scope: 'global' },
      { op: 'expire', key: 'ev-private2', scope: 'agent', owner: ownerId },
    ]);
    expect(mine[0]?.source_agent_id).toBe(ownerId);
    const theirs = (await poll(other)).filter((e) => e.type === 'STATE_CHANGED');
    expect(theirs.map((e) => e.data)).toEqual([
      { op: 'store', key: 'ev-public', scope: 'global' },
      { op: 'delete', key: 'ev-public', scope: 'global' },
    ]);
  });
});

describe('persistence', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentos-state-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const options = (): KernelOptionsInput => ({ dataDir: join(dir, 'data'), stateSweepIntervalMs: 50 });

  it('counts the keys of a scope across a restart: the limit holds, and a delete makes room', async () => {
    const limited = (): KernelOptionsInput => ({ dataDir: join(dir, 'counted'), stateMaxSharedKeys: 3 });
    const first = await startTestKernel(limited());
    try {
      const c = await client(first);
      for (let n = 0; n < 3; n++) await call(c, 'STORE', { key: `counted-${n}`, value: n, scope: 'global' });
    } finally {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      await first.stop();
    }
    const second = await startTestKernel(limited());
    try {
      const c = await client(second);
      await failure(c.call('STORE', { key: 'counted-3', value: 3, scope: 'global' }), 'QUOTA_EXCEEDED');
      await call(c, 'DELETE', { key: 'counted-0', scope: 'global' });
      await call(c, 'STORE', { key: 'counted-3', value: 3, scope: 'global' });
      await failure(c.call('STORE', { key: 'counted-4', value: 4, scope: 'global' }), 'QUOTA_EXCEEDED');
    } finally {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      await second.stop();
    }
  });

  it("keeps global keys and named agents' keys across a restart; drops session keys and clients' agent keys", async () => {
    const first = await startTestKernel(options());
    const storeAs = (k: TestKernel) =>
      k.spawn(
        fromPromise<void, { os: AgentOSClient; key: string }>(async ({ input }) => {
          await input.os.call('STORE', { key: input.key, value: 'named' });
          await new Promise(() => {});
        }),
        { name: 'keeper', input: { key: 'note' } },
      );
    try {
      const c = await client(first);
      await call(c, 'STORE', { key: 'g', value: { kept: true }, scope: 'global' });
      await call(c, 'STORE', { key: 'gone', value: 1, scope: 'global', ttl: 0.2 });
      await call(c, 'STORE', { key: 's', value: 1, scope: 'session' });
      await call(c, 'STORE', { key: 'mine', value: 1 });
      const stored: KernelEvent[] = [];
      first.events.on((event) => event.type === 'STATE_CHANGED' && event.data.key === 'note' && stored.push(event));
      const keeper = await storeAs(first);
      await until(() => stored.length === 1, 'the named agent to store');
      expect(stored[0]?.data).toEqual({ op: 'store', key: 'note', scope: 'agent', owner: keeper.id });
    } finally {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      await first.stop();
    }
    await sleep(250);
    const second = await startTestKernel(options());
    try {
      const c = await client(second);
      expect(await call(c, 'FETCH', { key: 'g', scope: 'global' })).toMatchObject({ exists: true, value: { kept: true } });
      expect(await call(c, 'FETCH', { key: 'gone', scope: 'global' })).toMatchObject({ exists: false });
      expect(await call(c, 'FETCH', { key: 's', scope: 'session' })).toMatchObject({ exists: false });
      // Same agent id as before, but a new agent: the old client's keys are not its.
      expect((await call(c, 'KEYS', {})).keys).toEqual([]);
      const fetched: unknown[] = [];
      const reader = await second.spawn(
        fromPromise<void, { os: AgentOSClient }>(async ({ input }) => {
          fetched.push(await input.os.call('FETCH', { key: 'note' }));
          await new Promise(() => {});
        }),
        { name: 'keeper' },
      );
      await until(() => fetched.length === 1, 'the named agent to fetch');
      expect(fetched[0]).toMatchObject({ exists: true, value: 'named' });
      await reader.stop();
    } finally {
      await second.cleanup();
    }
  });
});
