/**
 * GET_PERMS and SET_PERMS over the real socket (protocol.md §6): narrowing oneself is
 * allowed and sticks; widening oneself, changing a stranger, or granting a child more
 * than one holds is PERMISSION_DENIED with a SYSCALL_BLOCKED event; the admin token
 * reaches everyone. SPAWN obeys the same rules for every field of the model.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/protocol/schemas/permissions.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import {
  adminToken,
  connect,
  EventLog,
  failure,
  readTextWhenThere,
  script,
  spawnAgent,
  startAgentsKernel,
  until,
} from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

interface PermsReply {
  agent_id: number;
  level: string;
  admin: boolean;
  permissions: typeof PRESETS.standard;
}

let kernel: TestKernel;
let events: EventLog;
let dir: string;
let holder: string;
const clients: AgentOSClient[] = [];
let holders = 0;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  events = new EventLog(kernel);
  dir = join(kernel.dir, 'perms');
  mkdirSync(dir);
  holder = script(dir, 'holder.sh', '#!/bin/sh\necho "$AGENTOS_AGENT_TOKEN" > "$2.tmp"\nmv "$2.tmp" "$2"\nexec sleep 60\n', true);
});

afterAll(async () => {
  events?.stop();
  await Promise.all(clients.map((c) => c.close()));
  await kernel?.cleanup();
});

async function client(token: string | null = null): Promise<AgentOSClient> {
  const c = await connect(kernel, token);
  clients.push(c);
  return c;
}

/** A direct connection narrowed to `level` by itself. */
async function at(level: string): Promise<AgentOSClient> {
  const c = await client();
  await c.call('SET_PERMS', { level });
  return c;
}

/** Spawn a holder through `spawner` and connect as it. */
async function spawnAndBecome(spawner: AgentOSClient, fields: Record<string, unknown> = {}) {
  const out = join(dir, `token-${++holders}`);
  // Unsandboxed on purpose: the holder hands its token over through a file in the test's /tmp directory.
  const spawned = await spawnAgent(spawner, { name: `perm-holder-${holders}`, script: holder, args: [out], sandboxed: false, ...fields });
  return { ...spawned, as: await client(await readTextWhenThere(out)) };
}

const perms = async (c: AgentOSClient, agentId?: number) =>
  (await c.call('GET_PERMS', agentId === undefined ? {} : { agent_id: agentId })) as PermsReply;

async function blockedFor(agentId: number, op: string) {
  const event = await until(
    () => events.events.find((e) => e.type === 'SYSCALL_BLOCKED' && e.source_agent_id === agentId && e.data.op === op),
    `SYSCALL_BLOCKED ${op} of ${agentId}`,
  );
  const { entries } = kernel.audit.query({ category: 'denial', agent_id: agentId });
  expect(entries.filter((entry) => entry.op === op).map((entry) => entry.detail)).toContainEqual(
    // The audit keeps at most 4 KiB of a detail: a long list of escalations is cut.
    expect.objectContaining({ reason: expect.stringContaining(String(event.data.reason).slice(0, 200)) }),
  );
  return event;
}

describe('GET_PERMS', () => {
  it('shows one’s own level and every field of the model', async () => {
    const c = await client();
    const reply = await perms(c);
    expect(reply).toMatchObject({ agent_id: c.agentId, level: 'unrestricted', admin: false, permissions: PRESETS.unrestricted });
  });

  it('another agent’s only for its spawner (or an ancestor) or an admin', async () => {
    const parent = await client();
    const child = await spawnAndBecome(parent, { level: 'standard' });
    expect((await perms(parent, child.agent_id)).level).toBe('standard');
    const stranger = await client();
    const denied = await failure(stranger.call('GET_PERMS', { agent_id: child.agent_id }), 'PERMISSION_DENIED');
    expect(denied.message).toMatch(/was not spawned by agent/);
    await blockedFor(stranger.agentId as number, 'GET_PERMS');
    const admin = await client(adminToken(kernel));
    expect((await perms(admin, child.agent_id)).permissions).toEqual(PRESETS.standard);
    await failure(parent.call('GET_PERMS', { agent_id: 999_999 }), 'NOT_FOUND');
  });
});

