/**
 * Process agents end to end on a real kernel: SPAWN by extension or interpreter, the
 * child's environment and arguments, binding by spawn token, restart policies and
 * escalation, PAUSE/RESUME of the whole process group, KILL, LIST, TREE and the
 * AGENT_* events.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TreeNode } from '../../src/protocol/schemas/agents.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import type { TestKernel } from '../helpers/kernel.js';
import {
  AGNT_MJS,
  adminToken,
  connect,
  EventLog,
  failure,
  isGone,
  listAgents,
  liveGroupMembers,
  procState,
  readJsonWhenThere,
  readTextWhenThere,
  row,
  script,
  spawnAgent,
  startAgentsKernel,
  until,
} from './support.js';

const SECRET_NAME = 'AGENTOS_TEST_KERNEL_SECRET';
const SECRET = 'do-not-leak-7f3a';

let kernel: TestKernel;
let client: AgentOSClient;
let events: EventLog;
let dir: string;

beforeAll(async () => {
  // In the kernel's environment before it starts: a spawned agent must not see it.
  process.env[SECRET_NAME] = SECRET;
  kernel = await startAgentsKernel();
  events = new EventLog(kernel);
  client = await connect(kernel);
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
  script(dir, 'agnt.mjs', AGNT_MJS);
});

afterAll(async () => {
  delete process.env[SECRET_NAME];
  events?.stop();
  await client?.close();
  await kernel?.cleanup();
});

/** What a reporting agent wrote: its arguments after the script, and its environment. */
interface EnvReport {
  args: string[];
  env: Record<string, string>;
}

const PY_REPORT = `import json, os, sys
out = sys.argv[2]
with open(out + '.tmp', 'w') as f:
    json.dump({'args': sys.argv[1:], 'env': dict(os.environ)}, f)
os.rename(out + '.tmp', out)
`;

const JS_REPORT = `import { renameSync, writeFileSync } from 'node:fs';
const out = process.argv[3];
writeFileSync(out + '.tmp', JSON.stringify({ args: process.argv.slice(2), env: process.env }));
renameSync(out + '.tmp', out);
`;

const CJS_REPORT = `const { renameSync, writeFileSync } = require('node:fs');
const out = process.argv[3];
writeFileSync(out + '.tmp', JSON.stringify({ args: process.argv.slice(2), env: process.env }));
renameSync(out + '.tmp', out);
`;

const TS_REPORT = `import { renameSync, writeFileSync } from 'node:fs';
const out: string = process.argv[3] as string;
const report: { args: string[]; env: NodeJS.ProcessEnv } = { args: process.argv.slice(2), env: process.env };
writeFileSync(out + '.tmp', JSON.stringify(report));
renameSync(out + '.tmp', out);
`;

/** An executable with a shebang and no known extension: run directly. */
const SH_REPORT = `#!/bin/sh
out="$2"
{
  printf '{"args":['
  first=1
  for a in "$@"; do
    if [ $first = 1 ]; then first=0; else printf ','; fi
    printf '"%s"' "$a"
  done
  printf '],"env":{'
  first=1
  for name in $(env | sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p'); do
    if [ $first = 1 ]; then first=0; else printf ','; fi
    eval "value=\\$$name"
    printf '"%s":"%s"' "$name" "$value"
  done
  printf '}}'
} > "$out.tmp"
mv "$out.tmp" "$out"
`;

/** Variables a spawned agent may see: the kernel's short allow-list, its own three, and what SPAWN passed. */
const ALLOWED_ENV = new Set([
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'AGENTOS_SOCKET',
  'AGENTOS_AGENT_ID',
  'AGENTOS_AGENT_TOKEN',
  'AGENT_EXTRA',
  // Set by the interpreter or the shell itself, not inherited.
  'PWD',
  'SHLVL',
  '_',
  'OLDPWD',
]);

