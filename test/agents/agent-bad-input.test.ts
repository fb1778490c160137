/**
 * Bad input to SPAWN, KILL, PAUSE and RESUME, and badly behaved agents: each gets a
 * clear error or a defined outcome. Agents that fork and exit leave no orphans, one
 * that ignores SIGTERM is killed after the grace period without blocking the kernel,
 * and one that floods its output keeps a bounded log.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import type { TestKernel } from '../helpers/kernel.js';
import {
  adminToken,
  connect,
  EventLog,
  failure,
  isGone,
  liveGroupMembers,
  procState,
  readTextWhenThere,
  row,
  script,
  spawnAgent,
  startAgentsKernel,
  until,
} from './support.js';

let kernel: TestKernel;
let client: AgentOSClient;
let events: EventLog;
let dir: string;
let sleeper: string;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  events = new EventLog(kernel);
  client = await connect(kernel);
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
  sleeper = script(dir, 'sleeper.sh', '#!/bin/sh\nexec sleep 60\n', true);
});

afterAll(async () => {
  events?.stop();
  await client?.close();
  await kernel?.cleanup();
});

/** No agent with this name is left in LIST. */
async function noAgentNamed(name: string): Promise<boolean> {
  return ((await client.call('LIST', {})) as { name: string | null }[]).every((agent) => agent.name !== name);
}

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** The JS heap and buffers this process holds after a full collection (the kernel runs in it). */
function heldBytes(): number {
  collect();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe('SPAWN refuses what cannot run', () => {
  it('a missing file: NOT_FOUND naming the path, and nothing is created', async () => {
    const missing = join(dir, 'no-such-agent.py');
    const error = await failure(client.call('SPAWN', { name: 'ghost', script: missing }), 'NOT_FOUND');
    expect(error.message).toContain(missing);
    expect(await noAgentNamed('ghost')).toBe(true);
  });

  it('a directory: INVALID_REQUEST', async () => {
    const error = await failure(client.call('SPAWN', { name: 'dir', script: dir }), 'INVALID_REQUEST');
    expect(error.message).toMatch(/directory/);
    expect(await noAgentNamed('dir')).toBe(true);
  });

  it('a non-executable file with no known extension and no interpreter: INVALID_REQUEST naming "interpreter"', async () => {
    const plain = script(dir, 'plain-agent', '#!/bin/sh\nexit 0\n', false);
    const error = await failure(client.call('SPAWN', { name: 'plain', script: plain }), 'INVALID_REQUEST');
    expect(error.message).toMatch(/not executable/);
    expect(error.reply?.field).toBe('interpreter');
    // The same file runs once an interpreter is named.
    const ran = await spawnAgent(client, { name: 'plain', script: plain, interpreter: 'sh' });
    expect((await events.wait('AGENT_EXITED', ran.agent_id)).data).toMatchObject({ exit_code: 0, reason: 'normal' });
  });

  it('an unknown interpreter: INVALID_REQUEST listing the known ones; a missing absolute one: UNAVAILABLE, not a hang', async () => {
    const error = await failure(client.call('SPAWN', { name: 'cobol', script: sleeper, interpreter: 'cobol' }), 'INVALID_REQUEST');
    expect(error.message).toMatch(/unknown interpreter "cobol".*python3/);
    expect(error.reply?.field).toBe('interpreter');

    const started = Date.now();
    const missing = await failure(
      client.call('SPAWN', { name: 'no-interp', script: sleeper, interpreter: '/nonexistent/bin/interp' }),
      'UNAVAILABLE',
    );
    expect(missing.message).toMatch(/could not start.*ENOENT/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await noAgentNamed('no-interp')).toBe(true);
    // The name was released with the failed agent.
    const after = await spawnAgent(client, { name: 'no-interp', script: sleeper });
    await client.call('KILL', { id: after.agent_id });
  });

  it('a name already taken: CONFLICT naming the holder; a malformed name: INVALID_REQUEST', async () => {
    const first = await spawnAgent(client, { name: 'taken', script: sleeper });
    const error = await failure(client.call('SPAWN', { name: 'taken', script: sleeper }), 'CONFLICT');
    expect(error.message).toContain(`agent ${first.agent_id}`);
    expect((await client.call('LIST', {})) as unknown[]).toHaveLength(2);
    for (const name of ['', 'has space', '-dash-first', 'x'.repeat(65), 'slash/name']) {
      const bad = await failure(client.call('SPAWN', { name, script: sleeper }), 'INVALID_REQUEST');
      expect(bad.reply?.field).toBe('name');
    }
    await client.call('KILL', { name: 'taken' });
  });

  it('absurd limits and malformed fields: INVALID_REQUEST naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ max_restarts: 1_000_000 }, 'max_restarts'],
      [{ max_restarts: -1 }, 'max_restarts'],
      [{ restart_window: 0 }, 'restart_window'],
      [{ restart_window: 10 ** 9 }, 'restart_window'],
      [{ restart_policy: 'sometimes' }, 'restart_policy'],
      [{ limits: { memory_bytes: 10 } }, 'limits.memory_bytes'],
      [{ limits: { memory_bytes: 2 ** 50 } }, 'limits.memory_bytes'],
      [{ limits: { max_pids: 0 } }, 'limits.max_pids'],
      [{ limits: { cpu_percent: 10 ** 9 } }, 'limits.cpu_percent'],
      [{ limits: { bogus: 1 } }, 'limits'],
      [{ args: Array.from({ length: 2000 }, () => 'a') }, 'args'],
      [{ env: { 'A=B': 'x' } }, 'env'],
      [{ level: 'godmode' }, 'level'],
      [{ script: '' }, 'script'],
    ];
    for (const [fields, field] of cases) {
      const error = await failure(client.call('SPAWN', { name: 'absurd', script: sleeper, ...fields }), 'INVALID_REQUEST');
      expect(error.reply?.field, JSON.stringify(fields)).toContain(field.split('.')[0]);
    }
    await failure(client.call('SPAWN', { script: sleeper }), 'INVALID_REQUEST');
    await failure(client.call('SPAWN', { name: 'absurd' }), 'INVALID_REQUEST');
    const cwd = await failure(client.call('SPAWN', { name: 'absurd', script: sleeper, cwd: join(dir, 'nope') }), 'NOT_FOUND');
    expect(cwd.message).toMatch(/cwd/);
    expect(await noAgentNamed('absurd')).toBe(true);
  });

  it('an interpreter that rejects the script: SPAWN succeeds, then AGENT_EXITED reports the crash', async () => {
    const notPython = script(dir, 'not-python.txt', 'this is not python (\n');
    const spawned = await spawnAgent(client, { name: 'bad-syntax', script: notPython, interpreter: 'python3' });
    const exited = await events.wait('AGENT_EXITED', spawned.agent_id);
    expect(exited.data).toMatchObject({ exit_code: 1, reason: 'crash' });
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'bad-syntax removed');
  });
});

