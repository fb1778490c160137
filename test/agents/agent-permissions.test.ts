/**
 * Who may SPAWN, KILL, PAUSE and RESUME (protocol.md §6): SPAWN needs can_spawn, a
 * spawned agent never gets more rights than its spawner, and KILL, PAUSE and RESUME
 * reach only one's own descendants unless the caller holds the admin token. Every
 * denial is PERMISSION_DENIED and a SYSCALL_BLOCKED event.
 *
 * Acting as a spawned agent: a holder script writes its one-use token to a file and
 * sleeps; the test presents that token in HELLO, so its connection is that agent.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import {
  AGNT_MJS,
  adminToken,
  connect,
  EventLog,
  failure,
  isGone,
  procState,
  readJsonWhenThere,
  readTextWhenThere,
  row,
  script,
  spawnAgent,
  startAgentsKernel,
  until,
} from './support.js';

let kernel: TestKernel;
let events: EventLog;
let dir: string;
let holder: string;
let logHolder: string;
const clients: AgentOSClient[] = [];

beforeAll(async () => {
  kernel = await startAgentsKernel();
  events = new EventLog(kernel);
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
  holder = script(dir, 'holder.sh', '#!/bin/sh\necho "$AGENTOS_AGENT_TOKEN" > "$2.tmp"\nmv "$2.tmp" "$2"\nexec sleep 60\n', true);
  // Restricted agents run sandboxed (no write to the host's /tmp): this one shows its token in its log instead.
  logHolder = script(dir, 'log-holder.sh', '#!/bin/sh\necho "TOKEN $AGENTOS_AGENT_TOKEN"\nexec sleep 60\n', true);
  script(dir, 'agnt.mjs', AGNT_MJS);
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

let holders = 0;

/** Spawn a holder through `spawner` and connect as it (its token read from its log); returns its id and that connection. */
async function spawnAndBecome(spawner: AgentOSClient, fields: Record<string, unknown> = {}) {
  const spawned = await spawnAgent(spawner, { name: `holder-${++holders}`, script: logHolder, ...fields });
  const token = await until(async () => {
    const { lines } = (await spawner.call('LOGS', { id: spawned.agent_id })) as { lines: { text: string }[] };
    return lines.find((line) => line.text.startsWith('TOKEN '))?.text.slice('TOKEN '.length);
  }, `the token of holder-${holders}`);
  const as = await client(token);
  expect(as.helloReply?.agent_id).toBe(spawned.agent_id);
  return { ...spawned, as };
}

/** The last SYSCALL_BLOCKED event of an agent for `op`. */
function blocked(agentId: number, op: string) {
  return events.events.filter((e) => e.type === 'SYSCALL_BLOCKED' && e.source_agent_id === agentId && e.data.op === op);
}

describe('SPAWN needs can_spawn', () => {
  it('a direct connection at the standard level may not SPAWN, KILL, PAUSE or RESUME', async () => {
    const standard = await startTestKernel();
    const standardEvents = new EventLog(standard);
    try {
      const c = await connect(standard);
      const path = script(standard.dir, 'idle.sh', '#!/bin/sh\nexec sleep 60\n', true);
      const error = await failure(c.call('SPAWN', { name: 'nope', script: path }), 'PERMISSION_DENIED');
      expect(error.message).toMatch(/can_spawn/);
      for (const op of ['KILL', 'PAUSE', 'RESUME']) await failure(c.call(op, { id: 1 }), 'PERMISSION_DENIED');
      const id = c.helloReply?.agent_id as number;
      expect(standardEvents.of('SYSCALL_BLOCKED', id).map((e) => e.data.op)).toEqual(['SPAWN', 'KILL', 'PAUSE', 'RESUME']);
      expect(standard.agents().filter((a) => a.kind === 'process')).toEqual([]);
      await c.close();
    } finally {
      standardEvents.stop();
      await standard.cleanup();
    }
  });

  it('an agent spawned at the standard level is refused when it tries to SPAWN (its own attempt, with its own token)', async () => {
    const owner = await client();
    const tries = script(
      dir,
      'tries-to-spawn.mjs',
      `import { agnt, report } from './agnt.mjs';
const [socketPath, out, target] = process.argv.slice(2);
const conn = agnt(socketPath);
const hello = await conn.call(0xfe, { token: process.env.AGENTOS_AGENT_TOKEN });
const spawn = await conn.call(0x10, { name: 'grandchild', script: target });
report(out, { hello: hello.reply, spawn: spawn.reply });
setInterval(() => {}, 1000);
`,
    );
    const out = join(dir, 'tries.json');
    // Sandboxed (the default for a restricted level): it may write its report only because `dir` is its write path.
    const spawned = await spawnAgent(owner, {
      name: 'std-child',
      script: tries,
      args: [out, holder],
      level: 'standard',
      permissions: { allowed_write_paths: [`${dir}/**`] },
    });
    const result = await readJsonWhenThere<{ hello: { agent_id: number; level: string }; spawn: { success: boolean; code: string } }>(out);
    expect(result.hello).toMatchObject({ agent_id: spawned.agent_id, level: 'standard' });
    expect(result.spawn).toMatchObject({ success: false, code: 'PERMISSION_DENIED' });
    expect(blocked(spawned.agent_id, 'SPAWN')).toHaveLength(1);
    expect(kernel.agents().some((a) => a.name === 'grandchild')).toBe(false);
    await owner.call('KILL', { id: spawned.agent_id });
  });
});