describe('SPAWN: interpreters, environment, arguments', () => {
  const cases = [
    { file: 'report.py', body: PY_REPORT, executable: false, interpreter: undefined },
    { file: 'report.mjs', body: JS_REPORT, executable: false, interpreter: undefined },
    { file: 'report.cjs', body: CJS_REPORT, executable: false, interpreter: undefined },
    { file: 'report.js', body: CJS_REPORT, executable: false, interpreter: undefined },
    { file: 'report.ts', body: TS_REPORT, executable: false, interpreter: undefined },
    { file: 'report-exe', body: SH_REPORT, executable: true, interpreter: undefined },
    // The request's interpreter wins over the extension (or its absence).
    { file: 'report-py.txt', body: PY_REPORT, executable: false, interpreter: 'python3' },
    { file: 'report-node.txt', body: CJS_REPORT, executable: false, interpreter: 'node' },
    { file: 'report-sh.txt', body: SH_REPORT, executable: false, interpreter: '/bin/sh' },
  ];

  it('runs each script with the right interpreter; the child gets socket, id, one token, argv[1] = socket, and no kernel secret', async () => {
    const tokens = new Set<string>();
    const started = cases.map(async (c, index) => {
      const path = script(dir, c.file, c.body, c.executable);
      const out = join(dir, `${c.file}.report.json`);
      const name = `env-${index}`;
      const reply = await spawnAgent(client, {
        name,
        script: path,
        args: [out, 'second arg'],
        env: { AGENT_EXTRA: 'passed by SPAWN' },
        ...(c.interpreter && { interpreter: c.interpreter }),
      });
      expect(reply).toMatchObject({ success: true, name, restart_policy: 'never' });
      expect(reply.id).toBe(reply.agent_id);
      expect(reply.pid).toBeGreaterThan(1);
      const report = await readJsonWhenThere<EnvReport>(out, 15_000);
      return { c, reply, report };
    });
    for (const { c, reply, report } of await Promise.all(started)) {
      const what = `${c.file} (${c.interpreter ?? 'by extension'})`;
      expect(report.args, what).toEqual([kernel.socketPath, join(dir, `${c.file}.report.json`), 'second arg']);
      expect(report.env.AGENTOS_SOCKET, what).toBe(kernel.socketPath);
      expect(report.env.AGENTOS_AGENT_ID, what).toBe(String(reply.agent_id));
      expect(report.env.AGENTOS_AGENT_TOKEN, what).toMatch(/^[A-Za-z0-9_-]{24,}$/);
      expect(report.env.AGENT_EXTRA, what).toBe('passed by SPAWN');
      expect(report.env[SECRET_NAME], what).toBeUndefined();
      expect(JSON.stringify(report.env), what).not.toContain(SECRET);
      expect(JSON.stringify(report.env), what).not.toContain(adminToken(kernel));
      // pyenv's python3 shim (on some machines) sets its own PYENV_* variables on the way.
      const unexpected = Object.keys(report.env).filter((key) => !ALLOWED_ENV.has(key) && !/^_?PYENV/.test(key));
      expect(unexpected, `${what} inherited variables`).toEqual([]);
      tokens.add(report.env.AGENTOS_AGENT_TOKEN as string);
      // A natural exit: AGENT_EXITED with code 0, then the agent is gone and its name free.
      const exited = await events.wait('AGENT_EXITED', reply.agent_id);
      expect(exited.data).toMatchObject({ agent_id: reply.agent_id, exit_code: 0, signal: null, reason: 'normal' });
    }
    expect(tokens.size).toBe(cases.length);
    await until(async () => (await listAgents(client)).every((agent) => !agent.name?.startsWith('env-')), 'reporting agents removed');
  });
});

/** Binds with its token, lists, reports, then crashes once (when asked) or stays. */
const BINDER = `import { existsSync, writeFileSync } from 'node:fs';
import { agnt, report } from './agnt.mjs';
const [socketPath, outDir, mode] = process.argv.slice(2);
const conn = agnt(socketPath);
const hello = await conn.call(0xfe, { token: process.env.AGENTOS_AGENT_TOKEN, name: 'ignored-for-spawned' });
const list = await conn.call(0x12, {});
report(outDir + '/hello-' + process.pid + '.json', {
  hello: hello.reply, helloHeaderId: hello.agentId, listHeaderId: list.agentId,
  token: process.env.AGENTOS_AGENT_TOKEN, pid: process.pid,
});
const marker = outDir + '/crashed-once';
if (mode === 'crash-once' && !existsSync(marker)) { writeFileSync(marker, 'x'); process.exit(1); }
setInterval(() => {}, 1000);
`;

