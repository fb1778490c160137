/**
 * Every category of the audit log has a source in a real kernel, reached through
 * syscalls alone: denials (the router's check and a handler's own), the agent lifecycle,
 * permission changes, quota breaches and admin actions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/protocol/schemas/audit.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, failure, script, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { adminClient, entries, levelClient, plainClient } from './support.js';

let kernel: TestKernel;
let dir: string;
const clients: AgentOSClient[] = [];

async function track(client: Promise<AgentOSClient>): Promise<AgentOSClient> {
  const c = await client;
  clients.push(c);
  return c;
}

beforeAll(async () => {
  kernel = await startTestKernel({ stateMaxValueBytes: 1024 });
  dir = await mkdtemp(join(tmpdir(), 'agentos-audit-sources-'));
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await kernel?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const ops = (list: AuditEntry[]) => list.map((e) => e.op);

describe('audit sources', () => {
  it('the kernel start is the first entry', () => {
    expect(entries(kernel)[0]).toMatchObject({ category: 'admin', op: 'kernel_start', agent_id: null });
  });

  it('denials: the router refusing an opcode, and a handler refusing a request, each with its reason', async () => {
    const plain = await track(plainClient(kernel, 'denied-one'));
    const blocked: unknown[] = [];
    const off = kernel.events.on((event) => event.type === 'SYSCALL_BLOCKED' && blocked.push(event));
    await failure(plain.call('SPAWN', { name: 'x', script: '/bin/true' }), 'PERMISSION_DENIED');
    await failure(plain.emit('AGENT_EXITED', { agent_id: 1 }), 'PERMISSION_DENIED');
    // SET_PERMS beyond its own rights: the handler's details come along.
    await failure(plain.call('SET_PERMS', { level: 'unrestricted' }), 'PERMISSION_DENIED');
    off();
    const denials = entries(kernel, { category: 'denial', agent_id: plain.agentId });
    expect(denials).toHaveLength(3);
    expect(blocked).toHaveLength(3);
    expect(denials[0]).toMatchObject({
      agent_name: 'denied-one',
      op: 'SPAWN',
      detail: { reason: 'needs can_spawn', level: 'standard' },
    });
    expect(denials[1]).toMatchObject({ op: 'EMIT', detail: { reason: expect.stringContaining('AGENT_EXITED') } });
    expect(denials[2]).toMatchObject({ op: 'SET_PERMS', detail: { escalations: expect.any(Array), level: 'standard' } });
  });

  it('lifecycle: spawn, exit, restart, escalation, pause and resume of real process agents', async () => {
    const admin = await track(adminClient(kernel));
    const crash = script(dir, 'crash.sh', '#!/bin/sh\nexit 7\n', true);
    const looping = (await admin.spawn({
      name: 'crashloop',
      script: crash,
      restart_policy: 'on-failure',
      max_restarts: 1,
      restart_window: 60,
    })) as { agent_id: number };
    const loop = await until(() => {
      const found = entries(kernel, { category: 'lifecycle', agent_id: looping.agent_id });
      return found.some((e) => e.op === 'AGENT_ESCALATED') ? found : undefined;
    }, 'AGENT_ESCALATED in the audit log');
    expect(ops(loop).slice(0, 3)).toEqual(['AGENT_SPAWNED', 'AGENT_EXITED', 'AGENT_RESTARTING']);
    expect(loop.find((e) => e.op === 'AGENT_EXITED')).toMatchObject({ agent_name: 'crashloop', detail: { exit_code: 7, reason: 'crash' } });

    const sleeper = script(dir, 'sleeper.sh', '#!/bin/sh\nexec sleep 60\n', true);
    const sleeping = await admin.spawn({ name: 'sleeper', script: sleeper });
    await admin.pause(sleeping.agent_id);
    await admin.resume(sleeping.agent_id);
    await admin.kill(sleeping.agent_id, { graceMs: 1000 });
    const life = await until(() => {
      const found = entries(kernel, { category: 'lifecycle', agent_id: sleeping.agent_id });
      return found.some((e) => e.op === 'AGENT_EXITED') ? found : undefined;
    }, 'the sleeper to exit');
    expect(ops(life)).toEqual(['AGENT_SPAWNED', 'AGENT_PAUSED', 'AGENT_RESUMED', 'AGENT_EXITED']);
    expect(life.every((e) => e.agent_name === 'sleeper')).toBe(true);
  });

  it('permission changes: SET_PERMS, with who changed what (and never a value)', async () => {
    const plain = await track(plainClient(kernel, 'narrowing'));
    await plain.call('SET_PERMS', { level: 'readonly' });
    const [change] = entries(kernel, { category: 'permission', agent_id: plain.agentId });
    expect(change).toMatchObject({
      agent_name: 'narrowing',
      op: 'SET_PERMS',
      detail: { by: plain.agentId, by_name: 'narrowing', level_before: 'standard', level: 'readonly' },
    });
    expect(change?.detail.changed).toEqual(expect.arrayContaining(['can_exec', 'can_write']));
  });

  it('quota breaches: a call refused for a limit', async () => {
    const plain = await track(plainClient(kernel, 'hoarder'));
    await failure(plain.store('big', 'x'.repeat(2048)), 'QUOTA_EXCEEDED');
    const [breach] = entries(kernel, { category: 'quota', agent_id: plain.agentId });
    expect(breach).toMatchObject({ agent_name: 'hoarder', op: 'STORE', detail: { reason: expect.stringContaining('at most 1024') } });
  });

  it('admin actions: the admin token presented (never the token itself) and SET_AUDIT_CONFIG', async () => {
    const admin = await track(adminClient(kernel));
    await admin.setAuditConfig({ log_quota: false });
    await admin.setAuditConfig({ log_quota: true });
    const mine = entries(kernel, { category: 'admin', agent_id: admin.agentId });
    expect(mine.map((e) => [e.op, e.detail])).toEqual([
      ['HELLO', { admin_token: 'presented', transport: 'unix' }],
      ['SET_AUDIT_CONFIG', { changed: { log_quota: { before: true, after: false } } }],
      ['SET_AUDIT_CONFIG', { changed: { log_quota: { before: false, after: true } } }],
    ]);
    expect(JSON.stringify(entries(kernel))).not.toContain(adminToken(kernel));
  });

  it('a denial of an in-process agent is audited the same way', async () => {
    const minimal = await track(levelClient(kernel, 'minimal'));
    await failure(minimal.exec('true'), 'PERMISSION_DENIED');
    expect(entries(kernel, { category: 'denial', agent_id: minimal.agentId })).toMatchObject([
      { op: 'EXEC', detail: { reason: 'needs can_exec', level: 'minimal' } },
    ]);
  });
});
