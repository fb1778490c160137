/**
 * WORLD_STATE's score and syscall counts against a real kernel: a chaos crash takes a
 * member down (uptime falls), its supervisor restarts it and the score recovers; calls a
 * member makes while in the world are counted by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { connect, EventLog, script, spawnAgent, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let client: AgentOSClient;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  client = await connect(kernel);
});
afterAll(async () => {
  await client.close();
  await kernel.cleanup();
});

type Reply = Record<string, unknown>;
type Objective = { name: string; score: number; detail: Record<string, unknown> };
type Score = { total: number; objectives: Objective[] };
const call = (op: string, payload: unknown) => client.call(op, payload) as Promise<Reply>;
const stateOf = async (worldId: string) => (await call('WORLD_STATE', { world_id: worldId })).state as Reply;
const uptimeOf = async (worldId: string) => ((await stateOf(worldId)).score as Score).objectives.find((o) => o.name === 'uptime')!;

describe('WORLD_STATE score', () => {
  it('a crash lowers uptime; the restarted member brings the score back up', async () => {
    const events = new EventLog(kernel);
    const sleeper = script(kernel.dir, 'scored-sleeper.sh', '#!/bin/sh\nexec sleep 30\n', true);
    try {
      const world = (await call('WORLD_CREATE', {
        config: {
          name: 'scored',
          time_scale: 10,
          scoring: {
            objectives: [
              { name: 'uptime', weight: 3 },
              { name: 'errors_handled', weight: 1 },
            ],
          },
        },
      })) as { world_id: string };
      expect((await stateOf(world.world_id)).score).toMatchObject({ total: 100 });
      const spawned = await spawnAgent(client, {
        name: 'scored-worker',
        script: sleeper,
        sandboxed: false,
        restart_policy: 'on-failure',
        max_restarts: 3,
      });
      await call('WORLD_JOIN', { world_id: world.world_id, agent_id: spawned.agent_id });
      await call('WORLD_EVENT', { world_id: world.world_id, type: 'service_crash', params: { target: 'scored-worker' } });
      const down = await uptimeOf(world.world_id);
      expect(down.detail.down_now).toEqual([spawned.agent_id]);
      const errors = ((await stateOf(world.world_id)).score as Score).objectives.find((o) => o.name === 'errors_handled')!;
      expect(errors.detail).toMatchObject({ crashes: 1, crashes_recovered: 0 });
      await events.wait('AGENT_SPAWNED', spawned.agent_id, 2);
      const back = await until(async () => {
        const uptime = await uptimeOf(world.world_id);
        return (uptime.detail.down_now as number[]).length === 0 ? uptime : undefined;
      }, 'the restarted member to count as up');
      expect(back.score).toBeLessThan(100);
      const state = await stateOf(world.world_id);
      expect((state.score as Score).objectives.find((o) => o.name === 'errors_handled')).toMatchObject({
        score: 100,
        detail: { crashes: 1, crashes_recovered: 1 },
      });
      // Running on, the share of up time grows back toward 100.
      await until(async () => (await uptimeOf(world.world_id)).score > back.score, 'uptime to recover');
      await client.call('KILL', { agent_id: spawned.agent_id, grace_ms: 1000 });
      await until(async () => (await stateOf(world.world_id)).agent_count === 0, 'the killed agent to leave');
      await call('WORLD_DESTROY', { world_id: world.world_id });
    } finally {
      events.stop();
    }
  });

  it('counts the syscalls members make while in the world; a world without scoring has score null', async () => {
    const world = (await call('WORLD_CREATE', { config: { name: 'counted' } })) as { world_id: string };
    await call('WORLD_STATE', { world_id: world.world_id }); // not a member yet: not counted
    await call('WORLD_JOIN', { world_id: world.world_id });
    await call('NOOP', {});
    await call('NOOP', {});
    const state = await stateOf(world.world_id);
    expect(state.score).toBeNull();
    expect(state.syscalls).toEqual({ total: 3, by_name: { NOOP: 2, WORLD_STATE: 1 } });
    await call('WORLD_LEAVE', {});
    await call('NOOP', {});
    expect((await stateOf(world.world_id)).syscalls).toMatchObject({ total: 4, by_name: { WORLD_LEAVE: 1 } });
    await call('WORLD_DESTROY', { world_id: world.world_id });
  });
});