describe('identity binding', () => {
  it("an agent's HELLO with its token returns SPAWN's id; the token works once; no second agent appears", async () => {
    const path = script(dir, 'binder.mjs', BINDER);
    const out = join(dir, 'bind-1');
    mkdirSync(out);
    const spawned = await spawnAgent(client, { name: 'binder', script: path, args: [out] });
    const report = await readJsonWhenThere<{
      hello: { success: boolean; agent_id: number; name: string; level: string };
      helloHeaderId: number;
      listHeaderId: number;
      token: string;
      pid: number;
    }>(join(out, `hello-${spawned.pid}.json`));
    expect(report.hello).toMatchObject({ success: true, agent_id: spawned.agent_id, name: 'binder', level: 'unrestricted' });
    expect(report.helloHeaderId).toBe(spawned.agent_id);
    expect(report.listHeaderId).toBe(spawned.agent_id);
    expect(report.pid).toBe(spawned.pid);

    // One record for the process and its connection: the provisional client id is gone.
    const records = kernel.agents();
    const mine = records.filter((r) => r.id === spawned.agent_id);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.kind).toBe('process');
    expect(mine[0]?.counters.byOp.get(0x12)).toBe(1);
    expect(records.filter((r) => r.kind === 'client').map((r) => r.id)).toEqual([(await row(client, spawned.agent_id))?.parent_id]);

    // One use: the same token from another connection is refused.
    await failure(connect(kernel, report.token), 'PERMISSION_DENIED');
    await failure(connect(kernel, 'not-a-token-this-kernel-issued'), 'PERMISSION_DENIED');

    await client.call('KILL', { id: spawned.agent_id, grace_ms: 2000 });
  });

  it('a restart keeps id and name: the new process gets a fresh token and binds to the same record', async () => {
    const path = join(dir, 'binder.mjs');
    const out = join(dir, 'bind-2');
    mkdirSync(out);
    const spawned = await spawnAgent(client, {
      name: 'phoenix',
      script: path,
      args: [out, 'crash-once'],
      restart_policy: 'on-failure',
      max_restarts: 3,
    });
    const first = await readJsonWhenThere<{ hello: { agent_id: number }; token: string }>(join(out, `hello-${spawned.pid}.json`));
    const second = await events.wait('AGENT_SPAWNED', spawned.agent_id, 2);
    expect(second.data).toMatchObject({ agent_id: spawned.agent_id, name: 'phoenix', restarts: 1 });
    const newPid = second.data.pid as number;
    expect(newPid).not.toBe(spawned.pid);
    const again = await readJsonWhenThere<{ hello: { agent_id: number; name: string }; token: string }>(join(out, `hello-${newPid}.json`));
    expect(first.hello.agent_id).toBe(spawned.agent_id);
    expect(again.hello).toMatchObject({ agent_id: spawned.agent_id, name: 'phoenix' });
    expect(again.token).not.toBe(first.token);

    const listed = await until(async () => {
      const r = await row(client, spawned.agent_id);
      return r?.state === 'running' ? r : undefined;
    }, 'phoenix running again');
    expect(listed).toMatchObject({ id: spawned.agent_id, name: 'phoenix', pid: newPid, restarts: 1 });
    expect((await listAgents(client)).filter((r) => r.name === 'phoenix')).toHaveLength(1);
    // The old token died with the old process.
    await failure(connect(kernel, first.token), 'PERMISSION_DENIED');
    await client.call('KILL', { name: 'phoenix', grace_ms: 2000 });
  });
});

