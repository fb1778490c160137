/**
 * METRICS, METRICS_ALL, METRICS_SYSTEM and METRICS_CGROUP through a real kernel: who
 * may see whose figures, the counters READ and WRITE feed, a real process agent's
 * memory and CPU time, and the machine's figures (or why one is missing).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, failure, script, spawnAgent, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let admin: AgentOSClient;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(token: string | null = null): Promise<AgentOSClient> {
  const c = await connect(kernel, token);
  clients.push(c);
  return c;
}

interface AgentMetrics {
  agent_id: number;
  name: string | null;
  kind: string;
  status: string;
  pid: number | null;
  syscall_count: number;
  syscalls_by_op: Record<string, number>;
  bytes_read: number;
  bytes_written: number;
  llm_calls: number;
  memory_bytes: number | null;
  cpu_time_ms: number | null;
  cpu_percent: number | null;
  process: { pid: number; processes: number; memory_source: string; rss_bytes: number } | null;
  limits: { memory_bytes: number | null; cpu_percent: number | null; llm_calls_per_min: number | null };
  kernel_stats: Record<string, number>;
  unavailable: Record<string, string>;
}

async function metricsOf(c: AgentOSClient, agentId?: number): Promise<AgentMetrics> {
  const reply = (await c.call('METRICS', agentId === undefined ? {} : { agent_id: agentId })) as { metrics: AgentMetrics };
  return reply.metrics;
}

beforeAll(async () => {
  kernel = await startAgentsKernel({ defaultLevel: 'standard', resources: { sampleIntervalMs: 200 } });
  admin = await connect(kernel, adminToken(kernel));
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

afterAll(async () => {
  await admin?.close();
  await kernel?.cleanup();
});

describe('METRICS', () => {
  it("an agent's own: syscalls by op, bytes READ and WRITE moved, and why a client has no memory figure", async () => {
    const c = await client();
    const file = join(kernel.dir, 'metrics-io.txt');
    await c.write({ path: file, content: 'x'.repeat(1000) });
    await c.read(file);
    await c.read({ path: file, offset: 900 });
    const m = await metricsOf(c);
    expect(m).toMatchObject({
      agent_id: c.agentId,
      kind: 'client',
      status: 'connected',
      bytes_written: 1000,
      bytes_read: 1100,
      llm_calls: 0,
    });
    // HELLO, WRITE, two READs, and this METRICS.
    expect(m.syscall_count).toBe(5);
    expect(m.syscalls_by_op).toMatchObject({ HELLO: 1, WRITE: 1, READ: 2, METRICS: 1 });
    expect(m.kernel_stats).toMatchObject({ syscall_count: 5, bytes_read: 1100, bytes_written: 1000 });
    expect(m.memory_bytes).toBeNull();
    expect(m.cpu_time_ms).toBeNull();
    expect(m.process).toBeNull();
    expect(m.unavailable.memory_bytes).toMatch(/client agent: memory and CPU are measured for process agents only/);
  });

  it("another agent's: refused unless the caller spawned it (or an ancestor did) or holds the admin token", async () => {
    const a = await client();
    const b = await client();
    const error = await failure(a.call('METRICS', { agent_id: b.agentId }), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/was not spawned by agent/);
    await failure(a.call('METRICS', { agent_id: 999_999 }), 'NOT_FOUND');
    const bad = await failure(a.call('METRICS', { agent_id: 'me' }), 'INVALID_REQUEST');
    expect(bad.reply?.field).toBe('agent_id');
    expect((await metricsOf(admin, b.agentId)).agent_id).toBe(b.agentId);
  });

  it("a process agent's memory and CPU time from /proc, seen by its spawner", async () => {
    const spawner = await client(adminToken(kernel));
    const path = script(dir, 'hold.mjs', HOLD);
    const spawned = await spawnAgent(spawner, { name: 'metered', script: path, args: ['48'] });
    // The agent holds 48 MiB and burns some CPU before it idles.
    const m = await until(async () => {
      const seen = await metricsOf(spawner, spawned.agent_id);
      return seen.memory_bytes !== null && seen.memory_bytes > 48 * 1024 * 1024 && (seen.cpu_time_ms ?? 0) > 0 ? seen : undefined;
    }, 'the agent to hold its memory');
    expect(m).toMatchObject({ kind: 'process', status: 'running', pid: spawned.pid });
    expect(m.process).toMatchObject({ pid: spawned.pid, processes: 1 });
    expect(['proc', 'cgroup']).toContain(m.process?.memory_source);
    expect(m.process?.rss_bytes).toBeGreaterThan(48 * 1024 * 1024);
    expect(m.limits).toEqual({ memory_bytes: null, cpu_percent: null, llm_calls_per_min: null });
    await spawner.call('KILL', { id: spawned.agent_id, grace_ms: 1000 });
  });
});

describe('METRICS_ALL', () => {
  it('needs the admin token; lists every agent with kernel totals that outlive ended agents', async () => {
    const plain = await client();
    const error = await failure(plain.call('METRICS_ALL', {}), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/admin token/);
    // The alias number (0xC2) is the same call.
    await failure(plain.call(0xc2, {}), 'PERMISSION_DENIED');

    const before = (await admin.call('METRICS_ALL', {})) as { kernel: { syscall_count: number } };
    const gone = await client();
    await gone.call('NOOP', {});
    await gone.close();
    await until(() => !kernel.agents().some((agent) => agent.id === gone.agentId), 'the closed client to end');
    const all = (await admin.call('METRICS_ALL', {})) as {
      agents: AgentMetrics[];
      count: number;
      kernel: { syscall_count: number; uptime_ms: number; pid: number };
    };
    expect(all.count).toBe(all.agents.length);
    expect(all.agents.map((agent) => agent.agent_id)).toContain(plain.agentId);
    expect(all.agents.map((agent) => agent.agent_id)).not.toContain(gone.agentId);
    // HELLO, NOOP of the ended client, plus this call and the others' since.
    expect(all.kernel.syscall_count).toBeGreaterThanOrEqual(before.kernel.syscall_count + 3);
    expect(all.kernel.pid).toBe(process.pid);
  });
});

describe('METRICS_SYSTEM', () => {
  it("the machine's CPU, memory, load, data-directory disk and network, and the kernel process", async () => {
    const c = await client();
    const first = (await c.call('METRICS_SYSTEM', {})) as { metrics: Record<string, Record<string, unknown>> };
    const { metrics } = (await c.call(0xc0, {})) as { metrics: Record<string, Record<string, unknown>> };
    expect(first.metrics.cpu?.count).toBeGreaterThan(0);
    expect(metrics.cpu?.interval_ms).not.toBeNull();
    expect(metrics.cpu?.load_avg).toHaveLength(3);
    expect(metrics.memory?.total_bytes).toBeGreaterThan(0);
    expect(metrics.memory?.available_bytes).toBeGreaterThan(0);
    expect(metrics.disk).toMatchObject({ path: kernel.options.dataDir });
    expect(metrics.disk?.total_bytes).toBeGreaterThan(0);
    expect(Array.isArray(metrics.network?.interfaces)).toBe(true);
    expect(metrics.kernel).toMatchObject({ pid: process.pid });
    expect(metrics.kernel?.rss_bytes).toBeGreaterThan(0);
    expect(typeof metrics.unavailable).toBe('object');
  });
});

describe('METRICS_CGROUP', () => {
  it("the kernel's own group: each controller's figures or the reason they are missing", async () => {
    const c = await client();
    const reply = (await c.call('METRICS_CGROUP', {})) as {
      scope: string;
      available: boolean;
      metrics: { version: string; memory: unknown; cpu: unknown; pids: unknown; unavailable: Record<string, string> };
    };
    expect(reply).toMatchObject({ scope: 'kernel', available: true });
    expect(['v1', 'v2', 'hybrid']).toContain(reply.metrics.version);
    for (const controller of ['memory', 'cpu', 'pids'] as const) {
      // Either figures, or a reason: never silent zeros.
      if (reply.metrics[controller] === null) expect(reply.metrics.unavailable[controller]).toMatch(/\w+/);
    }
  });

  it('an agent without a group of its own is told why; another agent is refused as for METRICS', async () => {
    const a = await client();
    const b = await client();
    const reply = (await a.call('METRICS_CGROUP', { agent_id: a.agentId })) as { available: boolean; reason: string; metrics: null };
    expect(reply).toMatchObject({ available: false, metrics: null });
    expect(reply.reason).toMatch(/no running process/);
    await failure(a.call('METRICS_CGROUP', { agent_id: b.agentId }), 'PERMISSION_DENIED');
  });
});

/** Holds `argv[3]` MiB, spins a moment so it has CPU time, then idles. */
const HOLD = `const mib = Number(process.argv[3]);
const held = Buffer.alloc(mib * 1024 * 1024, 1);
const until = Date.now() + 100;
while (Date.now() < until) {}
setInterval(() => held[0]++, 1000);
`;
