/**
 * The world syscalls against a real kernel: WORLD_CREATE from a preset, YAML and an
 * object, definition errors naming their key paths, WORLD_LIST, WORLD_JOIN/LEAVE with
 * max_agents, scheduled and injected chaos published as WORLD_EVENT, a service_crash
 * restarting a member under its restart policy, and WORLD_DESTROY.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, EventLog, failure, listAgents, script, spawnAgent, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let client: AgentOSClient;
let worldEvents: KernelEvent[] = [];
let off: () => void;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  client = await connect(kernel);
  off = kernel.events.on((event) => {
    if (event.type === 'WORLD_EVENT' || event.type === 'RESOURCE_WARNING') worldEvents.push(event);
  });
});
afterAll(async () => {
  off();
  await client.close();
  await kernel.cleanup();
});

type Reply = Record<string, unknown>;
const call = (op: string, payload: unknown) => client.call(op, payload) as Promise<Reply>;
const create = (payload: unknown) => call('WORLD_CREATE', payload) as Promise<{ world_id: string; name: string }>;
const stateOf = async (worldId: string) => ((await call('WORLD_STATE', { world_id: worldId })).state as Reply) ?? {};

describe('WORLD_CREATE', () => {
  it('creates from a preset, YAML and an object; names are unique among live worlds, ids never reused', async () => {
    const dev = await create({ preset: 'dev' });
    expect(dev).toMatchObject({ success: true, name: 'dev' });
    expect(dev.world_id).toMatch(/^world-\d+$/);
    await failure(create({ preset: 'dev' }), 'CONFLICT');
    const other = await create({ preset: 'dev', name: 'dev-two' });
    expect(other.name).toBe('dev-two');
    const fromYaml = await create({ yaml: 'name: from-yaml\nseed: 7\ntime_scale: 5\n' });
    const fromObject = await create({ config: { name: 'from-object', resources: { max_agents: 3 } } });
    const listed = (await call('WORLD_LIST', {})) as { worlds: Reply[]; count: number };
    const names = listed.worlds.map((world) => world.name);
    expect(names).toEqual(expect.arrayContaining(['dev', 'dev-two', 'from-yaml', 'from-object']));
    expect(listed.count).toBe(listed.worlds.length);
    expect(listed.worlds.find((world) => world.name === 'from-object')).toMatchObject({ max_agents: 3, status: 'running' });
    expect((await stateOf(fromYaml.world_id)).clock).toMatchObject({ time_scale: 5 });
    // Each world is a lifecycle actor in the kernel's actor system, under the worlds supervisor.
    const lifecycle = kernel.worlds.get(dev.world_id)?.lifecycle;
    expect(lifecycle?.getSnapshot().value).toBe('running');
    expect(lifecycle?.system).toBe(kernel.root.system);
    expect((lifecycle as unknown as { _parent?: unknown })._parent).toBe(kernel.root.getSnapshot().children.worlds);
    // The layer lives under the data directory.
    expect(existsSync(join(kernel.options.dataDir, 'worlds', dev.world_id, 'layer'))).toBe(true);

    const ids = [dev, other, fromYaml, fromObject].map((world) => world.world_id);
    for (const id of ids) await call('WORLD_DESTROY', { world_id: id });
    const again = await create({ preset: 'dev' });
    expect(ids).not.toContain(again.world_id);
    await call('WORLD_DESTROY', { world_id: again.world_id });
  });

  it('refuses a bad definition with every problem and its key path', async () => {
    const bad = await failure(
      create({ config: { name: 'bad', network: { mocks: [{ pattern: 'GET a.test/x', latency_ms: 'fast' }] }, colour: 'red' } }),
      'INVALID_REQUEST',
    );
    const paths = ((bad.reply?.problems ?? []) as Array<{ path: string }>).map((problem) => problem.path);
    expect(paths).toEqual(expect.arrayContaining(['network.mocks[0].latency_ms', 'colour']));
    const badYaml = await failure(create({ yaml: 'name: y\nevents:\n  - at: "+1s"\n    type: cpu_spike\n' }), 'INVALID_REQUEST');
    expect(badYaml.reply?.field).toBe('events[0].value');
    await failure(create({ preset: 'no-such-preset' }), 'INVALID_REQUEST');
    await failure(create({ preset: '../../etc/passwd' }), 'INVALID_REQUEST');
    const both = await failure(create({ preset: 'dev', yaml: 'name: x' }), 'INVALID_REQUEST');
    expect(both.message).toContain('only one of');
    await failure(create({}), 'INVALID_REQUEST');
    // Nothing half-created.
    expect(((await call('WORLD_LIST', {})) as { count: number }).count).toBe(0);
  });
});

describe('membership', () => {
  it('joins and leaves; one world at a time; max_agents enforced; another agent only within reach', async () => {
    const small = await create({ config: { name: 'small', resources: { max_agents: 1 } } });
    const other = await create({ config: { name: 'other' } });
    const joined = await call('WORLD_JOIN', { world_id: small.world_id });
    const self = joined.agent_id as number;
    expect(joined).toMatchObject({ world_id: small.world_id });
    expect((await stateOf(small.world_id)).agents).toEqual([expect.objectContaining({ agent_id: self })]);
    await failure(call('WORLD_JOIN', { world_id: other.world_id }), 'CONFLICT');

    const sleeper = script(kernel.dir, 'member-sleeper.sh', '#!/bin/sh\nexec sleep 30\n', true);
    // A member's child joins its world: a full world refuses the SPAWN, and nothing is spawned.
    const full = await failure(spawnAgent(client, { name: 'small-child', script: sleeper, sandboxed: false }), 'QUOTA_EXCEEDED');
    expect(full.message).toContain('max_agents');
    expect((await listAgents(client)).some((agent) => agent.name === 'small-child')).toBe(false);
    const second = await connect(kernel);
    try {
      // A client may not move another agent it did not spawn.
      await failure(second.call('WORLD_LEAVE', { agent_id: self }), 'PERMISSION_DENIED');
    } finally {
      await second.close();
    }
    expect(await call('WORLD_LEAVE', {})).toMatchObject({ world_id: small.world_id, agent_id: self });
    await failure(call('WORLD_LEAVE', {}), 'NOT_FOUND');
    await failure(call('WORLD_JOIN', { world_id: 'world-999' }), 'NOT_FOUND');
    await call('WORLD_DESTROY', { world_id: small.world_id });
    await call('WORLD_DESTROY', { world_id: other.world_id });
  });

  it('an agent that ends leaves its world', async () => {
    const member = await connect(kernel);
    const world = (await member.call('WORLD_CREATE', { config: { name: 'leaving' } })) as { world_id: string };
    await member.call('WORLD_JOIN', { world_id: world.world_id });
    expect(((await member.call('WORLD_STATE', { world_id: world.world_id })) as { state: Reply }).state.agent_count).toBe(1);
    await member.close();
    const admin = await connect(kernel, adminToken(kernel));
    try {
      const state = async () => ((await admin.call('WORLD_STATE', { world_id: world.world_id })) as { state: Reply }).state;
      await until(async () => (await state()).agent_count === 0, 'the closed client to leave');
      // Its creator is gone; the admin still controls the world.
      await admin.call('WORLD_DESTROY', { world_id: world.world_id });
    } finally {
      await admin.close();
    }
  });
});

describe('chaos', () => {
  it('fires a scheduled event on the world clock and heals it after its duration', async () => {
    worldEvents = [];
    const world = await create({
      config: { name: 'scheduled', time_scale: 1000, events: [{ at: '+1s', type: 'latency_spike', value: 100, duration: '2s' }] },
    });
    const mine = () => worldEvents.filter((event) => event.type === 'WORLD_EVENT' && event.data.world_id === world.world_id);
    await until(() => mine().length >= 2, 'the latency spike to fire and heal', 5000);
    expect(mine().map((event) => [event.data.kind, event.data.type])).toEqual([
      ['fired', 'latency_spike'],
      ['healed', 'latency_spike'],
    ]);
    expect(mine()[0]!.data).toMatchObject({ world_ms: 1000, source: 'schedule', value: 100 });
    const state = await stateOf(world.world_id);
    expect(state.history).toHaveLength(2);
    expect(state.active_effects).toEqual([]);
    await call('WORLD_DESTROY', { world_id: world.world_id });
  });

  it('injects effects at once and heals them all; bad events name the field', async () => {
    worldEvents = [];
    const world = await create({ config: { name: 'injected' } });
    await call('WORLD_JOIN', { world_id: world.world_id });
    const full = await call('WORLD_EVENT', { world_id: world.world_id, type: 'disk_full' });
    expect(full).toMatchObject({ world_id: world.world_id, event_id: 1 });
    const spike = await call('WORLD_EVENT', { world_id: world.world_id, event_type: 'latency_spike', config: { value: 250 } });
    expect(spike.event_id).toBe(2);
    await call('WORLD_EVENT', { world_id: world.world_id, event_type: 'cpu_spike', params: { value: 95, duration: '1h' } });
    let state = await stateOf(world.world_id);
    expect((state.active_effects as Reply[]).map((effect) => effect.type)).toEqual(['disk_full', 'latency_spike', 'cpu_spike']);
    expect((state.network as { effects: { latency_spikes: unknown[] } }).effects.latency_spikes).toHaveLength(1);
    expect(state.metrics).toMatchObject({ cpu_percent: 95 });
    const warning = worldEvents.find((event) => event.type === 'RESOURCE_WARNING');
    expect(warning?.data).toMatchObject({ resource: 'cpu', percent: 95, world_id: world.world_id });

    const healed = await call('WORLD_EVENT', { world_id: world.world_id, type: 'heal' });
    expect(healed).toMatchObject({ healed: 3 });
    state = await stateOf(world.world_id);
    expect(state.active_effects).toEqual([]);
    expect(state.metrics).toMatchObject({ cpu_percent: 0 });
    expect((state.network as { effects: { latency_spikes: unknown[] } }).effects.latency_spikes).toHaveLength(0);
    const published = worldEvents.filter((event) => event.type === 'WORLD_EVENT').map((event) => `${event.data.kind}:${event.data.type}`);
    expect(published).toEqual([
      'fired:disk_full',
      'fired:latency_spike',
      'fired:cpu_spike',
      'healed:disk_full',
      'healed:latency_spike',
      'healed:cpu_spike',
    ]);

    const noValue = await failure(call('WORLD_EVENT', { world_id: world.world_id, type: 'latency_spike' }), 'INVALID_REQUEST');
    expect(noValue.reply?.field).toBe('params.value');
    const unknown = await failure(call('WORLD_EVENT', { world_id: world.world_id, type: 'meteor' }), 'INVALID_REQUEST');
    expect(unknown.reply?.field).toBe('event_type');
    await failure(call('WORLD_EVENT', { world_id: world.world_id, type: 'disk_full', params: { bogus: 1 } }), 'INVALID_REQUEST');
    await call('WORLD_LEAVE', {});
    await call('WORLD_DESTROY', { world_id: world.world_id });
  });

  it('service_crash kills a member as a crash: its on-failure policy restarts it', async () => {
    const events = new EventLog(kernel);
    const sleeper = script(kernel.dir, 'world-sleeper.sh', '#!/bin/sh\nexec sleep 30\n', true);
    try {
      const world = await create({ config: { name: 'crashing' } });
      const spawned = await spawnAgent(client, {
        name: 'world-worker',
        script: sleeper,
        sandboxed: false,
        restart_policy: 'on-failure',
        max_restarts: 3,
      });
      await call('WORLD_JOIN', { world_id: world.world_id, agent_id: spawned.agent_id });
      await call('WORLD_EVENT', { world_id: world.world_id, type: 'service_crash', params: { target: 'world-worker' } });
      const again = await events.wait('AGENT_SPAWNED', spawned.agent_id, 2);
      expect(again.data).toMatchObject({ restarts: 1 });
      expect(again.data.pid).not.toBe(spawned.pid);
      expect((await stateOf(world.world_id)).metrics).toMatchObject({ crashes: 1 });
      // Still a member after its restart (same agent id).
      expect((await stateOf(world.world_id)).agent_count).toBe(1);
      await client.call('KILL', { agent_id: spawned.agent_id, grace_ms: 1000 });
      await until(async () => (await stateOf(world.world_id)).agent_count === 0, 'the killed agent to leave');
      await call('WORLD_DESTROY', { world_id: world.world_id });
    } finally {
      events.stop();
    }
  });
});

describe('WORLD_DESTROY', () => {
  it('refuses while members remain unless forced, then the world and its layer are gone', async () => {
    const world = await create({ preset: 'dev' });
    await call('WORLD_JOIN', { world_id: world.world_id });
    await failure(call('WORLD_DESTROY', { world_id: world.world_id }), 'CONFLICT');
    expect(await call('WORLD_DESTROY', { world_id: world.world_id, force: true })).toMatchObject({
      world_id: world.world_id,
      members_released: 1,
    });
    expect(existsSync(join(kernel.options.dataDir, 'worlds', world.world_id))).toBe(false);
    await failure(call('WORLD_STATE', { world_id: world.world_id }), 'NOT_FOUND');
    const join2 = await failure(call('WORLD_JOIN', { world_id: world.world_id }), 'NOT_FOUND');
    expect(join2.message).toContain('destroyed');
    await failure(call('WORLD_LEAVE', {}), 'NOT_FOUND');
    await failure(call('WORLD_DESTROY', { world_id: world.world_id }), 'NOT_FOUND');
  });
});