describe('restart policies', () => {
  it('always: a clean exit is restarted, counted in LIST, same id and name, new pid', async () => {
    const path = script(dir, 'brief.sh', '#!/bin/sh\nsleep 0.2\nexit 0\n', true);
    const spawned = await spawnAgent(client, { name: 'always', script: path, restart_policy: 'always', max_restarts: 20 });
    await events.wait('AGENT_SPAWNED', spawned.agent_id, 3, 15_000);
    const listed = await row(client, spawned.agent_id);
    expect(listed?.name).toBe('always');
    expect(listed?.restarts).toBeGreaterThanOrEqual(2);
    const pids = new Set(events.of('AGENT_SPAWNED', spawned.agent_id).map((e) => e.data.pid));
    expect(pids.size).toBeGreaterThanOrEqual(3);
    for (const exited of events.of('AGENT_EXITED', spawned.agent_id)) expect(exited.data).toMatchObject({ exit_code: 0, reason: 'normal' });
    await client.call('KILL', { name: 'always' });
    expect(await row(client, spawned.agent_id)).toBeUndefined();
  });

  it('on-failure: a clean exit ends the agent for good and frees its name', async () => {
    const path = script(dir, 'clean.sh', '#!/bin/sh\nexit 0\n', true);
    const spawned = await spawnAgent(client, { name: 'onfail-clean', script: path, restart_policy: 'on-failure' });
    await events.wait('AGENT_EXITED', spawned.agent_id);
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'onfail-clean removed');
    expect(events.of('AGENT_RESTARTING', spawned.agent_id)).toEqual([]);
    const again = await spawnAgent(client, { name: 'onfail-clean', script: path });
    expect(again.agent_id).not.toBe(spawned.agent_id);
  });

  it('never: a crash is reported with its exit code and not restarted', async () => {
    const path = script(dir, 'crash.sh', '#!/bin/sh\nsleep 0.1\nexit 3\n', true);
    const spawned = await spawnAgent(client, { name: 'never', script: path, restart_policy: 'never' });
    const exited = await events.wait('AGENT_EXITED', spawned.agent_id);
    expect(exited.data).toMatchObject({ agent_id: spawned.agent_id, name: 'never', exit_code: 3, signal: null, reason: 'crash' });
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'never removed');
    expect(events.lifecycle(spawned.agent_id)).toEqual(['AGENT_SPAWNED', 'AGENT_EXITED']);
  });

  it('max_restarts exceeded: AGENT_ESCALATED, the agent is removed and its name is free again', async () => {
    const path = script(dir, 'crashloop.sh', '#!/bin/sh\nexit 9\n', true);
    const spawned = await spawnAgent(client, {
      name: 'crashloop',
      script: path,
      restart_policy: 'on-failure',
      max_restarts: 2,
      restart_window: 60,
    });
    const escalated = await events.wait('AGENT_ESCALATED', spawned.agent_id, 1, 15_000);
    expect(escalated.data).toMatchObject({ agent_id: spawned.agent_id, name: 'crashloop', reason: 'crash' });
    expect(events.lifecycle(spawned.agent_id)).toEqual([
      'AGENT_SPAWNED',
      'AGENT_EXITED',
      'AGENT_RESTARTING',
      'AGENT_SPAWNED',
      'AGENT_EXITED',
      'AGENT_RESTARTING',
      'AGENT_SPAWNED',
      'AGENT_EXITED',
      'AGENT_ESCALATED',
    ]);
    expect(events.of('AGENT_RESTARTING', spawned.agent_id).map((e) => e.data.restarts)).toEqual([1, 2]);
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'crashloop removed');
    await failure(client.call('KILL', { id: spawned.agent_id }), 'NOT_FOUND');
    const sleeper = script(dir, 'sleeper.sh', '#!/bin/sh\nexec sleep 30\n', true);
    const again = await spawnAgent(client, { name: 'crashloop', script: sleeper });
    expect(again.agent_id).toBeGreaterThan(spawned.agent_id);
    await client.call('KILL', { id: again.agent_id });
  });
});

/** A parent shell with a forked child; both pids written to the report file, then it waits. */
const FAMILY = `#!/bin/sh
sleep 300 &
echo "$$ $!" > "$2.tmp"
mv "$2.tmp" "$2"
wait
`;

