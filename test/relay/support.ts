/**
 * End-to-end helpers (not a test file): a relay and kernels as real child processes run
 * from the TypeScript sources (`agentos relay`, `agentos kernel --relay ...`), tokens made
 * through the relay's REST API, admin clients on a kernel's socket, and remote agents.
 * Every child is killed by `stopAll` (call it in afterAll), whatever the test did.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { RelayLimitsInput } from '../../src/relay/protocol/limits.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { RemoteAgentClient, type RemoteConnectOptions } from '../../src/sdk/remote-client.js';
import type { TunnelStatusReply } from '../../src/tunnel/index.js';
import { ROOT } from '../cli/run-cli.js';

const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');

/** How long a child may take to start (tsx compiles the sources first, on a busy machine). */
const START_TIMEOUT_MS = 60_000;

/** A child process of `agentos ...args`, with its output kept for failure messages. */
export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the child is gone. */
  exited: Promise<number | null>;
}

const children = new Set<CliChild>();
const dirs: string[] = [];
const remotes: RemoteAgentClient[] = [];
const admins: AgentOSClient[] = [];

function spawnCli(args: string[]): CliChild {
  const argv = JSON.stringify(['node', 'agentos', ...args]);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['AGENTOS_SOCKET', 'AGENTOS_AGENT_TOKEN', 'AGENTOS_DATA_DIR', 'AGENTOS_RELAY_DATA_DIR', 'AGENTOS_RELAY_ADMIN_TOKEN'])
    delete env[name];
  // No ~/.agentos/config.yaml of the machine running the tests.
  env.AGENTOS_CONFIG = join(tmpdir(), 'agentos-e2e-no-config.yaml');
  const child = spawn(process.execPath, ['--import', TSX, '-e', `import(${JSON.stringify(MAIN)}).then((m) => m.main(${argv}))`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    // Logs are chatty: keep the tail only, for failure messages.
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const handle: CliChild = { child, stdout: () => stdout, stderr: () => stderr, exited };
  children.add(handle);
  exited.then(() => children.delete(handle));
  return handle;
}

/** Resolves with the first stdout line `pick` accepts; rejects when the child exits first or on timeout. */
async function waitForLine<T>(handle: CliChild, what: string, pick: (line: string) => T | undefined): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  handle.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    for (const line of handle.stdout().split('\n')) {
      const found = line.trim() ? pick(line.trim()) : undefined;
      if (found !== undefined) return found;
    }
    if (exitCode !== undefined) break;
    await sleep(50);
  }
  handle.child.kill('SIGKILL');
  throw new Error(`${what} did not start (exit ${exitCode ?? 'none'}):\nstdout: ${handle.stdout()}\nstderr: ${handle.stderr()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns something other than undefined/false (or throws on timeout). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `agentos-e2e-${prefix}-`));
  dirs.push(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------
// The relay

export interface RelayProcessOptions {
  dataDir?: string;
  /** 0 (default) picks a free port; a restart passes the previous one. */
  port?: number;
  /** RelayLimits keys, written to a YAML file for --config. */
  limits?: RelayLimitsInput;
}

export interface RelayProcess {
  handle: CliChild;
  url: string;
  httpUrl: string;
  port: number;
  dataDir: string;
  adminToken: string;
  limits: RelayLimitsInput | undefined;
  /** One REST call with the admin token; answers the status and the parsed body. */
  rest(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: Record<string, unknown> }>;
  /** POST /v1/tokens: the created record with its `token`. */
  createToken(body: Record<string, unknown>): Promise<{ id: string; token: string } & Record<string, unknown>>;
  /** SIGTERM (or SIGKILL) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startRelayProcess(options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const dataDir = options.dataDir ?? (await tempDir('relay'));
  const args = [
    'relay',
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--data-dir',
    dataDir,
    '--json',
    '--log-level',
    'warn',
  ];
  if (options.limits) {
    const config = join(dataDir, 'limits.yaml');
    await writeFile(config, toYaml(options.limits));
    args.push('--config', config);
  }
  const handle = spawnCli(args);
  const ready = await waitForLine(handle, 'the relay', (line) => {
    if (!line.startsWith('{')) return undefined;
    try {
      const parsed = JSON.parse(line) as { url?: string; http_url?: string; admin_token_file?: string };
      return parsed.url && parsed.http_url && parsed.admin_token_file ? parsed : undefined;
    } catch {
      return undefined;
    }
  });
  const adminToken = (await readFile(ready.admin_token_file as string, 'utf8')).trim();
  const httpUrl = (ready.http_url as string).replace(/\/$/, '');
  const rest: RelayProcess['rest'] = async (method, path, body, token = adminToken) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${httpUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  return {
    handle,
    url: ready.url as string,
    httpUrl,
    port: Number(new URL(httpUrl).port),
    dataDir,
    adminToken,
    limits: options.limits,
    rest,
    async createToken(body) {
      const { status, body: created } = await rest('POST', '/v1/tokens', body);
      if (status !== 201) throw new Error(`POST /v1/tokens answered ${status}: ${JSON.stringify(created)}`);
      return created as { id: string; token: string } & Record<string, unknown>;
    },
    stop: (signal = 'SIGTERM') => stopChild(handle, signal),
  };
}

/** The same relay again: same port, data dir and limits (its tokens and admin token survive). */
export function restartRelayProcess(relay: RelayProcess): Promise<RelayProcess> {
  return startRelayProcess({ dataDir: relay.dataDir, port: relay.port, limits: relay.limits });
}

// ---------------------------------------------------------------------------------------
// A kernel linked to the relay

export interface KernelProcessOptions {
  relay: RelayProcess;
  machineId: string;
  /** Reuse a machine token (a restart); else one is made through REST. */
  machineToken?: string;
  /** Reuse a directory (a restart keeps its data dir and socket path). */
  dir?: string;
  /** Extra kernel options for the --config YAML (merged over the short tunnel backoff). */
  config?: Record<string, unknown>;
}

export interface KernelProcess {
  handle: CliChild;
  dir: string;
  socketPath: string;
  dataDir: string;
  machineId: string;
  machineToken: string;
  /** An admin client on the kernel's socket (closed by stopAll). */
  admin(): Promise<AgentOSClient>;
  tunnelStatus(): Promise<TunnelStatusReply>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startKernelProcess(options: KernelProcessOptions): Promise<KernelProcess> {
  const { relay, machineId } = options;
  const dir = options.dir ?? (await tempDir('kernel'));
  const socketPath = join(dir, 'agentos.sock');
  const dataDir = join(dir, 'data');
  const machineToken = options.machineToken ?? (await relay.createToken({ kind: 'machine', machine_id: machineId })).token;
  const tokenFile = join(dir, 'machine.token');
  await writeFile(tokenFile, machineToken, { mode: 0o600 });
  const configFile = join(dir, 'kernel.yaml');
  // Short retries, so a relay or kernel restart is over in a moment.
  await writeFile(configFile, toYaml({ tunnel: { backoff: { initial_ms: 50, max_ms: 500, factor: 2 } }, ...options.config }));
  const handle = spawnCli([
    'kernel',
    '--socket',
    socketPath,
    '--data-dir',
    dataDir,
    '--http-port',
    'off',
    '--log-level',
    'warn',
    '--config',
    configFile,
    '--relay',
    relay.url,
    '--machine-id',
    machineId,
    '--machine-token-file',
    tokenFile,
  ]);
  await waitForLine(handle, `the kernel ${machineId}`, (line) => (line.startsWith('agentos kernel ready') ? true : undefined));
  let adminClient: AgentOSClient | undefined;
  const admin = async () => {
    if (adminClient) return adminClient;
    const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
    adminClient = await AgentOSClient.connect({ socketPath, token, name: 'e2e-admin' });
    admins.push(adminClient);
    return adminClient;
  };
  const kernel: KernelProcess = {
    handle,
    dir,
    socketPath,
    dataDir,
    machineId,
    machineToken,
    admin,
    tunnelStatus: async () => (await admin()).tunnelStatus(),
    async stop(signal = 'SIGTERM') {
      await adminClient?.close().catch(() => {});
      adminClient = undefined;
      return stopChild(handle, signal);
    },
  };
  await waitForTunnel(kernel);
  return kernel;
}

/** Until TUNNEL_STATUS says connected (and, when given, after at least `reconnects` retries). */
export function waitForTunnel(kernel: KernelProcess, reconnects = 0): Promise<TunnelStatusReply> {
  return eventually(async () => {
    const status = await kernel.tunnelStatus();
    return status.connected && status.reconnects >= reconnects ? status : undefined;
  }, `the tunnel of ${kernel.machineId} to be connected`);
}

// ---------------------------------------------------------------------------------------
// Remote agents

/** An agent token through REST: for `machines`, with an optional ceiling and lifetime. */
export async function agentToken(
  relay: RelayProcess,
  machines: string[] | '*',
  extra: { ceiling?: Record<string, unknown>; expires_in_s?: number; expires_at?: number; label?: string } = {},
): Promise<{ id: string; token: string }> {
  return relay.createToken({ kind: 'agent', machines, ...extra });
}

export async function remoteAgent(
  relay: RelayProcess,
  options: Omit<RemoteConnectOptions, 'relayUrl'> & { relayUrl?: string },
): Promise<RemoteAgentClient> {
  const client = await RemoteAgentClient.connect({ relayUrl: relay.url, backoff: { initial_ms: 50, max_ms: 500, factor: 2 }, ...options });
  remotes.push(client);
  return client;
}

// ---------------------------------------------------------------------------------------
// Cleanup

async function stopChild(handle: CliChild, signal: NodeJS.Signals): Promise<number | null> {
  if (handle.child.exitCode !== null || handle.child.signalCode !== null) return handle.exited;
  handle.child.kill(signal);
  const timer = setTimeout(() => handle.child.kill('SIGKILL'), 10_000);
  const code = await handle.exited;
  clearTimeout(timer);
  return code;
}

/** Closes every client, kills every child and removes every temp dir this file made. */
export async function stopAll(): Promise<void> {
  for (const client of remotes.splice(0)) await client.close().catch(() => {});
  for (const client of admins.splice(0)) await client.close().catch(() => {});
  await Promise.all([...children].map((handle) => stopChild(handle, 'SIGTERM')));
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}