describe('KILL, PAUSE and RESUME of agents that cannot take them', () => {
  it('unknown ids and names: NOT_FOUND; no target at all or a bad grace: INVALID_REQUEST', async () => {
    for (const op of ['KILL', 'PAUSE', 'RESUME']) {
      await failure(client.call(op, { id: 999_999 }), 'NOT_FOUND');
      await failure(client.call(op, { name: 'nobody-by-this-name' }), 'NOT_FOUND');
      await failure(client.call(op, {}), 'INVALID_REQUEST');
      await failure(client.call(op, { id: -3 }), 'INVALID_REQUEST');
    }
    await failure(client.call('KILL', { name: 'x', grace_ms: -1 }), 'INVALID_REQUEST');
    await failure(client.call('KILL', { name: 'x', grace_ms: 10 ** 9 }), 'INVALID_REQUEST');
    await failure(client.call('KILL', { name: 'x', signal: 'SIGSTOP' }), 'INVALID_REQUEST');
  });

  it('an agent that exited for good: NOT_FOUND for KILL, PAUSE and RESUME', async () => {
    const brief = script(dir, 'brief.sh', '#!/bin/sh\nexit 0\n', true);
    const spawned = await spawnAgent(client, { name: 'gone', script: brief });
    await events.wait('AGENT_EXITED', spawned.agent_id);
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'gone removed');
    for (const op of ['KILL', 'PAUSE', 'RESUME']) {
      const error = await failure(client.call(op, { id: spawned.agent_id }), 'NOT_FOUND');
      expect(error.message).toMatch(/does not exist|ended/);
      await failure(client.call(op, { name: 'gone' }), 'NOT_FOUND');
    }
  });

  it('a client connection is not a process: INVALID_REQUEST', async () => {
    const other = await connect(kernel);
    try {
      const id = (await other.hello()).agent_id;
      for (const op of ['KILL', 'PAUSE', 'RESUME']) {
        const admin = await connect(kernel, adminToken(kernel));
        try {
          const error = await failure(admin.call(op, { id }), 'INVALID_REQUEST');
          expect(error.message).toMatch(/client connection/);
        } finally {
          await admin.close();
        }
      }
    } finally {
      await other.close();
    }
  });

  it('an agent between restarts: PAUSE is a CONFLICT, KILL ends it for good', async () => {
    const crash = script(dir, 'crash-slow.sh', '#!/bin/sh\nexit 1\n', true);
    const spawned = await spawnAgent(client, {
      name: 'between',
      script: crash,
      restart_policy: 'always',
      max_restarts: 1000,
      restart_window: 1,
    });
    // Catch it in the backoff delay after a crash (100 ms, then 200 ms, 400 ms...).
    await until(async () => (await row(client, spawned.agent_id))?.state === 'restarting', 'between restarts', 10_000);
    const error = await failure(client.call('PAUSE', { id: spawned.agent_id }), 'CONFLICT');
    expect(error.message).toMatch(/not running/);
    expect(await client.call('KILL', { id: spawned.agent_id })).toMatchObject({ killed: true });
    expect(await row(client, spawned.agent_id)).toBeUndefined();
    const spawnedAfterKill = events.of('AGENT_SPAWNED', spawned.agent_id).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events.of('AGENT_SPAWNED', spawned.agent_id)).toHaveLength(spawnedAfterKill);
  });

  it('PAUSE of a paused agent and RESUME of a running one change nothing', async () => {
    const spawned = await spawnAgent(client, { name: 'idem', script: sleeper });
    expect(await client.call('RESUME', { id: spawned.agent_id })).toMatchObject({ resumed: true });
    await client.call('PAUSE', { id: spawned.agent_id });
    await client.call('PAUSE', { id: spawned.agent_id });
    await until(() => procState(spawned.pid) === 'T', 'stopped');
    expect(events.of('AGENT_PAUSED', spawned.agent_id)).toHaveLength(1);
    expect(events.of('AGENT_RESUMED', spawned.agent_id)).toHaveLength(0);
    await client.call('KILL', { id: spawned.agent_id });
    expect(isGone(spawned.pid)).toBe(true);
  });
});

