/**
 * Running a prepared launch the way the process runner does (detached, env passed to
 * spawn, attach after spawn, release after exit) and collecting what it did.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type IsolationHost, type IsolationRequest, type PreparedLaunch, prepareIsolation } from '../../src/sandbox/index.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  prepared: PreparedLaunch;
}

export const ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };

/**
 * Stands in for the kernel socket where a test does not talk to it: bwrap only needs
 * the path to exist, and binding this very file read-only over itself is harmless.
 */
export const PLACEHOLDER_SOCKET = fileURLToPath(import.meta.url);

/** Defaults for a request: sandboxed, no network, cwd /, a placeholder socket (tests that use the socket pass theirs). */
export function request(overrides: Partial<IsolationRequest>): IsolationRequest {
  return {
    sandboxed: true,
    network: false,
    allowDegraded: false,
    command: '/bin/sh',
    args: ['-c', 'true'],
    cwd: '/',
    socketPath: PLACEHOLDER_SOCKET,
    agentName: 'sandbox-test',
    ...overrides,
  };
}

/** Spawn `prepared`, wait for it (killing it after `timeoutMs`), then release its cgroups. */
export async function runPrepared(
  prepared: PreparedLaunch,
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<RunResult> {
  const child = spawn(prepared.command, prepared.args, {
    cwd: options.cwd ?? '/',
    env: options.env ?? ENV,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, options.timeoutMs ?? 10_000);
  if (child.pid !== undefined) {
    await prepared.attach(child.pid);
    options.onSpawn?.(child.pid);
  }
  try {
    const { code, signal } = await closed;
    return { code, signal, stdout, stderr, prepared };
  } finally {
    clearTimeout(timer);
    await prepared.release();
  }
}

/** prepareIsolation then runPrepared. */
export async function run(
  overrides: Partial<IsolationRequest>,
  host: IsolationHost = {},
  options: Parameters<typeof runPrepared>[1] = {},
): Promise<RunResult> {
  return runPrepared(await prepareIsolation(request(overrides), host), options);
}

/** A node one-liner as command/args (node is /usr/bin/node, visible in the sandbox). */
export function node(code: string, ...args: string[]): Pick<IsolationRequest, 'command' | 'args'> {
  return { command: process.execPath, args: ['-e', code, ...args] };
}

export function sh(script: string, ...args: string[]): Pick<IsolationRequest, 'command' | 'args'> {
  return { command: '/bin/sh', args: ['-c', script, 'sh', ...args] };
}