describe('a spawned agent never gets more rights than its spawner', () => {
  it('a level or a flag above the spawner is refused; narrower ones are granted', async () => {
    const owner = await client();
    // standard plus can_spawn: may spawn, but has no network.
    const middle = await spawnAndBecome(owner, { level: 'standard', permissions: { can_spawn: true } });
    expect(middle.as.helloReply?.level).toBe('standard');

    const up = await failure(middle.as.call('SPAWN', { name: 'too-high', script: holder, level: 'unrestricted' }), 'PERMISSION_DENIED');
    expect(up.message).toMatch(/can_network/);
    const flag = await failure(
      middle.as.call('SPAWN', { name: 'too-high', script: holder, permissions: { can_network: true } }),
      'PERMISSION_DENIED',
    );
    expect(flag.message).toMatch(/can_network/);
    await failure(middle.as.call('SPAWN', { name: 'too-high', script: holder, network: true }), 'PERMISSION_DENIED');
    expect(blocked(middle.agent_id, 'SPAWN')).toHaveLength(3);
    expect(kernel.agents().some((a) => a.name === 'too-high')).toBe(false);

    // Same or narrower: granted, and the grandchild is no stronger than the middle agent.
    const same = await spawnAndBecome(middle.as);
    expect(kernel.agents().find((a) => a.id === same.agent_id)?.permissions).toMatchObject({
      can_network: false,
      can_spawn: true,
    });
    expect((await row(owner, same.agent_id))?.parent_id).toBe(middle.agent_id);
    const narrow = await spawnAndBecome(middle.as, { level: 'readonly' });
    expect(narrow.as.helloReply?.level).toBe('readonly');
    await failure(narrow.as.call('SPAWN', { name: 'from-readonly', script: holder }), 'PERMISSION_DENIED');
    await failure(narrow.as.call('EXEC', { command: 'true' }), 'PERMISSION_DENIED');

    // The owner reaches its grandchildren through the middle agent.
    await owner.call('KILL', { id: same.agent_id });
    await owner.call('KILL', { id: narrow.agent_id });
    await owner.call('KILL', { id: middle.agent_id });
  });
});

describe('KILL, PAUSE and RESUME reach descendants only, unless admin', () => {
  it("another client's agent is PERMISSION_DENIED; the admin token reaches it", async () => {
    const owner = await client();
    const stranger = await client();
    const target = await spawnAgent(owner, { name: 'owned', script: holder, args: [join(dir, 'owned-token')] });
    // Settled in its `exec sleep`: a stop while the shell forks `mv` leaves the shell in D (vfork), not T.
    await readTextWhenThere(join(dir, 'owned-token'));
    await until(() => readFileSync(`/proc/${target.pid}/comm`, 'utf8').trim() === 'sleep', 'holder asleep');
    const strangerId = stranger.helloReply?.agent_id as number;

    for (const op of ['KILL', 'PAUSE', 'RESUME', 'LOGS']) {
      const error = await failure(stranger.call(op, { id: target.agent_id }), 'PERMISSION_DENIED');
      expect(error.message).toMatch(/not a descendant/);
      expect(blocked(strangerId, op)).toHaveLength(1);
      await failure(stranger.call(op, { name: 'owned' }), 'PERMISSION_DENIED');
    }
    expect(procState(target.pid)).not.toBe('T');
    expect((await row(owner, target.agent_id))?.state).toBe('running');

    const admin = await client(adminToken(kernel));
    expect(admin.helloReply?.admin).toBe(true);
    await admin.call('PAUSE', { id: target.agent_id });
    await until(() => procState(target.pid) === 'T', 'paused by the admin');
    await admin.call('RESUME', { name: 'owned' });
    await until(() => procState(target.pid) === 'S', 'resumed by the admin');
    expect(await admin.call('LOGS', { id: target.agent_id })).toMatchObject({ success: true, agent_id: target.agent_id });
    expect(await admin.call('KILL', { id: target.agent_id })).toMatchObject({ killed: true });
    expect(isGone(target.pid)).toBe(true);
  });

  it('a spawned agent may act on its own child, not on its sibling nor its parent', async () => {
    const owner = await client();
    const parent = await spawnAndBecome(owner, { permissions: { can_network: false } });
    const sibling = await spawnAndBecome(owner);
    const child = await spawnAgent(parent.as, { name: 'child-of-parent', script: holder, args: [join(dir, 'child-token')] });

    await failure(sibling.as.call('KILL', { id: child.agent_id }), 'PERMISSION_DENIED');
    await failure(sibling.as.call('PAUSE', { id: parent.agent_id }), 'PERMISSION_DENIED');
    await failure(parent.as.call('KILL', { id: sibling.agent_id }), 'PERMISSION_DENIED');
    await failure(sibling.as.call('RESUME', { id: child.agent_id }), 'PERMISSION_DENIED');

    expect(await parent.as.call('PAUSE', { id: child.agent_id })).toMatchObject({ paused: true });
    expect(await parent.as.call('RESUME', { id: child.agent_id })).toMatchObject({ resumed: true });
    expect(await parent.as.call('KILL', { id: child.agent_id })).toMatchObject({ killed: true });
    expect(isGone(child.pid)).toBe(true);
    // An agent may end itself.
    expect(await sibling.as.call('KILL', { id: sibling.agent_id, grace_ms: 1000 })).toMatchObject({ killed: true });
    expect(isGone(sibling.pid)).toBe(true);
    await owner.call('KILL', { id: parent.agent_id });
  });

  it('a bad HELLO token is refused and audited', async () => {
    const c = await connect(kernel, null);
    clients.push(c);
    const id = c.helloReply?.agent_id as number;
    await failure(c.call('HELLO', { token: 'forged-token-xyz' }), 'PERMISSION_DENIED');
    expect(blocked(id, 'HELLO')).toHaveLength(1);
    expect((await c.call('HELLO', {})) as { admin: boolean }).toMatchObject({ admin: false, agent_id: id });
  });
});