describe('badly behaved agents', () => {
  it('forks children and exits: none of them survives the agent', async () => {
    const forker = script(
      dir,
      'forker.sh',
      `#!/bin/sh
sleep 300 > /dev/null 2>&1 < /dev/null &
quiet=$!
sleep 300 &
loud=$!
( sleep 300 & wait ) &
echo "$quiet $loud" > "$2.tmp"
mv "$2.tmp" "$2"
exit 0
`,
      true,
    );
    const out = join(dir, 'forker.pids');
    const spawned = await spawnAgent(client, { name: 'forker', script: forker, args: [out], env: { FORKER_MARK: 'forker-1' } });
    const pids = (await readTextWhenThere(out)).split(' ').map(Number);
    const exited = await events.wait('AGENT_EXITED', spawned.agent_id);
    expect(exited.data).toMatchObject({ exit_code: 0, reason: 'normal' });
    await until(() => pids.every(isGone), 'forked children gone', 5000);
    await until(() => liveGroupMembers(spawned.pid).length === 0, 'process group empty', 5000);
    await until(async () => (await row(client, spawned.agent_id)) === undefined, 'forker removed');
  });

  it('ignores SIGTERM: KILL sends SIGKILL after grace_ms, answers after the group is gone, and never blocks the kernel', async () => {
    const stubborn = script(
      dir,
      'stubborn.sh',
      `#!/bin/sh
trap '' TERM
sleep 300 &
echo "$!" > "$2.tmp"
mv "$2.tmp" "$2"
while :; do wait; done
`,
      true,
    );
    const out = join(dir, 'stubborn.pid');
    const spawned = await spawnAgent(client, { name: 'stubborn', script: stubborn, args: [out] });
    const child = Number(await readTextWhenThere(out));
    const bystander = await connect(kernel);
    try {
      const started = Date.now();
      const killing = client.call('KILL', { id: spawned.agent_id, grace_ms: 1500 });
      // While KILL waits out the grace period, the kernel answers others at once.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = Date.now();
      await bystander.call('LIST', {});
      await bystander.call('TREE', {});
      expect(Date.now() - before).toBeLessThan(500);
      expect(procState(spawned.pid)).not.toBe(undefined);
      expect(isGone(spawned.pid)).toBe(false);

      expect(await killing).toEqual({ success: true, killed: true, agent_id: spawned.agent_id });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(6000);
      expect(isGone(spawned.pid)).toBe(true);
      // KILL answers once the agent's main process is gone; the rest of its group has been
      // sent SIGKILL and goes within moments (docs/protocol.md), so wait briefly for it.
      await until(() => liveGroupMembers(spawned.pid).length === 0 && isGone(child), 'the rest of the group to be gone', 3_000);
      expect(events.of('AGENT_EXITED', spawned.agent_id)[0]?.data).toMatchObject({
        signal: 'SIGKILL',
        exit_code: null,
        reason: 'shutdown',
      });
      expect(await row(client, spawned.agent_id)).toBeUndefined();
    } finally {
      await bystander.close();
    }
  });

  it('floods stdout with 100 MB: the log keeps the newest lines within its bound and the kernel stays small', async () => {
    const flood = script(
      dir,
      'flood.mjs',
      `const line = 'x'.repeat(99) + '\\n';
const chunk = line.repeat(10000);
let written = 0;
function pump() {
  while (written < 100 * 1024 * 1024) {
    written += chunk.length;
    if (!process.stdout.write(chunk)) { process.stdout.once('drain', pump); return; }
  }
  // stdout and stderr are separate pipes with no order between them: the stderr line goes
  // once stdout is flushed and has had a moment to be read.
  process.stdout.write('flood done\\n', () => setTimeout(() => process.stderr.write('and one line on stderr\\n'), 300));
  setInterval(() => {}, 1000);
}
pump();
`,
    );
    const heldBefore = heldBytes();
    const spawned = await spawnAgent(client, { name: 'flood', script: flood });
    const tail = await until(
      async () => {
        const reply = (await client.call('LOGS', { id: spawned.agent_id, lines: 5 })) as {
          lines: { text: string; stream: string; seq: number }[];
          dropped: number;
          next_seq: number;
        };
        return reply.lines.some((line) => line.stream === 'stderr') ? reply : undefined;
      },
      'the flood to end',
      30_000,
    );
    expect(tail.lines.map((line) => line.text).slice(-2)).toEqual(['flood done', 'and one line on stderr']);
    expect(tail.dropped).toBeGreaterThan(1_000_000 - 5000);
    expect(tail.next_seq).toBeGreaterThan(1_000_000);

    const all = (await client.call('LOGS', { id: spawned.agent_id, lines: 10_000 })) as { lines: { text: string; seq: number }[] };
    const bytes = all.lines.reduce((sum, line) => sum + line.text.length, 0);
    expect(bytes).toBeLessThanOrEqual(256 * 1024);
    expect(all.lines.length).toBeLessThan(10_000);
    // The newest lines, in order, without gaps.
    const seqs = all.lines.map((line) => line.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((seqs.at(-1) ?? 0) - (seqs[0] ?? 0)).toBe(seqs.length - 1);
    // 100 MB went through; holding it (a million line records) would cost hundreds of MB.
    // What the kernel keeps, after a collection: RSS would also count the garbage of the
    // flood not yet returned to the system, which depends on the machine's load.
    expect(heldBytes() - heldBefore).toBeLessThan(48 * 1024 * 1024);
    await client.call('KILL', { id: spawned.agent_id });
  });

  it('writes one endless line: it is cut, the log stays bounded', async () => {
    const longLine = script(
      dir,
      'long-line.mjs',
      `const piece = 'y'.repeat(1024 * 1024);
for (let i = 0; i < 8; i++) process.stdout.write(piece);
process.stdout.write('\\nshort\\n');
setInterval(() => {}, 1000);
`,
    );
    const spawned = await spawnAgent(client, { name: 'long-line', script: longLine });
    const reply = await until(
      async () => {
        const r = (await client.call('LOGS', { id: spawned.agent_id, lines: 10_000 })) as {
          lines: { text: string }[];
          dropped: number;
        };
        return r.lines.some((line) => line.text === 'short') ? r : undefined;
      },
      'the long line to be logged',
      15_000,
    );
    for (const line of reply.lines) expect(line.text.length).toBeLessThan(17 * 1024);
    expect(reply.lines.reduce((sum, line) => sum + line.text.length, 0)).toBeLessThanOrEqual(256 * 1024);
    expect(reply.dropped).toBeGreaterThan(0);
    await client.call('KILL', { id: spawned.agent_id });
  });
});
