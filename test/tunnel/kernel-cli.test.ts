/**
 * `agentos kernel` connects its tunnel at start: from --relay, --machine-id and
 * --machine-token-file, or from the CLI config file; --no-tunnel keeps it off. Real
 * child processes against a relay the test plays.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../agents/support.js';
import { ROOT } from '../cli/run-cli.js';
import { FakeRelay } from './fake-relay.js';

const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const TOKEN = 'aos_machine_0123456789abcdef_from-a-file';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** `agentos kernel ...args` until its ready line; stopped (SIGTERM) at cleanup. */
async function kernel(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; stderr: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), 'agentos-tunnel-cli-'));
  const argv = JSON.stringify([
    'node',
    'agentos',
    'kernel',
    '--socket',
    join(dir, 's'),
    '--data-dir',
    join(dir, 'd'),
    '--http-port',
    'off',
    ...args,
  ]);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.AGENTOS_SOCKET;
  delete childEnv.AGENTOS_DATA_DIR;
  const child = spawn(process.execPath, ['--import', TSX, '-e', `import(${JSON.stringify(MAIN)}).then((m) => m.main(${argv}))`], {
    cwd: ROOT,
    env: childEnv,
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  cleanups.push(async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('agentos kernel ready')) resolve();
    });
    child.on('close', (code) => reject(new Error(`the kernel exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, stderr: () => stderr };
}

async function relay(): Promise<FakeRelay> {
  const fake = await FakeRelay.start();
  cleanups.push(() => fake.close());
  return fake;
}

async function file(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentos-tunnel-cli-files-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

describe('agentos kernel and the tunnel', () => {
  it('connects at start with --relay, --machine-id and --machine-token-file, and never logs the token', async () => {
    const fake = await relay();
    const tokenFile = await file('machine.token', `${TOKEN}\n`);
    const noConfig = join(tmpdir(), 'agentos-no-such-config.yaml');
    const { stderr } = await kernel(
      ['--relay', fake.url, '--machine-id', 'cli-1', '--machine-token-file', tokenFile, '--log-level', 'debug'],
      { AGENTOS_CONFIG: noConfig },
    );
    expect(await fake.next('kernel_auth', () => true, 20_000)).toMatchObject({ machine_id: 'cli-1', token: TOKEN });
    await sleep(100);
    expect(stderr()).not.toContain(TOKEN);
  });

  it('without flags it reads relay.url, machine.id and machine.token from the config file; --no-tunnel keeps it off', async () => {
    const fake = await relay();
    const config = await file(
      'config.yaml',
      `relay:\n  url: ${fake.url.replace('ws:', 'http:')}\nmachine:\n  id: from-config\n  token: ${TOKEN}\n`,
    );
    await kernel([], { AGENTOS_CONFIG: config });
    expect(await fake.next('kernel_auth', () => true, 20_000)).toMatchObject({ machine_id: 'from-config', token: TOKEN });

    const other = await relay();
    const config2 = await file('config.yaml', `relay:\n  url: ${other.url}\nmachine:\n  id: off-1\n  token: ${TOKEN}\n`);
    await kernel(['--no-tunnel'], { AGENTOS_CONFIG: config2 });
    await sleep(300);
    expect(other.links).toBe(0);
  });
});