let families = 0;

async function family(name: string): Promise<{ id: number; pid: number; child: number }> {
  const path = script(dir, 'family.sh', FAMILY, true);
  const out = join(dir, `${name}-${++families}.pids`);
  const spawned = await spawnAgent(client, { name, script: path, args: [out] });
  const [pid, child] = (await readTextWhenThere(out)).split(' ').map(Number) as [number, number];
  expect(pid).toBe(spawned.pid);
  return { id: spawned.agent_id, pid, child };
}

describe('PAUSE, RESUME, KILL', () => {
  it('PAUSE stops the whole group (T), RESUME continues it; LIST and events follow', async () => {
    const agent = await family('pausable');
    await until(() => procState(agent.child) === 'S' && procState(agent.pid) === 'S', 'family asleep');

    expect(await client.call('PAUSE', { name: 'pausable' })).toEqual({ success: true, paused: true, agent_id: agent.id });
    await until(() => procState(agent.pid) === 'T' && procState(agent.child) === 'T', 'parent and child stopped (T)');
    expect((await row(client, agent.id))?.state).toBe('paused');
    expect((await events.wait('AGENT_PAUSED', agent.id)).data).toEqual({ agent_id: agent.id, name: 'pausable' });
    // Pausing a paused agent changes nothing.
    expect(await client.call('PAUSE', { id: agent.id })).toMatchObject({ paused: true });
    expect(events.of('AGENT_PAUSED', agent.id)).toHaveLength(1);
    await failure(client.call('RESUME', { id: agent.id + 1000 }), 'NOT_FOUND');

    expect(await client.call('RESUME', { id: agent.id })).toEqual({ success: true, resumed: true, agent_id: agent.id });
    await until(
      () => ['S', 'R'].includes(procState(agent.pid) ?? '') && ['S', 'R'].includes(procState(agent.child) ?? ''),
      'family running',
    );
    expect((await row(client, agent.id))?.state).toBe('running');
    expect((await events.wait('AGENT_RESUMED', agent.id)).data).toEqual({ agent_id: agent.id, name: 'pausable' });

    await client.call('KILL', { id: agent.id });
    expect(liveGroupMembers(agent.pid)).toEqual([]);
  });

  it('KILL of a running agent: the reply comes after the process and its group are gone', async () => {
    const agent = await family('victim');
    const reply = await client.call('KILL', { name: 'victim' });
    expect(reply).toEqual({ success: true, killed: true, agent_id: agent.id });
    expect(isGone(agent.pid)).toBe(true);
    expect(liveGroupMembers(agent.pid)).toEqual([]);
    expect(isGone(agent.child)).toBe(true);
    const exited = events.of('AGENT_EXITED', agent.id);
    expect(exited).toHaveLength(1);
    expect(exited[0]?.data).toMatchObject({ agent_id: agent.id, name: 'victim', signal: 'SIGTERM', exit_code: null, reason: 'shutdown' });
    expect(await row(client, agent.id)).toBeUndefined();
    await failure(client.call('KILL', { id: agent.id }), 'NOT_FOUND');
    await failure(client.call('PAUSE', { name: 'victim' }), 'NOT_FOUND');
    await failure(client.call('RESUME', { id: agent.id }), 'NOT_FOUND');
    // The name is free again; KILL may also name the signal.
    const again = await family('victim');
    expect(again.id).toBeGreaterThan(agent.id);
    await client.call('KILL', { name: 'victim', signal: 'SIGKILL' });
    expect(events.of('AGENT_EXITED', again.id)[0]?.data).toMatchObject({ signal: 'SIGKILL', reason: 'shutdown' });
    expect(liveGroupMembers(again.pid)).toEqual([]);
  });

  it('KILL of a paused agent leaves no process behind', async () => {
    const agent = await family('sleeping-beauty');
    await client.call('PAUSE', { id: agent.id });
    await until(() => procState(agent.pid) === 'T' && procState(agent.child) === 'T', 'stopped');
    const started = Date.now();
    await client.call('KILL', { id: agent.id, grace_ms: 5000 });
    // SIGCONT follows SIGTERM, so the group ends at once instead of after the grace period.
    expect(Date.now() - started).toBeLessThan(4000);
    expect(isGone(agent.pid)).toBe(true);
    expect(liveGroupMembers(agent.pid)).toEqual([]);
    expect(isGone(agent.child)).toBe(true);
    expect(await row(client, agent.id)).toBeUndefined();
    expect(events.lifecycle(agent.id)).toEqual(['AGENT_SPAWNED', 'AGENT_PAUSED', 'AGENT_EXITED']);
  });
});

