/**
 * A world's `resources.memory_limit` and `cpu_limit` cap each member's own limits: the
 * metrics enforcer holds a member process to the smaller of its limits and its world's,
 * and METRICS reports that limit. Outside the world the agent's own limits apply again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, EventLog, script, spawnAgent, startAgentsKernel } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

const MIB = 1024 * 1024;

let kernel: TestKernel;
let admin: AgentOSClient;
let events: EventLog;

beforeAll(async () => {
  kernel = await startAgentsKernel({ resources: { sampleIntervalMs: 200 } });
  events = new EventLog(kernel);
  admin = await connect(kernel, adminToken(kernel));
});
afterAll(async () => {
  events.stop();
  await admin.close();
  await kernel.cleanup();
});

const limitsOf = async (agentId: number) =>
  (
    (await admin.call('METRICS', { agent_id: agentId })) as {
      metrics: { limits: { memory_bytes: number | null; cpu_percent: number | null } };
    }
  ).metrics.limits;

describe('world resources', () => {
  it('a member over its world’s memory_limit is killed as over its own; METRICS shows the cap', async () => {
    const world = (await admin.call('WORLD_CREATE', {
      config: { name: 'tight', resources: { memory_limit: '8MB', cpu_limit: '50%' } },
    })) as { world_id: string };
    // A Node process idles well above 8 MiB of RSS.
    const idle = script(kernel.dir, 'idle.mjs', 'setInterval(() => {}, 1000);\n');
    const spawned = await spawnAgent(admin, {
      name: 'tight-member',
      script: idle,
      sandboxed: false,
      world_id: world.world_id,
      permissions: { max_memory_bytes: 512 * MIB },
    });
    expect(await limitsOf(spawned.agent_id)).toMatchObject({ memory_bytes: 8 * MIB, cpu_percent: 50 });
    const exceeded = await events.wait('QUOTA_EXCEEDED', spawned.agent_id);
    expect(exceeded.data).toMatchObject({ resource: 'memory', action: 'kill', limit: 8 * MIB });
    await events.wait('AGENT_EXITED', spawned.agent_id);
    await admin.call('WORLD_DESTROY', { world_id: world.world_id, force: true });
  });

  it('without world limits, only the agent’s own apply', async () => {
    const world = (await admin.call('WORLD_CREATE', { config: { name: 'roomy' } })) as { world_id: string };
    const idle = script(kernel.dir, 'idle2.mjs', 'setInterval(() => {}, 1000);\n');
    const spawned = await spawnAgent(admin, {
      name: 'roomy-member',
      script: idle,
      sandboxed: false,
      world_id: world.world_id,
      permissions: { max_memory_bytes: 512 * MIB },
    });
    expect(await limitsOf(spawned.agent_id)).toMatchObject({ memory_bytes: 512 * MIB, cpu_percent: null });
    await admin.call('KILL', { agent_id: spawned.agent_id, grace_ms: 1000 });
    await admin.call('WORLD_DESTROY', { world_id: world.world_id, force: true });
  });
});
