/**
 * The real `agentos` command as a child process (`node bin/agentos ...`): the kernel
 * command's ready line, signals and config file; ping; call and its exit statuses.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentOSClient } from '../../src/sdk/client.js';
import { eventually } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'agentos');
const READY = /^agentos kernel ready socket=(\S+) http=(\S+)\n$/;

/** The environment of every CLI run: no kernel socket or token leaking in from outside. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!('AGENTOS_SOCKET' in extra)) delete env.AGENTOS_SOCKET;
  delete env.AGENTOS_AGENT_TOKEN;
  return env;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `agentos ...args` to completion. */
function run(args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(extraEnv) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agentos ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

interface CliKernel {
  child: ChildProcessWithoutNullStreams;
  socket: string;
  http: string;
  readyLine: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `agentos kernel ...args` and wait for its ready line. */
async function startCliKernel(args: string[]): Promise<CliKernel> {
  const child = spawn(process.execPath, [BIN, 'kernel', ...args], { cwd: ROOT, env: cliEnv() });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolvePromise({ code, signal });
    });
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const readyLine = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 15 s; stderr: ${stderr}`)), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolvePromise(stdout.slice(0, newline + 1));
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the kernel exited (${code}) before it was ready; stderr: ${stderr}`));
    });
  });
  const match = READY.exec(readyLine);
  if (!match) throw new Error(`unexpected ready line: ${JSON.stringify(readyLine)}`);
  return { child, socket: match[1] as string, http: match[2] as string, readyLine, stdout: () => stdout, stderr: () => stderr, exited };
}

const running = new Set<ChildProcessWithoutNullStreams>();
let dir: string;
let kernel: CliKernel;
let socket: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentos-cli-'));
  socket = join(dir, 'cli.sock');
  kernel = await startCliKernel(['--socket', socket, '--data-dir', join(dir, 'data'), '--http-port', '0']);
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await eventually(() => running.size === 0, 'CLI kernels to exit');
  rmSync(dir, { recursive: true, force: true });
});

