/**
 * `agentos world ...` against a real kernel on a temp socket, run from the TypeScript
 * sources (so a stale dist/ cannot answer): create from a preset and from a file, list,
 * state, event, snapshot/restore, destroy; `world run` with real process agents; and the
 * bad input a person types.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdminToken } from '../../src/kernel/admin-token.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { runCli } from './run-cli.js';

let kernel: TestKernel;
let client: AgentOSClient;
let dir: string;

const agentos = runCli;

function target(): string[] {
  return ['--socket', kernel.socketPath, '--data-dir', kernel.options.dataDir];
}

async function worldIds(): Promise<string[]> {
  return (await client.worldList()).worlds.map((world) => world.world_id);
}

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted' });
  // The admin, as the CLI is (it reads the token from --data-dir): worlds the CLI made are the admin's to inspect and destroy.
  client = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: (await readAdminToken(kernel.options.dataDir)) ?? null });
  dir = join(kernel.dir, 'cli');
  mkdirSync(dir);
});

afterAll(async () => {
  await client?.close();
  await kernel?.cleanup();
});

describe('agentos world create, list, state, event, destroy', () => {
  it('creates from a preset, shows it, injects an event, and destroys it', async () => {
    const created = await agentos(['world', 'create', 'dev', '--name', 'cli-dev', ...target()]);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^world-\d+$/);

    const list = await agentos(['world', 'list', ...target()]);
    expect(list.code, list.stderr).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['id', 'name', 'status', 'agents', 'time scale', 'age']);
    expect(rows.find((row) => row.startsWith(`${id} `))).toMatch(/cli-dev\s+running\s+0\/\d+\s+×10/);

    // By name: the CLI resolves it through WORLD_LIST.
    const event = await agentos(['world', 'event', 'cli-dev', 'latency_spike', '--value', '250', '--duration', '10m', ...target()]);
    expect(event.code, event.stderr).toBe(0);
    expect(event.stdout).toContain(`${id}: latency_spike fired`);

    const state = await agentos(['world', 'state', id, '--json', ...target()]);
    expect(state.code, state.stderr).toBe(0);
    const parsed = JSON.parse(state.stdout) as { world_id: string; history: { type: string; source: string; value: unknown }[] };
    expect(parsed.world_id).toBe(id);
    expect(parsed.history).toContainEqual(expect.objectContaining({ type: 'latency_spike', source: 'inject', value: 250 }));

    const readable = await agentos(['world', 'state', 'cli-dev', ...target()]);
    expect(readable.code, readable.stderr).toBe(0);
    expect(readable.stdout).toContain(`${id} (cli-dev)`);
    expect(readable.stdout).toMatch(/active effects:\n.*latency_spike/s);
    expect(readable.stdout).toContain('network: intercepted=');

    const heal = await agentos(['world', 'event', id, 'heal', ...target()]);
    expect(heal.code, heal.stderr).toBe(0);
    expect(heal.stdout).toContain('healed 1 effect(s)');

    const destroyed = await agentos(['world', 'destroy', id, ...target()]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(await worldIds()).not.toContain(id);
  }, 90_000);

  it('creates from a file with --seed and --time-scale, resolving its mirror source against the file, not the cwd', async () => {
    const worldDir = join(dir, 'defs');
    mkdirSync(join(worldDir, 'app'), { recursive: true });
    writeFileSync(join(worldDir, 'app', 'hello.txt'), 'hello from the mirror\n');
    writeFileSync(join(worldDir, 'world.yaml'), 'name: from-file\nseed: 1\nfilesystem:\n  /app:\n    type: mirror\n    source: ./app\n');
    // From `dir`, where ./app does not exist: only resolving against the file's directory finds it.
    const created = await agentos(['world', 'create', 'defs/world.yaml', '--seed', '4242', '--time-scale', '30', ...target()], {
      cwd: dir,
    });
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const { state } = await client.worldState(id);
    expect(state).toMatchObject({ name: 'from-file', seed: 4242, clock: expect.objectContaining({ time_scale: 30 }) });
    expect(state.filesystem).toBeDefined();
    await client.worldDestroy({ world_id: id, force: true });
  }, 60_000);

  it('snapshots a world to a file and restores it under a new name', async () => {
    const { world_id: id } = await client.worldCreate({ preset: 'chaos', name: 'to-snap' });
    const file = join(dir, 'to-snap.snapshot');
    const snap = await agentos(['world', 'snapshot', 'to-snap', '--out', file, ...target()]);
    expect(snap.code, snap.stderr).toBe(0);
    expect(snap.stdout).toMatch(new RegExp(`${id}: snapshot \\S+ written to ${file} \\(\\d+ bytes, sha256 [0-9a-f]{64}\\)`));
    const restored = await agentos(['world', 'restore', file, '--name', 'restored', ...target()]);
    expect(restored.code, restored.stderr).toBe(0);
    const newId = restored.stdout.trim();
    expect((await client.worldList()).worlds).toContainEqual(expect.objectContaining({ world_id: newId, name: 'restored' }));
    // --replace: the empty world named is replaced, and its name taken.
    const replaced = await agentos(['world', 'restore', file, '--replace', 'restored', ...target()]);
    expect(replaced.code, replaced.stderr).toBe(0);
    const [replacedId] = replaced.stdout.trim().split(' ');
    expect(replaced.stdout).toContain(`(replaced ${newId})`);
    const names = (await client.worldList()).worlds.map((world) => [world.world_id, world.name]);
    expect(names).toContainEqual([replacedId, 'restored']);
    expect(names.map(([worldId]) => worldId)).not.toContain(newId);
    await client.worldDestroy({ world_id: id, force: true });
    await client.worldDestroy({ world_id: replacedId as string, force: true });
  }, 60_000);
});

describe('agentos world: bad input', () => {
  it('an unknown preset is refused with the presets listed, and nothing is created', async () => {
    const before = await worldIds();
    const run = await agentos(['world', 'create', 'no-such-preset', ...target()]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/unknown preset "no-such-preset"; presets: .*chaos/);
    expect(await worldIds()).toEqual(before);
  }, 30_000);

  it('a bad definition file names each offending key path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\nnetwork:\n  mocks:\n    - pattern: "GET a.test/x"\n      latency_ms: -5\n  bogus: 1\n');
    const run = await agentos(['world', 'create', file, ...target()]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toContain('network.mocks[0].latency_ms: expected a number from 0 to 600000');
    expect(run.stderr).toContain('network.bogus: unknown key');

    const yaml = join(dir, 'broken.yaml');
    writeFileSync(yaml, 'name: [\n');
    const broken = await agentos(['world', 'create', yaml, ...target()]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/invalid YAML: line \d+, column \d+/);
  }, 30_000);

  it('an unknown world id or name is NOT_FOUND in words, exit code 1', async () => {
    const byId = await agentos(['world', 'state', 'world-9999', ...target()]);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toContain('world "world-9999" does not exist');
    const byName = await agentos(['world', 'destroy', 'nobody-has-this-name', ...target()]);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain('no world with id or name "nobody-has-this-name"');
    const badDuration = await agentos(['world', 'event', 'world-1', 'latency_spike', '--duration', '30', ...target()]);
    expect(badDuration.code).not.toBe(0);
    expect(badDuration.stderr).toContain("option '--duration <duration>' argument '30' is invalid");
  }, 30_000);
});

describe('agentos world run', () => {
  /** A long-running agent: crash events kill it and the supervisor restarts it. */
  function tinyAgent(): string {
    const script = join(dir, 'tiny.py');
    writeFileSync(script, 'import time\nwhile True:\n    time.sleep(0.2)\n');
    return script;
  }

  it('runs agents in a scored world and prints objectives, the timeline and the agents; nothing is left behind', async () => {
    const script = tinyAgent();
    const before = await worldIds();
    const run = await agentos(
      [
        'world',
        'run',
        'chaos',
        '--agent',
        `worker-1=${script}`,
        '--agent',
        `worker-2=${script}`,
        '--duration',
        '3s',
        '--time-scale',
        '120',
        '--seed',
        '5',
        '--score',
        ...target(),
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^world run: chaos \(world-\d+\), seed 5, \d+s real = \+\d+m\d+s world time at ×120/);
    expect(run.stdout).toMatch(/objective\s+weight\s+score\s+detail/);
    expect(run.stdout).toMatch(/uptime\s+0\.50 \(50%\)\s+\d/);
    expect(run.stdout).toMatch(/total score: [\d.]+ \/ 100/);
    expect(run.stdout).toMatch(/timeline \(\d+ fired, \d+ healed\):\nworld time\s+event\s+target/);
    // chaos schedules a cpu_spike at +1m: three real seconds at ×120 are six world minutes.
    expect(run.stdout).toMatch(/\+1m00s\s+cpu_spike\s+\(world\)\s+95\s+fired\s+schedule/);
    expect(run.stdout).toMatch(/agent\s+id\s+state\s+exits\s+restarts\s+script\nworker-1\s+\d+/);
    // Progress went to stderr, not into the report.
    expect(run.stderr).toMatch(/world-\d+ \+\S+ ×120 \| events \d+ \| agents \d\/2 up \| score/);

    expect(await worldIds()).toEqual(before);
    const agents = (await client.list()) as { name: string | null; state: string }[];
    expect(agents.filter((agent) => agent.name === 'worker-1' || agent.name === 'worker-2')).toEqual([]);
  }, 90_000);

  it('--json prints the report as JSON; a missing script is refused before anything is created', async () => {
    const script = tinyAgent();
    const run = await agentos(['world', 'run', 'dev', '--agent', script, '--duration', '2s', '--json', ...target()], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { world_id: string; agents: { name: string; exits: number }[]; timeline: unknown[] };
    expect(report.world_id).toMatch(/^world-\d+$/);
    expect(report.agents).toEqual([expect.objectContaining({ name: 'tiny', exits: 0, restarts: 0 })]);
    expect(Array.isArray(report.timeline)).toBe(true);

    const before = await worldIds();
    const missing = await agentos(['world', 'run', 'dev', '--agent', join(dir, 'nope.py'), '--duration', '2s', ...target()]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`--agent ${join(dir, 'nope.py')}: ${join(dir, 'nope.py')} does not exist`);
    expect(await worldIds()).toEqual(before);
  }, 90_000);

  it('starts a kernel of its own when none answers at --socket, and says so', async () => {
    const script = tinyAgent();
    const socket = join(dir, 'nobody-listens.sock');
    const run = await agentos(
      ['world', 'run', 'dev', '--agent', script, '--duration', '2s', '--socket', socket, '--data-dir', join(dir, 'no-data')],
      {
        timeoutMs: 60_000,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`no kernel at ${socket}; started one in this process for the run`);
    expect(run.stdout).toMatch(/^world run: dev \(world-1\)/);
    expect(run.stdout).toMatch(/\ntiny\s+\d+\s+running/);
  }, 90_000);

  it('Ctrl-C stops the run early, still reports, and cleans up (exit code 130)', async () => {
    const script = tinyAgent();
    const before = await worldIds();
    let interrupted = false;
    const run = await agentos(['world', 'run', 'chaos', '--agent', `worker-1=${script}`, '--duration', '5m', ...target()], {
      timeoutMs: 60_000,
      onStderr: (text, child) => {
        // The first status line: the world exists and its agent runs.
        if (!interrupted && / \| agents 1\/1 up \|/.test(text)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(interrupted).toBe(true);
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toContain('interrupted; cleaning up');
    expect(run.stdout).toMatch(/world time at ×60 \(interrupted\)/);
    expect(await worldIds()).toEqual(before);
    const agents = (await client.list()) as { name: string | null }[];
    expect(agents.filter((agent) => agent.name === 'worker-1')).toEqual([]);
  }, 90_000);
});
