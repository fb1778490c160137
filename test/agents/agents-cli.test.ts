/**
 * `agentos logs NAME [-f]` and `agentos tree` against a real kernel, run from the
 * TypeScript sources (so a stale dist/ cannot answer for them). The CLI presents the
 * admin token it reads from --data-dir.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import type { TestKernel } from '../helpers/kernel.js';
import { connect, EventLog, type SpawnReply, script, spawnAgent, startAgentsKernel, until } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

let kernel: TestKernel;
let client: AgentOSClient;
let events: EventLog;
let dir: string;
let ticker: SpawnReply;
const running = new Set<ChildProcessWithoutNullStreams>();

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  done: Promise<number | null>;
}

/** `agentos ...args` from the sources, with no kernel socket or token from outside. */
function cli(args: string[]): Cli {
  const argv = JSON.stringify(['node', 'agentos', ...args]);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AGENTOS_SOCKET;
  delete env.AGENTOS_AGENT_TOKEN;
  delete env.AGENTOS_DATA_DIR;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(MAIN)}).then((m) => m.main(${argv}))`], {
    cwd: ROOT,
    env,
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<number | null>((resolvePromise) => {
    child.on('close', (code) => {
      running.delete(child);
      resolvePromise(code);
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Run to completion within `timeoutMs`. */
async function run(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = cli(args);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), timeoutMs);
  const code = await c.done;
  clearTimeout(timer);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

function target(): string[] {
  return ['--socket', kernel.socketPath, '--data-dir', kernel.options.dataDir];
}

beforeAll(async () => {
  kernel = await startAgentsKernel();
  events = new EventLog(kernel);
  client = await connect(kernel);
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
  const path = script(
    dir,
    'ticker.sh',
    '#!/bin/sh\necho "hello from ticker"\necho "a warning" >&2\ni=0\nwhile :; do i=$((i+1)); echo "tick $i"; sleep 0.1; done\n',
    true,
  );
  ticker = await spawnAgent(client, { name: 'ticker', script: path });
  await until(() => events.of('AGENT_SPAWNED', ticker.agent_id).length > 0, 'ticker started');
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  events?.stop();
  await client?.close();
  await kernel?.cleanup();
});

describe('agentos logs', () => {
  it('prints the newest lines: stdout on stdout, stderr on stderr, the kernel notes marked', async () => {
    await until(async () => {
      const reply = (await client.call('LOGS', { name: 'ticker' })) as { lines: { text: string }[] };
      return reply.lines.some((line) => line.text === 'tick 3');
    }, 'three ticks');
    const all = await run(['logs', 'ticker', ...target()]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`[agentos] agent started (pid ${ticker.pid})`);
    expect(lines[1]).toBe('hello from ticker');
    expect(lines).toContain('tick 3');
    expect(all.stderr).toBe('a warning\n');

    const json = await run(['logs', String(ticker.agent_id), '-n', '2', '--json', ...target()]);
    expect(json.code, json.stderr).toBe(0);
    const tail = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(tail).toHaveLength(2);
    for (const line of tail)
      expect(line).toMatchObject({ stream: 'stdout', text: expect.stringMatching(/^tick \d+$/), seq: expect.any(Number) });
  });

  it('-f prints new lines as the agent writes them, and ends cleanly with the agent', async () => {
    const go = join(dir, 'go');
    const path = script(
      dir,
      'stepper.sh',
      `#!/bin/sh\necho "working"\nwhile [ ! -e "${go}" ]; do sleep 0.05; done\nfor i in 1 2 3; do echo "step $i"; sleep 0.3; done\nexit 4\n`,
      true,
    );
    const spawned = await spawnAgent(client, { name: 'stepper', script: path });
    const follow = cli(['logs', 'stepper', '-f', ...target()]);
    const timer = setTimeout(() => follow.child.kill('SIGKILL'), 20_000);
    await until(() => follow.stdout().includes('working\n'), 'the first line', 15_000);
    // Only now does the agent write the rest: -f must pick it up as it comes.
    expect(follow.stdout()).not.toContain('step');
    writeFileSync(go, '');
    await until(() => follow.stdout().includes('step 1\n'), 'a line written after -f started', 10_000);
    const code = await follow.done;
    clearTimeout(timer);
    const lines = follow.stdout().trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith('step'))).toEqual(['step 1', 'step 2', 'step 3']);
    expect(lines.at(-1)).toBe('[agentos] agent exited (code 4)');
    expect(code, follow.stderr()).toBe(0);
    expect(events.of('AGENT_EXITED', spawned.agent_id)[0]?.data).toMatchObject({ exit_code: 4 });
  });

  it('-f ends without an error when the agent writes its last lines and exits at once', async () => {
    const go = join(dir, 'go-burst');
    const path = script(
      dir,
      'burst.sh',
      `#!/bin/sh\necho "ready"\nwhile [ ! -e "${go}" ]; do sleep 0.05; done\nfor i in 1 2 3 4 5 6 7 8 9 10; do echo "burst $i"; done\nexit 0\n`,
      true,
    );
    await spawnAgent(client, { name: 'burst', script: path });
    const follow = cli(['logs', 'burst', '-f', ...target()]);
    const timer = setTimeout(() => follow.child.kill('SIGKILL'), 20_000);
    await until(() => follow.stdout().includes('ready\n'), 'the first line', 15_000);
    writeFileSync(go, '');
    const code = await follow.done;
    clearTimeout(timer);
    expect(follow.stderr()).toBe('');
    expect(code).toBe(0);
    const lines = follow.stdout().trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith('burst'))).toEqual(Array.from({ length: 10 }, (_, i) => `burst ${i + 1}`));
    expect(lines.at(-1)).toBe('[agentos] agent exited (code 0)');
  });

  it('an unknown agent, or a foreign one without the admin token: a clear message and exit status 1', async () => {
    const unknown = await run(['logs', 'no-such-agent', ...target()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^agentos: agent "no-such-agent" does not exist/);

    // Without --data-dir the CLI has no admin token: ticker belongs to another client.
    const foreign = await run(['logs', 'ticker', '--socket', kernel.socketPath, '--data-dir', join(kernel.dir, 'elsewhere')]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/LOGS denied.*not a descendant/);
  });
});

describe('agentos tree', () => {
  it('shows the agent under the agents supervisor, with kind, id, state and pid', async () => {
    const tree = await run(['tree', ...target()]);
    expect(tree.code, tree.stderr).toBe(0);
    const lines = tree.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^actor\s+kind\s+agent\s+state\s+restarts\s+uptime\s+pid$/);
    const agentsAt = lines.findIndex((line) => /^[├└]─ agents\s+supervisor:simple_one_for_one/.test(line));
    expect(agentsAt).toBeGreaterThan(0);
    const tickerLine = lines.find((line) => line.includes(`agent-${ticker.agent_id} (ticker)`));
    expect(tickerLine).toBeDefined();
    expect(lines.indexOf(tickerLine as string)).toBeGreaterThan(agentsAt);
    expect(tickerLine).toMatch(/[├└]─ agent-\d+ \(ticker\)\s+process\s+\d+\s+running\s+0\s+\S+\s+\d+$/);
    expect(tickerLine?.split(/\s+/)).toContain(String(ticker.pid));
  });
});