describe('LIST and TREE', () => {
  it('LIST rows and the TREE show a process agent under the agents supervisor', async () => {
    const path = script(dir, 'idle.sh', '#!/bin/sh\nexec sleep 60\n', true);
    const spawned = await spawnAgent(client, { name: 'listed', script: path, level: 'standard' });
    const self = (await client.hello()).agent_id;
    const listed = await row(client, spawned.agent_id);
    expect(listed).toMatchObject({
      id: spawned.agent_id,
      name: 'listed',
      kind: 'process',
      pid: spawned.pid,
      state: 'running',
      parent_id: self,
      restarts: 0,
      level: 'standard',
    });
    expect(listed?.uptime_ms).toBeGreaterThanOrEqual(0);
    const me = await row(client, self);
    expect(me).toMatchObject({ kind: 'client', state: 'connected', pid: null, parent_id: null });

    const { tree } = (await client.call('TREE', {})) as { tree: TreeNode };
    expect(tree).toMatchObject({ actor: 'kernel', kind: 'kernel', pid: process.pid, state: 'running' });
    const agents = tree.children?.find((node) => node.actor === 'agents');
    expect(agents).toMatchObject({ kind: 'supervisor', strategy: 'simple_one_for_one' });
    const node = agents?.children?.find((child) => child.agent_id === spawned.agent_id);
    expect(node).toMatchObject({
      actor: `agent-${spawned.agent_id}`,
      kind: 'process',
      name: 'listed',
      state: 'running',
      pid: spawned.pid,
      restarts: 0,
    });
    await client.call('KILL', { id: spawned.agent_id });
    const after = (await client.call('TREE', {})) as { tree: TreeNode };
    const left = after.tree.children?.find((n) => n.actor === 'agents')?.children ?? [];
    expect(left.some((child) => child.agent_id === spawned.agent_id)).toBe(false);
  });
});

interface LogsReply {
  success: true;
  agent_id: number;
  name: string | null;
  lines: { seq: number; stream: string; text: string; timestamp: number }[];
  next_seq: number;
  dropped: number;
  ended: boolean;
}

describe('LOGS', () => {
  it('pages with after_seq, waits with wait_ms, and keeps the last lines of an ended agent by id', async () => {
    const go = join(dir, 'logs-go');
    const path = script(
      dir,
      'logger.sh',
      `#!/bin/sh\necho one\necho two >&2\nwhile [ ! -e "${go}" ]; do sleep 0.05; done\necho three\nexit 5\n`,
      true,
    );
    const spawned = await spawnAgent(client, { name: 'logger', script: path });
    const first = await until(async () => {
      const reply = (await client.call('LOGS', { name: 'logger' })) as LogsReply;
      return reply.lines.length >= 3 ? reply : undefined;
    }, 'three lines');
    expect(first).toMatchObject({ success: true, agent_id: spawned.agent_id, name: 'logger', dropped: 0, ended: false });
    expect(first.lines.map((l) => [l.stream, l.text])).toEqual([
      ['kernel', `agent started (pid ${spawned.pid})`],
      ['stdout', 'one'],
      ['stderr', 'two'],
    ]);
    const newest = (await client.call('LOGS', { id: spawned.agent_id, lines: 1 })) as LogsReply;
    expect(newest.lines.map((l) => l.text)).toEqual(['two']);
    const paged = (await client.call('LOGS', { id: spawned.agent_id, after_seq: first.lines[0]?.seq, lines: 1 })) as LogsReply;
    expect(paged.lines.map((l) => l.text)).toEqual(['one']);

    // A waiting LOGS returns as soon as a new line arrives.
    const waiting = client.call('LOGS', { id: spawned.agent_id, after_seq: first.next_seq, wait_ms: 15_000 }) as Promise<LogsReply>;
    writeFileSync(go, '');
    const next = await waiting;
    expect(next.lines[0]?.text).toBe('three');
    await events.wait('AGENT_EXITED', spawned.agent_id);
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'logger removed');

    // Ended for good: the name is free, the last lines stay readable by id.
    await failure(client.call('LOGS', { name: 'logger' }), 'NOT_FOUND');
    const last = (await client.call('LOGS', { id: spawned.agent_id, after_seq: next.next_seq - 1, wait_ms: 10_000 })) as LogsReply;
    expect(last.ended).toBe(true);
    expect(last.lines.map((l) => l.text)).toEqual(['three', 'agent exited (code 5)']);
    const stranger = await connect(kernel);
    await failure(stranger.call('LOGS', { id: spawned.agent_id }), 'PERMISSION_DENIED');
    await stranger.close();
  });
});

