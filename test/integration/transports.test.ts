/**
 * The transports: pipelining and ordering on the Unix socket, isolation between
 * connections, the WebSocket JSON envelope, the in-process connection, the SDK's
 * connection errors, and per-connection cleanup.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrameBuffer } from '../../src/protocol/frame.js';
import { Op } from '../../src/protocol/opcodes.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { agentIdOf, eventually, expectFailure, liveGroupMembers, session } from './support.js';

let kernel: TestKernel;
const cleanups: (() => unknown)[] = [];

async function raw(): Promise<RawClient> {
  const connection = await RawClient.connect(kernel.socketPath);
  cleanups.push(() => connection.close());
  return connection;
}

beforeAll(async () => {
  kernel = await startTestKernel();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // Every test starts with no agent connected, so counts below are exact; this also
  // checks that no test leaves a session behind.
  await eventually(() => kernel.agents().length === 0, 'every connection of the test to close');
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('Unix socket: pipelining and ordering', () => {
  it('answers 1000 NOOPs written in one write, in order', async () => {
    const c = await raw();
    const count = 1000;
    c.socket.write(Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrameBuffer(0, Op.NOOP, `n${i}`))));
    for (let i = 0; i < count; i++) {
      const frame = await c.frame(10_000);
      expect(frame?.opcode).toBe(Op.NOOP);
      expect(frame?.payload.toString()).toBe(`n${i}`);
    }
  });

  it('keeps request order when a slow EXEC is followed by fast NOOPs', async () => {
    const c = await raw();
    c.socket.write(
      Buffer.concat([
        encodeFrameBuffer(0, Op.EXEC, JSON.stringify({ command: 'sleep 0.4; echo slow' })),
        encodeFrameBuffer(0, Op.NOOP, 'fast-1'),
        encodeFrameBuffer(0, Op.READ, JSON.stringify({ path: 5 })),
        encodeFrameBuffer(0, Op.NOOP, 'fast-2'),
      ]),
    );
    const first = await c.frame(10_000);
    expect(first?.opcode).toBe(Op.EXEC);
    expect(JSON.parse(first?.payload.toString() ?? '').stdout).toBe('slow\n');
    expect((await c.frame())?.payload.toString()).toBe('fast-1');
    const third = await c.frame();
    expect(third?.opcode).toBe(Op.READ);
    expectFailure(JSON.parse(third?.payload.toString() ?? ''), 'INVALID_REQUEST');
    expect((await c.frame())?.payload.toString()).toBe('fast-2');
  });

  it('a slow EXEC on one connection does not delay NOOPs on another', async () => {
    const slow = await raw();
    const fast = await raw();
    await agentIdOf(fast); // connected and served once
    const started = Date.now();
    slow.send(Op.EXEC, { command: 'sleep 2; echo done' });
    await new Promise((r) => setTimeout(r, 100)); // the EXEC is in flight
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      fast.send(Op.NOOP, `p${i}`);
      expect((await fast.frame())?.payload.toString()).toBe(`p${i}`);
      rtts.push(performance.now() - t0);
    }
    // All five came back while the command was still sleeping.
    expect(Date.now() - started).toBeLessThan(1800);
    expect(Math.min(...rtts)).toBeLessThan(100);
    expect(Math.max(...rtts)).toBeLessThan(1000);
    const reply = await slow.reply(10_000);
    expect(reply.stdout).toBe('done\n');
  });

  it('serves the replies owed to a client that half-closes (ends its writing side)', async () => {
    const c = await raw();
    c.socket.write(
      Buffer.concat([
        encodeFrameBuffer(0, Op.EXEC, JSON.stringify({ command: 'sleep 1.3; echo finished' })),
        encodeFrameBuffer(0, Op.NOOP, 'last'),
      ]),
    );
    c.socket.end();
    const exec = await c.reply(10_000);
    expect(exec.stdout).toBe('finished\n');
    expect((await c.frame())?.payload.toString()).toBe('last');
    expect(await c.waitClosed()).toBe(true);
  });

  it('the SDK pipelines concurrent calls on one connection', async () => {
    const sdk = await AgentOSClient.connect({ socketPath: kernel.socketPath });
    cleanups.push(() => sdk.close());
    const results = await Promise.all([sdk.exec('sleep 0.2; echo a'), sdk.noop('b'), sdk.exec('echo c'), sdk.noop('d')]);
    expect(results[0].stdout).toBe('a\n');
    expect(results[1].toString()).toBe('b');
    expect(results[2].stdout).toBe('c\n');
    expect(results[3].toString()).toBe('d');
  });
});

describe('WebSocket JSON envelope', () => {
  interface Envelope {
    id: number | string | null;
    op: string;
    result: Record<string, unknown> & { success?: boolean; code?: string };
  }

  function wsUrl(): string {
    if (!kernel.httpUrl) throw new Error('the test kernel has no HTTP endpoint');
    return kernel.httpUrl.replace(/^http/, 'ws');
  }

  /** An open WebSocket plus a queue of the messages it receives. */
  async function openWs(headers?: Record<string, string>) {
    const ws = new WebSocket(wsUrl(), { headers, perMessageDeflate: false });
    const messages: Envelope[] = [];
    let wake: (() => void) | undefined;
    let closeCode: number | undefined;
    ws.on('message', (data) => {
      messages.push(JSON.parse(data.toString()));
      wake?.();
    });
    ws.on('close', (code) => {
      closeCode = code;
      wake?.();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    cleanups.push(() => ws.terminate());
    const next = async (timeoutMs = 5000): Promise<Envelope> => {
      const deadline = Date.now() + timeoutMs;
      while (messages.length === 0) {
        if (closeCode !== undefined) throw new Error(`the WebSocket closed (${closeCode})`);
        if (Date.now() > deadline) throw new Error('no WebSocket message in time');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return messages.shift() as Envelope;
    };
    const send = (value: unknown) => ws.send(typeof value === 'string' ? value : JSON.stringify(value));
    const call = async (value: unknown) => {
      send(value);
      return next();
    };
    return { ws, next, send, call, closeCode: () => closeCode };
  }

  it('takes op by name and by number and correlates replies by id', async () => {
    const { call } = await openWs();
    expect(await call({ id: 1, op: 'NOOP', payload: { echo: [1, 2] } })).toEqual({ id: 1, op: 'NOOP', result: { echo: [1, 2] } });
    const byNumber = await call({ id: 'two', op: 2, payload: { command: 'echo hi' } });
    expect(byNumber.id).toBe('two');
    expect(byNumber.op).toBe('EXEC');
    expect(byNumber.result).toMatchObject({ success: true, stdout: 'hi\n', exit_code: 0 });
    const hello = await call({ id: 3, op: 'hello', payload: { name: 'ws-agent' } });
    expect(hello.op).toBe('HELLO');
    expect(hello.result).toMatchObject({ success: true, name: 'ws-agent' });
    const agentId = hello.result.agent_id as number;
    expect(session(kernel, agentId)?.transport).toBe('websocket');
    const byHex = await call({ id: 4, op: '0x03', payload: { path: join(kernel.dir, 'none') } });
    expect(byHex.op).toBe('READ');
    expectFailure(byHex.result, 'NOT_FOUND');
  });

  it('lets replies come out of order (a NOOP overtakes a slow EXEC)', async () => {
    const { send, next } = await openWs();
    send({ id: 'slow', op: 'EXEC', payload: { command: 'sleep 0.4; echo late' } });
    send({ id: 'fast', op: 'NOOP', payload: 'quick' });
    const first = await next();
    expect(first).toEqual({ id: 'fast', op: 'NOOP', result: 'quick' });
    const second = await next(10_000);
    expect(second.id).toBe('slow');
    expect(second.result.stdout).toBe('late\n');
  });

  it('answers invalid JSON and a bad envelope with INVALID_REQUEST and stays open', async () => {
    const { call } = await openWs();
    const invalid = await call('{"id": 1, "op": ');
    expect(invalid.id).toBeNull();
    expectFailure(invalid.result, 'INVALID_REQUEST');
    const noOp = await call({ id: 2, payload: {} });
    expect(expectFailure(noOp.result, 'INVALID_REQUEST').field).toBe('op');
    const badField = await call({ id: 3, op: 'READ', payload: { path: 5 } });
    expect(badField.id).toBe(3);
    expect(expectFailure(badField.result, 'INVALID_REQUEST').field).toBe('path');
    expect((await call({ id: 4, op: 'NOOP', payload: 'alive' })).result).toBe('alive');
  });

  it('answers an unknown op, by name or number, with UNSUPPORTED_OPCODE', async () => {
    const { call } = await openWs();
    const unknown = await call({ id: 1, op: 'FROBNICATE', payload: {} });
    expect(unknown.id).toBe(1);
    expectFailure(unknown.result, 'UNSUPPORTED_OPCODE');
    expectFailure((await call({ id: 2, op: 0x42, payload: {} })).result, 'UNSUPPORTED_OPCODE');
    // Every opcode of the table is served: a number outside it, written as text, is the unknown path too.
    const unlisted = await call({ id: 3, op: '0xB5', payload: {} });
    expect(unlisted.op).toBe('0xB5');
    expect(expectFailure(unlisted.result, 'UNSUPPORTED_OPCODE').error).toContain('0xB5');
    expect((await call({ id: 4, op: 'NOOP', payload: 1 })).result).toBe(1);
  });

  it('EXIT replies goodbye and closes the WebSocket', async () => {
    const { call, closeCode } = await openWs();
    const hello = await call({ id: 1, op: 'HELLO', payload: {} });
    const agentId = hello.result.agent_id as number;
    const bye = await call({ id: 2, op: 'EXIT', payload: {} });
    expect(bye).toEqual({ id: 2, op: 'EXIT', result: { success: true, goodbye: true, agent_id: agentId } });
    await eventually(() => closeCode() !== undefined, 'the WebSocket to close');
    expect(closeCode()).toBe(1000);
    await eventually(() => session(kernel, agentId) === undefined, 'the session to be forgotten');
  });

  it('refuses a foreign browser Origin with 403, allows no Origin and its own loopback origin', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(), { headers: { Origin: 'https://evil.example.com' } });
      ws.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        ws.terminate();
        reject(new Error('a foreign origin was accepted'));
      });
      ws.on('error', () => {});
    });
    expect(status).toBe(403);

    const { call } = await openWs();
    expect((await call({ id: 1, op: 'NOOP', payload: 'no origin' })).result).toBe('no origin');
    const own = await openWs({ Origin: kernel.httpUrl as string });
    expect((await own.call({ id: 1, op: 'NOOP', payload: 'own origin' })).result).toBe('own origin');
  });

  it('serves GET /health, and 404 elsewhere', async () => {
    const health = await fetch(`${kernel.httpUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ success: true, status: 'running', socket: kernel.socketPath });
    const other = await fetch(`${kernel.httpUrl}/nothing-here`);
    expect(other.status).toBe(404);
    expectFailure(await other.json(), 'NOT_FOUND');
  });

  it('the SDK works over the WebSocket with a url', async () => {
    const sdk = await AgentOSClient.connect({ url: kernel.httpUrl as string, name: 'sdk-ws' });
    cleanups.push(() => sdk.close());
    expect(session(kernel, sdk.agentId ?? -1)?.transport).toBe('websocket');
    expect((await sdk.exec('echo via ws')).stdout).toBe('via ws\n');
    const error = await sdk.read(join(kernel.dir, 'absent')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentOSError);
    expect((error as AgentOSError).code).toBe('NOT_FOUND');
  });
});

describe('in-process connection', () => {
  it('runs syscalls through the router with the same checks', async () => {
    const connection = kernel.connect({ name: 'in-proc', level: 'readonly' });
    const sdk = await AgentOSClient.connect({ connection });
    cleanups.push(() => sdk.close());
    expect(sdk.agentId).toBe(connection.agentId);
    expect(sdk.helloReply).toMatchObject({ name: 'in-proc', level: 'readonly' });
    expect(session(kernel, connection.agentId)?.transport).toBe('inprocess');
    expect((await sdk.read(join(process.cwd(), 'package.json'))).content).toContain('"name": "agentos"');
    const denied = await sdk.exec('true').then(
      () => undefined,
      (e: unknown) => e as AgentOSError,
    );
    expect(denied?.code).toBe('PERMISSION_DENIED');
    expect(session(kernel, connection.agentId)?.counters.denied).toBe(1);

    const bye = await sdk.exit();
    expect(bye.goodbye).toBe(true);
    expect(connection.closed).toBe(true);
    await eventually(() => session(kernel, connection.agentId) === undefined, 'the in-process session to go');
    expect(await connection.call('NOOP', 'x')).toMatchObject({ success: false, code: 'UNAVAILABLE' });
  });
});

describe('SDK connection errors', () => {
  it('says clearly that no kernel is running, naming the socket path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentos-nokernel-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'nobody-home.sock');
    const error = await AgentOSClient.connect({ socketPath: path }).then(
      () => undefined,
      (e: unknown) => e as AgentOSError,
    );
    expect(error).toBeInstanceOf(AgentOSError);
    expect(error?.code).toBe('UNAVAILABLE');
    expect(error?.message).toContain(path);
    expect(error?.message).toMatch(/no AgentOS kernel/);
  });

  it('presents AGENTOS_AGENT_TOKEN from the environment in HELLO; the kernel refuses a token it never issued', async () => {
    const before = kernel.agents().length;
    const saved = process.env.AGENTOS_AGENT_TOKEN;
    process.env.AGENTOS_AGENT_TOKEN = 'forged-token-123';
    let error: AgentOSError | undefined;
    try {
      await AgentOSClient.connect({ socketPath: kernel.socketPath });
    } catch (e) {
      error = e as AgentOSError;
    } finally {
      if (saved === undefined) delete process.env.AGENTOS_AGENT_TOKEN;
      else process.env.AGENTOS_AGENT_TOKEN = saved;
    }
    expect(error).toBeInstanceOf(AgentOSError);
    expect(error?.code).toBe('PERMISSION_DENIED');
    expect(error?.message).toContain('token');
    // The SDK closed the refused connection.
    await eventually(() => kernel.agents().length === before, 'the refused connection to be closed');
    // Without the variable, the same connect succeeds.
    const sdk = await AgentOSClient.connect({ socketPath: kernel.socketPath });
    cleanups.push(() => sdk.close());
    expect(sdk.agentId).toBeGreaterThan(0);
  });
});

describe('per-connection cleanup', () => {
  it('drops the agent session and the supervisor child when a connection goes', async () => {
    const agentsBefore = kernel.agents().length;
    // Connection actors are held in the root's context (see KernelContext.connections).
    const connections = () => kernel.root.getSnapshot().context.connections;
    const childrenBefore = connections().size;
    const clients = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(kernel.socketPath)));
    const ids = await Promise.all(clients.map((c) => agentIdOf(c)));
    expect(kernel.agents().length).toBe(agentsBefore + 5);
    for (const id of ids) expect(connections().get(`connection-${id}`)).toBeDefined();

    for (const c of clients.slice(0, 3)) c.close();
    await eventually(() => kernel.agents().length === agentsBefore + 2, 'three sessions to close');
    for (const id of ids.slice(0, 3)) expect(session(kernel, id)).toBeUndefined();
    // A half-close (end) is a goodbye too.
    for (const c of clients.slice(3)) c.socket.end();
    await eventually(() => kernel.agents().length === agentsBefore, 'every session to close');
    await eventually(() => connections().size === childrenBefore, 'the connection actors to be stopped');
    for (const id of ids) expect(connections().get(`connection-${id}`)).toBeUndefined();
  });

  it('kills an EXEC in flight when its connection closes', async () => {
    const pidFile = join(kernel.dir, `exec-pid-${Date.now()}`);
    const c = await RawClient.connect(kernel.socketPath);
    const id = await agentIdOf(c);
    c.send(Op.EXEC, { command: `echo $$ > ${pidFile}; sleep 30 & sleep 30; wait`, timeout: 60 });
    await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the command to start');
    const pgid = Number(readFileSync(pidFile, 'utf8').trim());
    await eventually(() => liveGroupMembers(pgid).length >= 2, 'the shell and its sleeps to be running');
    c.close();
    await eventually(() => session(kernel, id) === undefined, 'the session to close');
    await eventually(() => liveGroupMembers(pgid).length === 0, `process group ${pgid} to be killed`, 5000);
  });
});
