/**
 * SET_QUOTA through a real kernel on its socket: who may set one, what a bad request
 * is told, and a `syscalls` quota refusing and suspending real clients and a real
 * process agent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import {
  AGNT_MJS,
  adminToken,
  connect,
  EventLog,
  failure,
  procState,
  readJsonWhenThere,
  script,
  spawnAgent,
  startAgentsKernel,
  until,
} from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let admin: AgentOSClient;
let events: EventLog;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(token: string | null = null): Promise<AgentOSClient> {
  const c = await connect(kernel, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  kernel = await startAgentsKernel({ defaultLevel: 'standard' });
  events = new EventLog(kernel);
  admin = await connect(kernel, adminToken(kernel));
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
  script(dir, 'agnt.mjs', AGNT_MJS);
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

afterAll(async () => {
  events?.stop();
  await admin?.close();
  await kernel?.cleanup();
});

describe('SET_QUOTA', () => {
  it('a non-admin is refused with a clear PERMISSION_DENIED, audited as SYSCALL_BLOCKED', async () => {
    const plain = await client();
    const target = await client();
    const error = await failure(
      plain.call('SET_QUOTA', { agent_id: target.agentId, quota: { syscalls: { limit: 10 } } }),
      'PERMISSION_DENIED',
    );
    expect(error.message).toMatch(/SET_QUOTA denied: .*needs the admin token/);
    const blocked = await events.wait('SYSCALL_BLOCKED', plain.agentId as number);
    expect(blocked.data).toMatchObject({ op: 'SET_QUOTA' });
    // Even on itself.
    await failure(plain.call('SET_QUOTA', { agent_id: plain.agentId, quota: { syscalls: { limit: 10 } } }), 'PERMISSION_DENIED');
  });

  it('bad requests are INVALID_REQUEST naming the field; an unknown agent is NOT_FOUND', async () => {
    const target = await client();
    const id = target.agentId;
    const cases: [unknown, string, RegExp][] = [
      [{ quota: { syscalls: { limit: 1 } } }, 'agent_id', /agent id/],
      [{ agent_id: -3, quota: {} }, 'agent_id', /positive/],
      [{ agent_id: id }, 'quota', /object of quotas/],
      [{ agent_id: id, quota: { cpu_cycles: { limit: 1 } } }, 'quota', /unknown quota resource "cpu_cycles"/],
      [{ agent_id: id, quota: { syscalls: { limit: 0 } } }, 'quota.syscalls.limit', /positive limit/],
      [{ agent_id: id, quota: { syscalls: { limit: 1.5 } } }, 'quota.syscalls.limit', /whole-number/],
      [{ agent_id: id, quota: { syscalls: {} } }, 'quota.syscalls.limit', /expected a limit/],
      [{ agent_id: id, quota: { syscalls: 5 } }, 'quota.syscalls', /limit, window_s, on_exceed/],
      [{ agent_id: id, quota: { llm_tokens: { limit: 5, window_s: 86_401 } } }, 'quota.llm_tokens.window_s', /at most 86400/],
      [{ agent_id: id, quota: { llm_calls: { limit: 5, on_exceed: 'explode' } } }, 'quota.llm_calls.on_exceed', /"refuse" or "suspend"/],
      [{ agent_id: id, quota: { llm_calls: { limit: 5, burst: 3 } } }, 'quota.llm_calls', /burst/],
    ];
    for (const [payload, field, message] of cases) {
      const error = await failure(admin.call('SET_QUOTA', payload), 'INVALID_REQUEST');
      expect(error.reply?.field, JSON.stringify(payload)).toBe(field);
      expect(error.message, JSON.stringify(payload)).toMatch(message);
    }
    await failure(admin.call('SET_QUOTA', { agent_id: 999_999, quota: { syscalls: { limit: 1 } } }), 'NOT_FOUND');
  });

  it('replies with the effective quotas; METRICS shows them; null removes one', async () => {
    const target = await client();
    // Through the SDK's typed methods.
    const reply = await admin.setQuota(target.agentId as number, {
      llm_tokens: { limit: 1000, window_s: 3600 },
      bytes_written: { limit: 10, on_exceed: 'suspend' },
    });
    expect(reply.agent_id).toBe(target.agentId);
    expect(reply.quota.llm_tokens).toMatchObject({ limit: 1000, window_s: 3600, on_exceed: 'refuse', used: 0 });
    expect(reply.quota.bytes_written).toMatchObject({ limit: 10, window_s: 60, on_exceed: 'suspend', used: 0 });
    expect(typeof reply.quota.llm_tokens?.resets_at).toBe('number');
    const seen = await target.metrics();
    expect(Object.keys(seen.metrics.quotas).sort()).toEqual(['bytes_written', 'llm_tokens']);
    const removed = await admin.setQuota(target.agentId as number, { llm_tokens: null });
    expect(Object.keys(removed.quota)).toEqual(['bytes_written']);
  });

  it('a syscalls quota refuses the call beyond it with QUOTA_EXCEEDED (reply and event), warns at 80 %, and never blocks EXIT', async () => {
    const target = await client();
    const id = target.agentId as number;
    await admin.call('SET_QUOTA', { agent_id: id, quota: { syscalls: { limit: 5, window_s: 3600 } } });
    for (let i = 0; i < 5; i++) await target.call('NOOP', {});
    const error = await failure(target.call('LIST', {}), 'QUOTA_EXCEEDED');
    expect(error.message).toMatch(/syscalls quota of agent \d+ is spent: 5 of 5/);
    expect(error.reply).toMatchObject({ resource: 'syscalls', limit: 5, used: 5, window_s: 3600 });
    const exceeded = await events.wait('QUOTA_EXCEEDED', id);
    expect(exceeded.data).toMatchObject({ agent_id: id, op: 'LIST' });
    const warning = await events.wait('RESOURCE_WARNING', id);
    expect(warning.data).toMatchObject({ resource: 'syscalls', used: 4, limit: 5, percent: 80 });
    await target.exit();
  });

  it('suspend holds a client call until the window restarts, then answers it', async () => {
    const target = await client();
    const id = target.agentId as number;
    await admin.call('SET_QUOTA', { agent_id: id, quota: { syscalls: { limit: 2, window_s: 1, on_exceed: 'suspend' } } });
    await target.call('NOOP', {});
    await target.call('NOOP', {});
    const held = target.call('LIST', {});
    const suspended = await events.wait('QUOTA_EXCEEDED', id);
    expect(suspended.data).toMatchObject({ agent_id: id, op: 'LIST', resource: 'syscalls', action: 'suspend' });
    const rows = (await held) as { id: number }[];
    expect(rows.some((row) => row.id === id)).toBe(true);
    const { metrics } = (await admin.call('METRICS', { agent_id: id })) as { metrics: { quotas: { syscalls: { resets_at: number } } } };
    expect(metrics.quotas.syscalls.resets_at).toBeGreaterThan(suspended.data.resumes_at as number);
  });

  it('suspend pauses a process agent (AGENT_PAUSED) until the window restarts, then resumes it and answers its call', async () => {
    const out = join(dir, 'suspend-out');
    mkdirSync(out);
    const path = script(dir, 'caller.mjs', CALLER);
    const spawner = await client(adminToken(kernel));
    const spawned = await spawnAgent(spawner, { name: 'quota-caller', script: path, args: [out] });
    const id = spawned.agent_id;
    await readJsonWhenThere(join(out, 'ready.json'));
    await admin.call('SET_QUOTA', { agent_id: id, quota: { syscalls: { limit: 3, window_s: 2, on_exceed: 'suspend' } } });
    writeFileSync(join(out, 'go'), '');
    // The agent makes calls until one is held; the kernel stops its process meanwhile.
    const paused = await events.wait('AGENT_PAUSED', id);
    expect(paused.data).toMatchObject({ agent_id: id });
    expect((await events.wait('QUOTA_EXCEEDED', id)).data).toMatchObject({ resource: 'syscalls', action: 'suspend' });
    expect(await until(() => procState(spawned.pid) === 'T', 'the agent process to be stopped')).toBe(true);
    await events.wait('AGENT_RESUMED', id);
    // Its held call was answered after the restart: it counted on.
    const report = await readJsonWhenThere<{ calls: number }>(join(out, 'calls-4.json'));
    expect(report.calls).toBe(4);
    await spawner.call('KILL', { id, grace_ms: 1000 });
  });
});

/** Binds with its token, says it is ready, waits for the test's go, then makes NOOP calls one after another, reporting each count. */
const CALLER = `import { existsSync } from 'node:fs';
import { agnt, report } from './agnt.mjs';
const [socketPath, outDir] = process.argv.slice(2);
const conn = agnt(socketPath);
await conn.call(0xfe, { token: process.env.AGENTOS_AGENT_TOKEN });
report(outDir + '/ready.json', { ready: true });
while (!existsSync(outDir + '/go')) await new Promise((resolve) => setTimeout(resolve, 20));
for (let calls = 1; calls <= 6; calls++) {
  await conn.call(0x00, {});
  report(outDir + '/calls-' + calls + '.json', { calls });
}
setInterval(() => {}, 1000);
`;