describe('AGENT_* events', () => {
  it('spawn, crash with a code, restart, pause, resume, kill, and a crash by signal each carry their data', async () => {
    const marker = join(dir, 'events-marker');
    const path = script(dir, 'events.sh', `#!/bin/sh\nif [ ! -e "${marker}" ]; then : > "${marker}"; exit 7; fi\nexec sleep 60\n`, true);
    const spawned = await spawnAgent(client, { name: 'eventful', script: path, restart_policy: 'on-failure' });
    const id = spawned.agent_id;
    const second = await events.wait('AGENT_SPAWNED', id, 2);
    await until(async () => (await row(client, id))?.state === 'running', 'eventful running');
    await client.call('PAUSE', { id });
    await client.call('RESUME', { id });
    await client.call('KILL', { id });
    expect(existsSync(marker)).toBe(true);

    expect(events.lifecycle(id)).toEqual([
      'AGENT_SPAWNED',
      'AGENT_EXITED',
      'AGENT_RESTARTING',
      'AGENT_SPAWNED',
      'AGENT_PAUSED',
      'AGENT_RESUMED',
      'AGENT_EXITED',
    ]);
    const [spawnedEvent, crashed, restarting] = events.events.filter((e) => e.source_agent_id === id);
    expect(spawnedEvent?.data).toEqual({ agent_id: id, name: 'eventful', kind: 'process', pid: spawned.pid, restarts: 0 });
    expect(crashed?.data).toMatchObject({ agent_id: id, name: 'eventful', exit_code: 7, signal: null, reason: 'crash' });
    expect(crashed?.data.uptime_ms).toEqual(expect.any(Number));
    expect(restarting?.data).toMatchObject({ agent_id: id, name: 'eventful', restarts: 1, delay_ms: expect.any(Number) });
    expect(second.data).toMatchObject({ restarts: 1, pid: expect.any(Number) });
    expect(events.of('AGENT_EXITED', id)[1]?.data).toMatchObject({ signal: 'SIGTERM', exit_code: null, reason: 'shutdown' });
    for (const event of events.events.filter((e) => e.source_agent_id === id)) {
      expect(event).toMatchObject({ id: expect.any(Number), timestamp: expect.any(Number), source_agent_id: id });
    }

    // A crash by signal: the signal, no exit code.
    const selfKill = script(dir, 'selfkill.sh', '#!/bin/sh\nsleep 0.1\nkill -SEGV $$\n', true);
    const doomed = await spawnAgent(client, { name: 'segv', script: selfKill });
    const died = await events.wait('AGENT_EXITED', doomed.agent_id);
    expect(died.data).toMatchObject({ agent_id: doomed.agent_id, exit_code: null, signal: 'SIGSEGV', reason: 'crash' });
    expect(readFileSync(marker, 'utf8')).toBe('');
  });
});
