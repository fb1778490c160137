/**
 * For the relay server's tests: a real relay in-process (temp data dir, port 0, silent
 * logs), and raw `ws` peers that play the kernel and the agents: send JSON, await the
 * next message of a type, await the close.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket, { type ClientOptions } from 'ws';
import type { RelayLimitsInput } from '../../src/relay/protocol/limits.js';
import { type RelayServer, startRelay } from '../../src/relay/server/relay.js';

export type Message = Record<string, unknown> & { type: string };

const WAIT_MS = 5000;

export interface TestRelay {
  relay: RelayServer;
  dir: string;
  /** A machine token for `machineId`. */
  machineToken(machineId: string, expiresAt?: number): string;
  /** An agent token reaching `machines`. */
  agentToken(machines: string[] | '*', options?: { ceiling?: Record<string, unknown>; expiresAt?: number }): { token: string; id: string };
}

const started: { relay: RelayServer; dir: string }[] = [];
const peers: TestPeer[] = [];

export async function startTestRelay(limits: RelayLimitsInput = {}, extra: { deployTimeoutMs?: number } = {}): Promise<TestRelay> {
  const dir = await mkdtemp(join(tmpdir(), 'aos-relay-'));
  const relay = await startRelay({ port: 0, dataDir: dir, limits, ...extra }, { logger: pino({ level: 'silent' }) });
  started.push({ relay, dir });
  return {
    relay,
    dir,
    machineToken: (machineId, expiresAt) =>
      relay.hub.tokens.create({ kind: 'machine', machine_id: machineId, ...(expiresAt === undefined ? {} : { expires_at: expiresAt }) })
        .token,
    agentToken: (machines, options = {}) => {
      const created = relay.hub.tokens.create({
        kind: 'agent',
        machines,
        ...(options.ceiling === undefined ? {} : { ceiling: options.ceiling }),
        ...(options.expiresAt === undefined ? {} : { expires_at: options.expiresAt }),
      });
      return { token: created.token, id: created.id };
    },
  };
}

/** Closes every peer and relay the test made; for afterEach. */
export async function cleanup(): Promise<void> {
  for (const peer of peers.splice(0)) peer.ws.terminate();
  for (const { relay, dir } of started.splice(0)) {
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export class TestPeer {
  readonly ws: WebSocket;
  readonly received: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      const at = this.#waiters.findIndex((w) => w.match(message));
      if (at >= 0) {
        const [waiter] = this.#waiters.splice(at, 1);
        waiter?.resolve(message);
      } else this.received.push(message);
    });
    ws.on('error', () => {});
  }

  static async connect(url: string, options: ClientOptions = {}): Promise<TestPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const peer = new TestPeer(ws);
    peers.push(peer);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return peer;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The next message (already received or to come) of `type` that passes `where`. */
  next(type: string, where: (m: Message) => boolean = () => true, timeoutMs = WAIT_MS): Promise<Message> {
    const match = (m: Message) => m.type === type && where(m);
    const at = this.received.findIndex(match);
    if (at >= 0) return Promise.resolve(this.received.splice(at, 1)[0] as Message);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: Message) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no "${type}" message within ${timeoutMs} ms; unclaimed: ${JSON.stringify(this.received).slice(0, 500)}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}

/** A kernel peer, authenticated as `machineId`. */
export async function connectKernel(relay: RelayServer, machineId: string, token: string): Promise<TestPeer> {
  const kernel = await TestPeer.connect(`${relay.url}/kernel`);
  kernel.send({ type: 'kernel_auth', machine_id: machineId, token, kernel_version: '0.1.0-test' });
  await kernel.next('auth_ok');
  return kernel;
}

/** An agent peer with its session, authenticated on `machineId`. */
export async function connectAgent(
  relay: RelayServer,
  machineId: string,
  token: string,
  name?: string,
): Promise<{ agent: TestPeer; session: number }> {
  const agent = await TestPeer.connect(`${relay.url}/agent`);
  agent.send({ type: 'agent_auth', token, machine_id: machineId, ...(name === undefined ? {} : { name }) });
  const ok = await agent.next('auth_ok');
  return { agent, session: ok.session as number };
}

/** Makes a kernel peer answer every call with its session, op and payload. */
export function echoCalls(kernel: TestPeer): void {
  kernel.ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Message;
    if (message.type !== 'call') return;
    kernel.send({
      type: 'reply',
      id: message.id,
      result: { success: true, session: message.session, op: message.op, payload: message.payload },
    });
  });
}
