/**
 * Memory and CPU limits of real process agents, enforced from /proc samples: an agent
 * that allocates past max_memory_bytes is killed, a busy loop above max_cpu_percent is
 * throttled down to its share (or killed, or only reported, per policy).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, agentProcess, connect, EventLog, procState, script, spawnAgent, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

const MIB = 1024 * 1024;

interface Seen {
  cpu_percent: number | null;
  memory_bytes: number | null;
  process: { throttled: boolean; throttle_duty: number | null } | null;
  limits: { memory_bytes: number | null; cpu_percent: number | null };
}

async function metricsOf(c: AgentOSClient, agentId: number): Promise<Seen> {
  return ((await c.call('METRICS', { agent_id: agentId })) as { metrics: Seen }).metrics;
}

describe('enforcement with the default policies (memory: kill, cpu: throttle)', () => {
  let kernel: TestKernel;
  let admin: AgentOSClient;
  let events: EventLog;
  let dir: string;

  beforeAll(async () => {
    kernel = await startAgentsKernel({ resources: { sampleIntervalMs: 200 } });
    events = new EventLog(kernel);
    admin = await connect(kernel, adminToken(kernel));
    dir = join(kernel.dir, 'agents');
    mkdirSync(dir);
  });

  afterAll(async () => {
    events?.stop();
    await admin?.close();
    await kernel?.cleanup();
  });

  it('an agent allocating past max_memory_bytes is killed: RESOURCE_WARNING, QUOTA_EXCEEDED (kill), AGENT_EXITED by SIGKILL', async () => {
    const path = script(dir, 'hog.mjs', HOG);
    const spawned = await spawnAgent(admin, {
      name: 'memory-hog',
      script: path,
      args: ['256'],
      permissions: { max_memory_bytes: 64 * MIB },
    });
    const id = spawned.agent_id;
    const exceeded = await events.wait('QUOTA_EXCEEDED', id);
    expect(exceeded.data).toMatchObject({ agent_id: id, resource: 'memory', action: 'kill', limit: 64 * MIB });
    expect(exceeded.data.used as number).toBeGreaterThan(64 * MIB);
    const warning = await events.wait('RESOURCE_WARNING', id);
    expect(warning.data).toMatchObject({ resource: 'memory', limit: 64 * MIB });
    const exited = await events.wait('AGENT_EXITED', id);
    expect(exited.data).toMatchObject({ agent_id: id, signal: 'SIGKILL' });
  });

  it('a busy loop above max_cpu_percent is throttled down to about its share; PAUSE stays in force while throttled', async () => {
    const path = script(dir, 'spin.mjs', SPIN);
    const spawned = await spawnAgent(admin, { name: 'spinner', script: path, permissions: { max_cpu_percent: 20 } });
    const id = spawned.agent_id;
    const exceeded = await events.wait('QUOTA_EXCEEDED', id);
    expect(exceeded.data).toMatchObject({ agent_id: id, resource: 'cpu', action: 'throttle', limit: 20 });
    expect((await events.wait('RESOURCE_WARNING', id)).data).toMatchObject({ resource: 'cpu', limit: 20 });
    const throttled = await until(
      async () => {
        const seen = await metricsOf(admin, id);
        // Measured over one sampling interval, so allow for a period's rounding.
        return seen.process?.throttled && seen.cpu_percent !== null && seen.cpu_percent <= 35 ? seen : undefined;
      },
      'the spinner to be held near 20 % of a core',
      20_000,
    );
    expect(throttled.limits.cpu_percent).toBe(20);
    expect(throttled.process?.throttle_duty).toBeLessThan(1);

    // A paused agent is not continued by its throttle.
    await admin.call('PAUSE', { id });
    // The spinner itself, not bwrap around it (a sandboxed agent: bwrap only waits).
    const spinner = agentProcess(spawned.pid);
    // SIGSTOP is queued, not instant: the process stops when it is next scheduled.
    await until(() => procState(spinner) === 'T', 'the paused spinner to stop', 20_000);
    await kernel.metrics.processes.tick();
    await kernel.metrics.processes.tick();
    expect(procState(spinner)).toBe('T');
    expect(
      kernel
        .agents()
        .find((agent) => agent.id === id)
        ?.runtime?.slot.getSnapshot()
        .matches({ alive: 'paused' }),
    ).toBe(true);
    await admin.call('RESUME', { id });
    await admin.call('KILL', { id, grace_ms: 1000 });
    await events.wait('AGENT_EXITED', id);
  }, 60_000);
});

describe('enforcement with other policies (memory: warn, cpu: kill)', () => {
  let kernel: TestKernel;
  let admin: AgentOSClient;
  let events: EventLog;
  let dir: string;

  beforeAll(async () => {
    kernel = await startAgentsKernel({ resources: { sampleIntervalMs: 200, memoryPolicy: 'warn', cpuPolicy: 'kill' } });
    events = new EventLog(kernel);
    admin = await connect(kernel, adminToken(kernel));
    dir = join(kernel.dir, 'agents');
    mkdirSync(dir);
  });

  afterAll(async () => {
    events?.stop();
    await admin?.close();
    await kernel?.cleanup();
  });

  it('cpu "kill": a busy loop above its max_cpu_percent share is killed', async () => {
    const path = script(dir, 'spin.mjs', SPIN);
    const spawned = await spawnAgent(admin, { name: 'spin-kill', script: path, permissions: { max_cpu_percent: 10 } });
    const id = spawned.agent_id;
    const exceeded = await events.wait('QUOTA_EXCEEDED', id);
    expect(exceeded.data).toMatchObject({ agent_id: id, resource: 'cpu', action: 'kill', limit: 10 });
    expect((await events.wait('AGENT_EXITED', id)).data).toMatchObject({ signal: 'SIGKILL' });
  });

  it('memory "warn": the agent over its limit is reported once and keeps running', async () => {
    const path = script(dir, 'hog.mjs', HOG);
    const spawned = await spawnAgent(admin, {
      name: 'hog-warned',
      script: path,
      args: ['96'],
      permissions: { max_memory_bytes: 32 * MIB },
    });
    const id = spawned.agent_id;
    const exceeded = await events.wait('QUOTA_EXCEEDED', id);
    expect(exceeded.data).toMatchObject({ agent_id: id, resource: 'memory', action: 'none', limit: 32 * MIB });
    await kernel.metrics.processes.tick();
    await kernel.metrics.processes.tick();
    expect(procState(spawned.pid)).toMatch(/[RS]/);
    expect(events.of('QUOTA_EXCEEDED', id)).toHaveLength(1);
    expect((await metricsOf(admin, id)).memory_bytes).toBeGreaterThan(32 * MIB);
    await admin.call('KILL', { id, grace_ms: 1000 });
    await events.wait('AGENT_EXITED', id);
  });
});

/** Allocates `argv[3]` MiB in 16 MiB steps (each filled, so it is resident), then holds it. */
const HOG = `const total = Number(process.argv[3]);
const held = [];
for (let mib = 0; mib < total; mib += 16) {
  held.push(Buffer.alloc(16 * 1024 * 1024, 1));
  await new Promise((resolve) => setTimeout(resolve, 20));
}
setInterval(() => held.length, 1000);
`;

/** Spins forever. */
const SPIN = `for (;;) {}
`;
