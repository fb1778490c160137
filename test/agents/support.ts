/**
 * Shared by the process-agent tests (not a test file itself): a kernel that lets direct
 * connections spawn, clients, an event recorder, agent scripts written at run time,
 * and /proc readers for process states and process groups.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { KernelOptionsInput } from '../../src/kernel/index.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

export { liveGroupMembers } from '../integration/support.js';

/** A kernel whose direct connections are unrestricted (so they may SPAWN). */
export function startAgentsKernel(overrides: KernelOptionsInput = {}): Promise<TestKernel> {
  return startTestKernel({ defaultLevel: 'unrestricted', ...overrides });
}

/** A socket client; `token: null` (the default) presents none. */
export function connect(kernel: TestKernel, token: string | null = null): Promise<AgentOSClient> {
  return AgentOSClient.connect({ socketPath: kernel.socketPath, token });
}

/** The admin token the kernel wrote to its data directory. */
export function adminToken(kernel: TestKernel): string {
  return readFileSync(join(kernel.options.dataDir, 'admin.token'), 'utf8').trim();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}

/** The AgentOSError a call fails with; fails the test when it succeeds. */
/** The AgentOSError a promised call rejects with, whatever its code; fails the test if it resolves. */
export async function rejection(call: Promise<unknown>): Promise<AgentOSError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(AgentOSError);
    return error as AgentOSError;
  }
  throw new Error('expected the call to fail');
}

export async function failure(call: Promise<unknown>, code: string): Promise<AgentOSError> {
  try {
    const reply = await call;
    throw new Error(`expected ${code}, got success: ${JSON.stringify(reply)}`);
  } catch (error) {
    if (!(error instanceof AgentOSError)) throw error;
    expect(error.code, error.message).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    return error;
  }
}

/** Every kernel event from now on, with a way to wait for one. */
export class EventLog {
  readonly events: KernelEvent[] = [];
  readonly #off: () => void;

  constructor(kernel: TestKernel) {
    this.#off = kernel.events.on((event) => this.events.push(event));
  }

  /** Events of `type` from agent `agentId`. */
  of(type: string, agentId: number): KernelEvent[] {
    return this.events.filter((event) => event.type === type && event.source_agent_id === agentId);
  }

  /** AGENT_* event types of one agent, in order. */
  lifecycle(agentId: number): string[] {
    return this.events.filter((e) => e.source_agent_id === agentId && e.type.startsWith('AGENT_')).map((e) => e.type);
  }

  /** Waits for the `nth` (1-based) event of `type` from `agentId`. */
  wait(type: string, agentId: number, nth = 1, timeoutMs = 10_000): Promise<KernelEvent> {
    return until(() => this.of(type, agentId)[nth - 1], `${type} #${nth} from agent ${agentId}`, timeoutMs);
  }

  stop(): void {
    this.#off();
  }
}

export interface SpawnReply {
  success: true;
  agent_id: number;
  id: number;
  name: string;
  pid: number;
  restart_policy: string;
  isolation: unknown;
}

export interface AgentRow {
  id: number;
  name: string | null;
  kind: string;
  pid: number | null;
  state: string;
  parent_id: number | null;
  restarts: number;
  uptime_ms: number;
  level: string;
}

export async function spawnAgent(client: AgentOSClient, request: Record<string, unknown>): Promise<SpawnReply> {
  return (await client.call('SPAWN', request)) as SpawnReply;
}

export async function listAgents(client: AgentOSClient): Promise<AgentRow[]> {
  return (await client.call('LIST', {})) as AgentRow[];
}

export async function row(client: AgentOSClient, id: number): Promise<AgentRow | undefined> {
  return (await listAgents(client)).find((agent) => agent.id === id);
}

/** Write a script into `dir`; `executable` sets mode 0755 (else 0644). */
export function script(dir: string, name: string, body: string, executable = false): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, executable ? 0o755 : 0o644);
  return path;
}

/** A file's JSON once it exists and parses (agents write theirs with a rename). */
export function readJsonWhenThere<T = Record<string, unknown>>(path: string, timeoutMs = 10_000): Promise<T> {
  return until(
    () => {
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as T;
      } catch {
        return undefined;
      }
    },
    `${path} to be written`,
    timeoutMs,
  );
}

/** A file's trimmed text once it exists and is not empty. */
export function readTextWhenThere(path: string, timeoutMs = 10_000): Promise<string> {
  return until(
    () => {
      try {
        return readFileSync(path, 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    },
    `${path} to be written`,
    timeoutMs,
  );
}

/** The deepest process under `pid` (a sandboxed agent's program, below bwrap and its init), or `pid` itself. */
export function agentProcess(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone since the listing.
    }
  }
  let current = pid;
  for (let next = children.get(current)?.[0]; next !== undefined; next = children.get(current)?.[0]) current = next;
  return current;
}

/** State letter of a process from /proc/PID/stat (R, S, T, Z...), or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** True when the process no longer runs (gone, or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  const state = procState(pid);
  return state === undefined || state === 'Z' || state === 'X';
}

/** Process group id of a live process. */
export function pgidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Live processes whose environment holds `NAME=value` (finds escaped descendants of an agent). */
export function processesWithEnv(entry: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (env.includes(entry) && !isGone(Number(name))) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/**
 * A minimal AGNT client for agent scripts written in Node (.mjs): HELLO with the spawn
 * token, then any call. Written next to the scripts that import it.
 */
export const AGNT_MJS = `
import { connect } from 'node:net';
import { renameSync, writeFileSync } from 'node:fs';
export function agnt(path) {
  const socket = connect(path);
  let buffer = Buffer.alloc(0);
  const waiting = [];
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 17) {
      const length = Number(buffer.readBigUInt64LE(9));
      if (buffer.length < 17 + length) break;
      const frame = { agentId: buffer.readUInt32LE(4), opcode: buffer[8], reply: JSON.parse(buffer.subarray(17, 17 + length).toString()) };
      buffer = buffer.subarray(17 + length);
      waiting.shift()(frame);
    }
  });
  const ready = new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  return {
    async call(opcode, payload) {
      await ready;
      const body = Buffer.from(JSON.stringify(payload));
      const header = Buffer.alloc(17);
      header.writeUInt32LE(0x41474e54, 0);
      header[8] = opcode;
      header.writeBigUInt64LE(BigInt(body.length), 9);
      socket.write(Buffer.concat([header, body]));
      return new Promise((resolve) => waiting.push(resolve));
    },
    close() { socket.destroy(); },
  };
}
export function report(path, value) {
  writeFileSync(path + '.tmp', JSON.stringify(value));
  renameSync(path + '.tmp', path);
}
`;