describe('agentos kernel', () => {
  it('prints exactly one ready line naming the socket and the HTTP URL', async () => {
    expect(kernel.readyLine).toMatch(/^agentos kernel ready socket=\S+ http=http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(kernel.socket).toBe(socket);
    expect(kernel.stdout()).toBe(kernel.readyLine);
    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(lstatSync(socket).mode & 0o777).toBe(0o600);
    const health = await fetch(`${kernel.http}/health`);
    expect(await health.json()).toMatchObject({ success: true, status: 'running', socket });
  });

  it('refuses to start over the running kernel, naming the path, and exits 1', async () => {
    const result = await run(['kernel', '--socket', socket, '--data-dir', join(dir, 'data-b'), '--http-port', '0']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(socket);
    // The first kernel still answers.
    const ping = await run(['ping', '--socket', socket, '-c', '1']);
    expect(ping.code).toBe(0);
  });

  it('rejects an invalid --config file, naming the file and the field', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'maxPayload: -5\n');
    const result = await run(['kernel', '--config', config, '--socket', join(dir, 'never.sock'), '--http-port', 'off']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(config);
    expect(result.stderr).toContain('maxPayload');
    expect(existsSync(join(dir, 'never.sock'))).toBe(false);
  });

  it('honours --config (YAML) with flags overriding it, and exits 0 on SIGINT removing its socket', async () => {
    const config = join(dir, 'kernel.yaml');
    const flagSocket = join(dir, 'from-flag.sock');
    writeFileSync(
      config,
      [
        `socketPath: ${join(dir, 'from-config.sock')}`,
        `dataDir: ${join(dir, 'config-data')}`,
        'maxPayload: 2048',
        'defaultLevel: readonly',
        'exec:',
        '  maxTimeoutS: 7',
        '',
      ].join('\n'),
    );
    const configured = await startCliKernel(['--config', config, '--socket', flagSocket, '--http-port', 'off']);
    expect(configured.readyLine).toBe(`agentos kernel ready socket=${flagSocket} http=off\n`);
    expect(existsSync(join(dir, 'from-config.sock'))).toBe(false);
    const client = await AgentOSClient.connect({ socketPath: flagSocket });
    try {
      expect(client.helloReply?.limits.max_payload).toBe(2048);
      expect(client.helloReply?.limits.exec_max_timeout_s).toBe(7);
      expect(client.helloReply?.level).toBe('readonly');
      await expect(client.exec('true')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    } finally {
      await client.close();
    }
    expect(existsSync(join(dir, 'config-data'))).toBe(true);

    configured.child.kill('SIGINT');
    expect(await configured.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(flagSocket)).toBe(false);
    expect(configured.stdout()).toBe(configured.readyLine);
  });
});

describe('agentos ping', () => {
  it('pings the kernel at --socket', async () => {
    const result = await run(['ping', '--socket', socket]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^ping ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: kernel \\S+, agent \\d+\\n`));
    expect(result.stdout).toMatch(/5 pings: min [\d.]+ ms, avg [\d.]+ ms, p50 [\d.]+ ms, max [\d.]+ ms\n$/);
  });

  it('prints JSON with --json', async () => {
    const result = await run(['ping', '--socket', socket, '--json', '-c', '3']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0] as string);
    expect(summary).toMatchObject({ socket, count: 3 });
    expect(summary.agent_id).toBeGreaterThan(0);
    expect(typeof summary.kernel_version).toBe('string');
    expect(summary.times_ms).toHaveLength(3);
    expect(summary.min_ms).toBeLessThanOrEqual(summary.max_ms);
  });

  it('uses $AGENTOS_SOCKET when --socket is absent', async () => {
    const result = await run(['ping', '--json', '-c', '1'], { AGENTOS_SOCKET: socket });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ socket, count: 1 });
  });

  it('exits 1 naming the socket when no kernel runs there', async () => {
    const nowhere = join(dir, 'nobody.sock');
    const result = await run(['ping', '--socket', nowhere]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(nowhere);
    expect(result.stdout).toBe('');
  });
});

describe('agentos call', () => {
  it('makes a syscall and prints its reply', async () => {
    const result = await run(['call', 'EXEC', '{"command":"echo hi"}', '--socket', socket]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ success: true, stdout: 'hi\n', stderr: '', exit_code: 0 });
  });

  it('takes the op by number, prints one compact line with --json, and echoes NOOP text', async () => {
    const json = await run(['call', '0x02', '{"command":"printf x"}', '--socket', socket, '--json']);
    expect(json.code).toBe(0);
    expect(json.stdout.split('\n')).toHaveLength(2); // one line and its newline
    expect(JSON.parse(json.stdout)).toMatchObject({ success: true, stdout: 'x' });
    const noop = await run(['call', 'NOOP', 'echo me', '--socket', socket]);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toBe('echo me\n');
  });

  it('exits 2 on a payload that is not JSON, or an unknown op', async () => {
    const bad = await run(['call', 'EXEC', '{"command": ', '--socket', socket]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not valid JSON/);
    expect(bad.stdout).toBe('');
    const unknown = await run(['call', 'FROBNICATE', '{}', '--socket', socket]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('FROBNICATE');
  });

  it('exits 1 with the error code on stderr when the syscall fails', async () => {
    const missing = join(dir, 'missing.txt');
    const result = await run(['call', 'READ', JSON.stringify({ path: missing }), '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOT_FOUND');
    expect(result.stderr).toContain(missing);
    const json = await run(['call', 'LOGS', '{"id":999999}', '--socket', socket, '--json']);
    expect(json.code).toBe(1);
    expect(json.stderr).toContain('NOT_FOUND');
    expect(JSON.parse(json.stdout)).toMatchObject({ success: false, code: 'NOT_FOUND' });
  });
});

describe('shutdown', () => {
  it('SIGTERM makes the kernel exit 0 and remove its socket', async () => {
    kernel.child.kill('SIGTERM');
    expect(await kernel.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socket)).toBe(false);
    expect(kernel.stdout()).toBe(kernel.readyLine);
  });
});