describe('SET_PERMS on oneself', () => {
  it('narrows, and the narrower rights are enforced at once', async () => {
    const c = await client();
    const reply = (await c.call('SET_PERMS', { level: 'readonly' })) as PermsReply;
    expect(reply).toMatchObject({ level: 'readonly', permissions: PRESETS.readonly });
    await failure(c.call('EXEC', { command: 'true' }), 'PERMISSION_DENIED');
    await failure(c.call('WRITE', { path: join(dir, 'x.txt'), content: 'x' }), 'PERMISSION_DENIED');
    const fields = (await c.call('SET_PERMS', { permissions: { can_read: false } })) as PermsReply;
    expect(fields).toMatchObject({ level: 'readonly', permissions: { ...PRESETS.readonly, can_read: false } });
  });

  it('never widens: back to a wider level, a flag, a path, a domain, a blocked entry removed', async () => {
    const c = await at('standard');
    const id = c.agentId as number;
    const cases: Record<string, unknown>[] = [
      { level: 'unrestricted' },
      { permissions: { can_network: true } },
      { permissions: { can_spawn: true } },
      { permissions: { allowed_write_paths: ['/etc/**'] } },
      { permissions: { allowed_domains: ['*'] } },
      { permissions: { blocked_paths: [] } },
      { permissions: { blocked_commands: ['rm -rf /'] } },
    ];
    for (const request of cases) {
      const denied = await failure(c.call('SET_PERMS', request), 'PERMISSION_DENIED');
      expect(denied.message).toMatch(/SET_PERMS denied: the new rights exceed/);
    }
    await blockedFor(id, 'SET_PERMS');
    expect((await perms(c)).permissions).toEqual(PRESETS.standard);
    // A sandboxed agent cannot leave its sandbox.
    const sandboxed = await at('sandboxed');
    const out = await failure(sandboxed.call('SET_PERMS', { permissions: { sandboxed: false } }), 'PERMISSION_DENIED');
    expect(out.message).toMatch(/sandboxed: the granter is sandboxed/);
  });

  it('rejects bad requests naming the field', async () => {
    const c = await client();
    expect((await failure(c.call('SET_PERMS', {}), 'INVALID_REQUEST')).message).toMatch(/level/);
    expect((await failure(c.call('SET_PERMS', { level: 'root' }), 'INVALID_REQUEST')).message).toMatch(/level/);
    expect((await failure(c.call('SET_PERMS', { permissions: { can_fly: true } }), 'INVALID_REQUEST')).message).toMatch(/can_fly/);
    expect((await failure(c.call('SET_PERMS', { permissions: { allowed_read_paths: ['ok', ''] } }), 'INVALID_REQUEST')).message).toMatch(
      /allowed_read_paths/,
    );
    expect((await failure(c.call('SET_PERMS', { permissions: { max_cpu_percent: -5 } }), 'INVALID_REQUEST')).message).toMatch(
      /max_cpu_percent/,
    );
    expect((await perms(c)).level).toBe('unrestricted');
  });
});

describe('SET_PERMS on another agent', () => {
  it('a spawner may change its child within its own rights, never beyond', async () => {
    const owner = await client();
    const middle = await spawnAndBecome(owner, { level: 'standard', permissions: { can_spawn: true } });
    const child = await spawnAndBecome(middle.as, { level: 'readonly' });
    const widened = (await middle.as.call('SET_PERMS', { agent_id: child.agent_id, level: 'standard' })) as PermsReply;
    expect(widened.permissions).toEqual(PRESETS.standard);
    const denied = await failure(
      middle.as.call('SET_PERMS', { agent_id: child.agent_id, permissions: { can_network: true } }),
      'PERMISSION_DENIED',
    );
    expect(denied.message).toMatch(/can_network/);
    // The owner is an ancestor of the grandchild: it may, within its own (unrestricted) rights.
    const byOwner = (await owner.call('SET_PERMS', { agent_id: child.agent_id, permissions: { can_network: true } })) as PermsReply;
    expect(byOwner.permissions.can_network).toBe(true);
  });

  it('a stranger may not; an admin may do anything', async () => {
    const owner = await client();
    const child = await spawnAndBecome(owner, { level: 'minimal' });
    const stranger = await client();
    await failure(stranger.call('SET_PERMS', { agent_id: child.agent_id, level: 'minimal' }), 'PERMISSION_DENIED');
    await failure(child.as.call('SET_PERMS', { agent_id: owner.agentId, level: 'minimal' }), 'PERMISSION_DENIED');
    await blockedFor(stranger.agentId as number, 'SET_PERMS');
    const admin = await client(adminToken(kernel));
    const reply = (await admin.call('SET_PERMS', { agent_id: child.agent_id, level: 'unrestricted' })) as PermsReply;
    expect(reply).toMatchObject({ level: 'unrestricted', permissions: PRESETS.unrestricted });
  });
});

describe('SPAWN grants no more than the spawner holds', () => {
  it('refuses every field that would exceed, naming it', async () => {
    const owner = await client();
    const middle = await spawnAndBecome(owner, { level: 'standard', permissions: { can_spawn: true, max_llm_calls_per_min: 10 } });
    const attempts: [Record<string, unknown>, RegExp][] = [
      [{ level: 'unrestricted' }, /can_network/],
      [{ permissions: { allowed_domains: ['example.com'] } }, /allowed_domains/],
      [{ permissions: { blocked_paths: [] } }, /blocked_paths/],
      [{ permissions: { allowed_write_paths: ['/etc/**'] } }, /allowed_write_paths/],
      [{ permissions: { max_llm_calls_per_min: null } }, /max_llm_calls_per_min/],
      [{ permissions: { can_spawn: true, allowed_read_paths: ['/**'], typo_field: true } }, /typo_field/],
    ];
    for (const [fields, reason] of attempts) {
      const error = await failure(
        middle.as.call('SPAWN', { name: `too-much-${++holders}`, script: holder, args: [join(dir, 'never')], ...fields }),
        fields.permissions && 'typo_field' in (fields.permissions as object) ? 'INVALID_REQUEST' : 'PERMISSION_DENIED',
      );
      expect(error.message).toMatch(reason);
    }
    await blockedFor(middle.agent_id, 'SPAWN');
    const narrower = await spawnAndBecome(middle.as, { level: 'readonly', permissions: { max_llm_calls_per_min: 5 } });
    expect((await perms(narrower.as)).permissions).toMatchObject({ can_read: true, can_exec: false, max_llm_calls_per_min: 5 });
  });
});
