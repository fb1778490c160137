/**
 * Hostile and broken clients against a real kernel on a real Unix socket
 * (protocol.md §2 and §4): bad frames get one BAD_FRAME reply and a close, bad
 * payloads get INVALID_REQUEST or UNSUPPORTED_OPCODE and the connection lives on,
 * a client that never reads is throttled, and through all of it a well-behaved
 * connection opened before the attack keeps getting NOOP and EXEC replies.
 *
 * Memory is measured on a kernel in a child process (VmRSS from /proc), so the
 * attacking clients' own buffers in this process do not blur the figure.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/protocol/decoder.js';
import { AGNT_MAGIC, encodeFrameBuffer, type Frame, HEADER_LEN } from '../../src/protocol/frame.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';

const OP = { NOOP: 0x00, EXEC: 0x02, READ: 0x03, WRITE: 0x04, HELLO: 0xfe } as const;
const BAD_FRAME_OPCODE = 0xff;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/** A header with any field values, including ones a real client would never send. */
function rawHeader(opcode: number, payloadLength: number, magic = AGNT_MAGIC): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  h.writeUInt32LE(magic >>> 0, 0);
  h.writeUInt32LE(0, 4);
  h[8] = opcode;
  h.writeUInt32LE(payloadLength % 0x1_0000_0000, 9);
  h.writeUInt32LE(Math.floor(payloadLength / 0x1_0000_0000), 13);
  return h;
}

/** Deterministic bytes (xorshift32), so a failing run can be replayed. */
function prng(seed: number): (n: number) => number {
  let x = seed | 0 || 0x9e3779b9;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function randomBytes(next: (n: number) => number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = next(256);
  return out;
}

function json(frame: Frame | undefined): Record<string, unknown> {
  if (!frame) throw new Error('the kernel closed the connection before replying');
  return JSON.parse(frame.payload.toString('utf8')) as Record<string, unknown>;
}

/** Every frame the kernel sends until it closes the connection. */
async function framesUntilClosed(client: RawClient, timeoutMs = 8000): Promise<Frame[]> {
  const frames: Frame[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = await client.frame(Math.max(1, deadline - Date.now()));
    if (frame === undefined) return frames;
    frames.push(frame);
  }
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let probeCounter = 0;

/** The well-behaved connection: a NOOP echoes its bytes and an EXEC runs. */
async function expectServed(good: RawClient): Promise<void> {
  const marker = Buffer.from(`probe-${++probeCounter}-${Date.now()}`);
  good.send(OP.NOOP, marker);
  const echo = await good.frame();
  expect(echo?.opcode).toBe(OP.NOOP);
  expect(echo?.payload.equals(marker)).toBe(true);

  good.send(OP.EXEC, { command: `echo served-${probeCounter}` });
  const exec = await good.frame(10_000);
  expect(exec?.opcode).toBe(OP.EXEC);
  expect(json(exec)).toMatchObject({ success: true, exit_code: 0, stdout: `served-${probeCounter}\n` });
}

/** The connection is answered with exactly one BAD_FRAME reply and then closed. */
function expectOneBadFrame(frames: Frame[]): void {
  expect(frames).toHaveLength(1);
  expect(frames[0]?.opcode).toBe(BAD_FRAME_OPCODE);
  expect(json(frames[0])).toMatchObject({ success: false, code: 'BAD_FRAME' });
}

/** Clients a test opened, destroyed after it whatever happened. */
const opened: { destroy(): void }[] = [];
function track<T extends { destroy(): void } | RawClient>(client: T): T {
  opened.push(client instanceof RawClient ? { destroy: () => client.close() } : client);
  return client;
}
async function connect(path: string): Promise<RawClient> {
  return track(await RawClient.connect(path));
}

afterEach(() => {
  for (const client of opened.splice(0)) client.destroy();
});

/** Processes whose command line contains `needle` (to see that an EXEC's child is gone). */
function processesMatching(needle: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) count++;
    } catch {
      // The process ended while we looked.
    }
  }
  return count;
}

// ---------------------------------------------------------------------------------
// A kernel in a child process, for memory figures
// ---------------------------------------------------------------------------------

const CHILD_SCRIPT = (kernelModule: string) => `
import { startKernel } from ${JSON.stringify(kernelModule)};
const kernel = await startKernel(JSON.parse(process.env.AGENTOS_TEST_KERNEL_OPTIONS));
process.on('message', async (message) => {
  if (message.type === 'agents') process.send({ id: message.id, agents: kernel.agents().map((a) => a.id) });
  if (message.type === 'stop') {
    await kernel.stop();
    process.send({ id: message.id });
    process.disconnect();
  }
});
process.send({ type: 'ready', socketPath: kernel.socketPath });
`;

class ChildKernel {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly socketPath: string;
  #nextId = 0;

  private constructor(child: ChildProcess, dir: string, socketPath: string) {
    this.#child = child;
    this.#dir = dir;
    this.socketPath = socketPath;
  }

  static async start(): Promise<ChildKernel> {
    const dir = await mkdtemp(join(tmpdir(), 'agentos-bad-input-'));
    const script = join(dir, 'kernel.mjs');
    await writeFile(script, CHILD_SCRIPT(pathToFileURL(resolve('src/kernel/index.ts')).href));
    const options = { socketPath: join(dir, 'agentos.sock'), dataDir: join(dir, 'data'), httpPort: null, logLevel: 'silent' };
    const child = fork(script, [], {
      cwd: resolve('.'),
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, AGENTOS_TEST_KERNEL_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const ready = await Promise.race([
      once(child, 'message').then(([m]) => m as { type: string; socketPath: string }),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the kernel child exited with ${code} before it was ready: ${stderr}`);
      }),
    ]);
    return new ChildKernel(child, dir, ready.socketPath);
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resident set size of the kernel process, in bytes. */
  rss(): number {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return Number(match?.[1]) * 1024;
  }

  #request<T>(type: string): Promise<T> {
    const id = ++this.#nextId;
    return new Promise((resolveReply, reject) => {
      const onMessage = (message: { id?: number }) => {
        if (message.id !== id) return;
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
        resolveReply(message as T);
      };
      const onExit = () => reject(new Error('the kernel child exited'));
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      this.#child.send({ type, id });
    });
  }

  async agents(): Promise<number[]> {
    return (await this.#request<{ agents: number[] }>('agents')).agents;
  }

  async stop(): Promise<void> {
    if (this.alive) {
      const exited = once(this.#child, 'exit');
      await Promise.race([this.#request('stop').then(() => exited), sleep(10_000)]);
      if (this.alive) this.#child.kill('SIGKILL');
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** Samples a child kernel's RSS until stopped; `growth` is the peak over the baseline. */
function watchRss(kernel: ChildKernel): { growth(): number; stop(): void } {
  const baseline = kernel.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, kernel.rss());
  }, 25);
  return {
    growth: () => Math.max(peak, kernel.rss()) - baseline,
    stop: () => clearInterval(timer),
  };
}

// ---------------------------------------------------------------------------------
// In-process kernel: tests that look at kernel.agents() directly
// ---------------------------------------------------------------------------------

describe('bad input on an in-process kernel', () => {
  let kernel: TestKernel;
  let good: RawClient;
  let baseline: number;

  beforeAll(async () => {
    kernel = await startTestKernel();
  });
  afterAll(async () => {
    await kernel?.cleanup();
  });

  /** A fresh well-behaved connection per test, opened before the attack. */
  async function openGood(): Promise<RawClient> {
    good = await connect(kernel.socketPath);
    await expectServed(good);
    baseline = kernel.agents().length;
    return good;
  }

  const agentIds = () => kernel.agents().map((a) => a.id);

  it('1. wrong magic: exactly one BAD_FRAME reply (opcode 0xFF), then the kernel closes', async () => {
    await openGood();
    const attacker = await connect(kernel.socketPath);
    const { agent_id } = await attacker.call<{ agent_id: number }>(OP.HELLO, {});

    const frame = encodeFrameBuffer(0, OP.NOOP, 'hello');
    frame.writeUInt32LE(0x544e4741, 0); // "AGNT" in the wrong byte order
    attacker.socket.write(frame);
    const [frames] = await Promise.all([framesUntilClosed(attacker), expectServed(good)]);

    expectOneBadFrame(frames);
    expect(frames[0]?.agentId).toBe(agent_id);
    expect(json(frames[0]).error).toMatch(/magic/);
    expect(attacker.closed).toBe(true);
    await waitUntil('the attacker is gone', () => !agentIds().includes(agent_id));
    await expectServed(good);
    expect(kernel.agents()).toHaveLength(baseline);
  });

  it('3. truncated frame then end(): no crash, the session is cleaned up', async () => {
    await openGood();
    const attacker = await connect(kernel.socketPath);
    const { agent_id } = await attacker.call<{ agent_id: number }>(OP.HELLO, {});
    expect(agentIds()).toContain(agent_id);

    attacker.socket.write(rawHeader(OP.EXEC, 100));
    attacker.socket.write(Buffer.from('{"command"'));
    attacker.socket.end();

    const frames = await framesUntilClosed(attacker);
    // The peer said it is done: at most one BAD_FRAME about the cut frame, nothing else.
    expect(frames.length).toBeLessThanOrEqual(1);
    if (frames.length === 1) expect(json(frames[0])).toMatchObject({ success: false, code: 'BAD_FRAME' });
    await waitUntil('the truncated session is gone', () => !agentIds().includes(agent_id));
    await expectServed(good);
    expect(kernel.agents()).toHaveLength(baseline);
  });

  it('5. invalid JSON on EXEC: INVALID_REQUEST, and the same connection serves the next request', async () => {
    await openGood();
    const client = await connect(kernel.socketPath);
    for (const payload of ['{"command": "echo hi"', 'not json at all', '\u00ff\u00fe', '[1,2', '{"command": "echo x",}']) {
      client.send(OP.EXEC, payload);
      const frame = await client.frame();
      expect(frame?.opcode).toBe(OP.EXEC);
      expect(json(frame)).toMatchObject({ success: false, code: 'INVALID_REQUEST' });
      expect(String(json(frame).error)).toMatch(/JSON/);
    }
    // Invalid UTF-8 bytes too.
    client.send(OP.EXEC, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(json(await client.frame())).toMatchObject({ success: false, code: 'INVALID_REQUEST' });

    await expectServed(client);
    await expectServed(good);
    expect(client.closed).toBe(false);
  });

  it('6. wrong field types: INVALID_REQUEST whose error names the field and whose `field` is it', async () => {
    await openGood();
    const client = await connect(kernel.socketPath);
    const cases: [number, object, string][] = [
      [OP.EXEC, { command: 5 }, 'command'],
      [OP.READ, { path: ['x'] }, 'path'],
      [OP.WRITE, { path: join(kernel.dir, 'never-written'), content: {} }, 'content'],
      [OP.EXEC, { command: 'echo no', timeout: 'x' }, 'timeout'],
    ];
    for (const [opcode, payload, field] of cases) {
      client.send(opcode, payload);
      const frame = await client.frame();
      expect(frame?.opcode).toBe(opcode);
      const reply = json(frame);
      expect(reply, JSON.stringify(payload)).toMatchObject({ success: false, code: 'INVALID_REQUEST', field });
      expect(reply.error).toEqual(expect.stringContaining(`"${field}"`));
    }
    await expectServed(client);
    await expectServed(good);
  });

  it('7. unknown opcodes (0x42, 0x17): UNSUPPORTED_OPCODE, and the connection stays open', async () => {
    await openGood();
    const client = await connect(kernel.socketPath);
    for (const opcode of [0x42, 0x17]) {
      client.send(opcode, { anything: true });
      const frame = await client.frame();
      expect(frame?.opcode).toBe(opcode);
      expect(json(frame)).toMatchObject({ success: false, code: 'UNSUPPORTED_OPCODE' });
      expect(String(json(frame).error)).toMatch(/opcode/);
    }
    // A raw (non-JSON) payload on an unknown opcode is the same answer, not INVALID_REQUEST.
    client.send(0x42, Buffer.from([0, 1, 2, 255]));
    expect(json(await client.frame())).toMatchObject({ success: false, code: 'UNSUPPORTED_OPCODE' });
    expect(client.closed).toBe(false);
    await expectServed(client);
    await expectServed(good);
  });

  it('9. 1,000 simultaneous connections each get their HELLO reply, then all are cleaned up', async () => {
    await openGood();
    const count = 1000;
    const clients = await Promise.all(Array.from({ length: count }, () => connect(kernel.socketPath)));
    await waitUntil('the kernel has accepted every connection', () => kernel.agents().length === baseline + count, 15_000);

    for (const [i, client] of clients.entries()) client.send(OP.HELLO, { name: `crowd-${i}` });
    const [replies] = await Promise.all([
      Promise.all(clients.map((c) => c.reply<{ success: boolean; agent_id: number; name: string }>(15_000))),
      expectServed(good),
    ]);
    for (const [i, reply] of replies.entries()) expect(reply).toMatchObject({ success: true, name: `crowd-${i}` });
    expect(new Set(replies.map((r) => r.agent_id)).size).toBe(count);

    for (const client of clients) client.close();
    await waitUntil('every crowd session is gone', () => kernel.agents().length === baseline, 15_000);
    expect(agentIds().some((id) => replies.some((r) => r.agent_id === id))).toBe(false);
    await expectServed(good);
  });

  it('10. a client that half-closes after its requests still gets every reply, in order, then the close', async () => {
    await openGood();
    const client = await connect(kernel.socketPath);
    client.send(OP.NOOP, 'first');
    client.send(OP.EXEC, { command: 'sleep 0.2; echo slow' });
    client.send(OP.NOOP, 'second');
    client.send(OP.EXEC, { command: 'echo fast' });
    client.send(OP.EXEC, 'not json');
    client.send(0x42, {});
    client.send(OP.HELLO, { name: 'half-closed' });
    client.send(OP.NOOP, 'last');
    client.socket.end();

    const [frames] = await Promise.all([framesUntilClosed(client), expectServed(good)]);
    expect(frames.map((f) => f.opcode)).toEqual([OP.NOOP, OP.EXEC, OP.NOOP, OP.EXEC, OP.EXEC, 0x42, OP.HELLO, OP.NOOP]);
    expect(frames[0]?.payload.toString()).toBe('first');
    expect(json(frames[1])).toMatchObject({ success: true, stdout: 'slow\n' });
    expect(frames[2]?.payload.toString()).toBe('second');
    expect(json(frames[3])).toMatchObject({ success: true, stdout: 'fast\n' });
    expect(json(frames[4])).toMatchObject({ success: false, code: 'INVALID_REQUEST' });
    expect(json(frames[5])).toMatchObject({ success: false, code: 'UNSUPPORTED_OPCODE' });
    expect(json(frames[6])).toMatchObject({ success: true, name: 'half-closed' });
    expect(frames[7]?.payload.toString()).toBe('last');
    expect(client.closed).toBe(true);
    await waitUntil('the half-closed session is gone', () => kernel.agents().length === baseline);
  });

  it('12. EPIPE/ECONNRESET: a client that vanishes before its replies neither crashes the kernel nor leaks its session', async () => {
    await openGood();

    // An EXEC in flight when the peer closes its socket (a Unix socket has no RST: the
    // kernel sees EOF, as for a half-close): the session goes and the command is ended.
    const marker = `${40_000 + (Date.now() % 10_000)}e-3`; // 40-50 s, a unique command line
    const execer = await connect(kernel.socketPath);
    const { agent_id: execId } = await execer.call<{ agent_id: number }>(OP.HELLO, {});
    execer.send(OP.EXEC, { command: `sleep ${marker}` });
    await waitUntil('the command runs', () => processesMatching(`sleep\0${marker}`) > 0 || processesMatching(`sleep ${marker}`) > 0);
    execer.close();

    // Large replies written to a peer that is already gone: EPIPE on the kernel's side.
    const flooder = await connect(kernel.socketPath);
    const { agent_id: floodId } = await flooder.call<{ agent_id: number }>(OP.HELLO, {});
    const big = Buffer.alloc(512 * 1024, 0x61);
    for (let i = 0; i < 16; i++) flooder.send(OP.NOOP, big);
    flooder.send(OP.EXEC, { command: 'echo never read' });
    await sleep(20);
    flooder.close();

    await expectServed(good);
    await waitUntil('both sessions are gone', () => !agentIds().includes(execId) && !agentIds().includes(floodId));
    await waitUntil(
      'the EXEC child is ended',
      () => processesMatching(`sleep\0${marker}`) + processesMatching(`sleep ${marker}`) === 0,
      5000,
    );
    await expectServed(good);
    expect(kernel.agents()).toHaveLength(baseline);
  });
});

describe('a connection idle mid-frame', () => {
  let kernel: TestKernel;

  beforeAll(async () => {
    kernel = await startTestKernel({ frameIdleTimeoutMs: 300 });
  });
  afterAll(async () => {
    await kernel?.cleanup();
  });

  it('11. is dropped after frameIdleTimeoutMs with one BAD_FRAME reply', async () => {
    const good = await connect(kernel.socketPath);
    await expectServed(good);
    const baseline = kernel.agents().length;

    const attacker = await connect(kernel.socketPath);
    const { agent_id } = await attacker.call<{ agent_id: number }>(OP.HELLO, {});
    const started = Date.now();
    attacker.socket.write(rawHeader(OP.EXEC, 100));
    attacker.socket.write(Buffer.from('{"comm'));
    // Whole frames between other connections' requests do not count as idle; this one stays mid-frame.
    const [frames] = await Promise.all([framesUntilClosed(attacker, 5000), expectServed(good)]);
    const elapsed = Date.now() - started;

    expectOneBadFrame(frames);
    expect(json(frames[0]).error).toMatch(/idle/);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    await waitUntil('the idle session is gone', () => !kernel.agents().some((a) => a.id === agent_id));

    // A peer that keeps trickling bytes is not idle, but its frame completes and is served.
    const trickler = await connect(kernel.socketPath);
    const frame = encodeFrameBuffer(0, OP.NOOP, 'slowly but surely');
    for (let i = 0; i < frame.length; i += 4) {
      trickler.socket.write(frame.subarray(i, i + 4));
      await sleep(50);
    }
    const echo = await trickler.frame();
    expect(echo?.payload.toString()).toBe('slowly but surely');

    await expectServed(good);
    trickler.close();
    await waitUntil('back to the baseline', () => kernel.agents().length === baseline);
  });
});

// ---------------------------------------------------------------------------------
// Kernel in a child process: tests where the kernel's memory matters
// ---------------------------------------------------------------------------------

describe('bad input on a kernel in a child process (memory measured)', () => {
  let kernel: ChildKernel;
  let good: RawClient;
  let baseline: number;

  beforeAll(async () => {
    kernel = await ChildKernel.start();
  });
  afterAll(async () => {
    await kernel?.stop();
  });

  async function openGood(): Promise<RawClient> {
    good = await connect(kernel.socketPath);
    await expectServed(good);
    baseline = (await kernel.agents()).length;
    return good;
  }

  afterEach(() => {
    expect(kernel.alive).toBe(true);
  });

  it('2. a header announcing 2 MiB: one BAD_FRAME right after the header, then close; nothing is buffered', async () => {
    await openGood();
    const rss = watchRss(kernel);
    try {
      const attacker = await connect(kernel.socketPath);
      attacker.socket.write(rawHeader(OP.EXEC, 2 * MiB));
      const [frames] = await Promise.all([framesUntilClosed(attacker, 3000), expectServed(good)]);
      expectOneBadFrame(frames);
      expect(json(frames[0]).error).toMatch(/limit/);

      // The same with the payload pushed after the header: it is neither read into a buffer nor answered.
      const pusher = await connect(kernel.socketPath);
      const pushed = 256;
      pusher.socket.write(rawHeader(OP.NOOP, pushed * MiB));
      const chunk = Buffer.alloc(MiB, 0x20);
      for (let i = 0; i < pushed && !pusher.socket.destroyed; i++) pusher.socket.write(chunk);
      expectOneBadFrame(await framesUntilClosed(pusher, 15_000));

      await expectServed(good);
      await waitUntil('both sessions are gone', async () => (await kernel.agents()).length === baseline);
      // Were the pushed bytes kept, this would be over 256 MiB; reading and dropping them leaves only garbage to collect.
      expect(rss.growth()).toBeLessThan(pushed * MiB * 0.4);
    } finally {
      rss.stop();
    }
  });

  it('4. 10,000 chunks of garbage over several connections: at most one BAD_FRAME each, then close; the kernel keeps serving', async () => {
    await openGood();
    const rss = watchRss(kernel);
    try {
      const next = prng(0xa6e17);
      const connections = 10;
      const chunksPerConnection = 1000;
      // What each connection sends before its garbage: nothing, or a valid start.
      const preludes: Buffer[] = [
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.alloc(0),
        encodeFrameBuffer(0, OP.NOOP, 'valid first'), // then garbage
        rawHeader(OP.NOOP, 20_000), // garbage fills the payload, then a garbage header
        rawHeader(OP.EXEC, 30_000), // garbage as an EXEC payload: INVALID_REQUEST, then garbage
        rawHeader(OP.NOOP, MiB), // the garbage never completes this frame: dropped at end()
        rawHeader(0x42, 100), // unknown opcode with garbage payload
        encodeFrameBuffer(0, OP.HELLO, '{}'),
        Buffer.alloc(0),
      ];
      const attackers = await Promise.all(Array.from({ length: connections }, () => connect(kernel.socketPath)));
      const received = attackers.map((a) => framesUntilClosed(a, 20_000));
      for (const [i, attacker] of attackers.entries()) attacker.socket.write(preludes[i] as Buffer);

      let chunks = 0;
      const serving = (async () => {
        // The well-behaved connection is served while the garbage flows.
        for (let i = 0; i < 3; i++) await expectServed(good);
      })();
      for (let round = 0; round < chunksPerConnection; round++) {
        for (const attacker of attackers) {
          const garbage = randomBytes(next, 1 + next(256));
          if (!attacker.socket.destroyed && attacker.socket.writable) attacker.socket.write(garbage);
          chunks++;
        }
        if (round % 50 === 49) await new Promise((r) => setImmediate(r));
      }
      expect(chunks).toBe(connections * chunksPerConnection);
      for (const attacker of attackers) attacker.socket.end();
      await serving;

      const results = await Promise.all(received);
      for (const [i, frames] of results.entries()) {
        const badFrames = frames.filter((f) => f.opcode === BAD_FRAME_OPCODE);
        expect(badFrames.length, `connection ${i}`).toBeLessThanOrEqual(1);
        if (badFrames.length === 1) {
          expect(frames.at(-1)?.opcode, `connection ${i}: BAD_FRAME is the last frame`).toBe(BAD_FRAME_OPCODE);
          expect(json(badFrames[0])).toMatchObject({ success: false, code: 'BAD_FRAME' });
        }
        expect(attackers[i]?.closed, `connection ${i} is closed`).toBe(true);
      }
      // Pure garbage: the first 17 bytes are a bad header.
      for (const i of [0, 1, 2, 9]) expectOneBadFrame(results[i] as Frame[]);
      // Valid starts are answered first.
      expect(results[3]?.[0]?.payload.toString()).toBe('valid first');
      expect(results[4]?.[0]?.opcode).toBe(OP.NOOP);
      expect(results[4]?.[0]?.payload.length).toBe(20_000);
      expect(json(results[5]?.[0])).toMatchObject({ success: false, code: 'INVALID_REQUEST' });
      expect(results[6]).toEqual([]); // never a whole frame: dropped without a reply
      expect(json(results[7]?.[0])).toMatchObject({ success: false, code: 'UNSUPPORTED_OPCODE' });
      expect(json(results[8]?.[0])).toMatchObject({ success: true });

      await expectServed(good);
      await waitUntil('every attacker session is gone', async () => (await kernel.agents()).length === baseline);
      expect(rss.growth()).toBeLessThan(60 * MiB);
    } finally {
      rss.stop();
    }
  });

  /**
   * A client that writes NOOPs as fast as the socket takes them and never reads.
   * Resolves `stalled` once its writes have not moved for `quietMs`.
   */
  function floodWithoutReading(socket: Socket, total: number, payloadBytes: number) {
    let sent = 0;
    let stop = false;
    const closed = once(socket, 'close').then(() => 'close' as const);
    const done = (async () => {
      const payload = Buffer.alloc(payloadBytes, 0x78);
      for (; sent < total && !stop; ) {
        payload.writeUInt32LE(sent, 0);
        const ok = socket.write(encodeFrameBuffer(0, OP.NOOP, payload));
        sent++;
        if (!ok) {
          let onDrain: (() => void) | undefined;
          const drained = new Promise<'drain'>((r) => {
            onDrain = () => r('drain');
            socket.once('drain', onDrain);
          });
          const event = await Promise.race([drained, closed]);
          socket.off('drain', onDrain as () => void);
          if (event === 'close') return;
        }
      }
    })();
    return {
      get sent() {
        return sent;
      },
      done,
      stop() {
        stop = true;
      },
    };
  }

  async function waitForStall(flood: { sent: number }, quietMs: number): Promise<void> {
    let last = -1;
    let since = Date.now();
    await waitUntil(
      'the flood stalls',
      () => {
        if (flood.sent !== last) {
          last = flood.sent;
          since = Date.now();
        }
        return Date.now() - since >= quietMs;
      },
      20_000,
    );
  }

  it('8. 100,000 NOOPs from a client that never reads: the kernel stops reading it, stays bounded, serves others, and replies in order once it reads', async () => {
    await openGood();
    const total = 100_000;
    const payloadBytes = 1024;
    const rss = watchRss(kernel);
    try {
      const attacker = track(createConnection(kernel.socketPath));
      attacker.on('error', () => {});
      await once(attacker, 'connect');
      attacker.pause(); // never reads
      const flood = floodWithoutReading(attacker, total, payloadBytes);

      await waitForStall(flood, 500);
      const stalledAt = flood.sent;
      // Backpressure: far from everything got in.
      expect(stalledAt).toBeLessThan(total / 4);
      await expectServed(good);
      await sleep(300);
      await expectServed(good);
      expect(flood.sent, 'the kernel does not read more while the client does not read').toBe(stalledAt);
      expect(rss.growth()).toBeLessThan(100 * MiB);

      // The client starts reading: every reply, in request order.
      const decoder = new FrameDecoder(16 * MiB);
      let expected = 0;
      let outOfOrder = 0;
      const allRead = new Promise<void>((resolveRead, rejectRead) => {
        attacker.on('close', () => rejectRead(new Error(`closed after ${expected} replies`)));
        attacker.on('data', (chunk: Buffer) => {
          decoder.push(chunk);
          for (let frame = decoder.next(); frame; frame = decoder.next()) {
            if (frame.opcode !== OP.NOOP || frame.payload.length !== payloadBytes || frame.payload.readUInt32LE(0) !== expected)
              outOfOrder++;
            expected++;
          }
          if (expected === total) resolveRead();
        });
      });
      attacker.resume();
      await Promise.all([allRead, flood.done, expectServed(good)]);
      expect(outOfOrder).toBe(0);
      expect(expected).toBe(total);
      expect(rss.growth()).toBeLessThan(100 * MiB);

      attacker.end();
      await once(attacker, 'close');
      await waitUntil('the flooder session is gone', async () => (await kernel.agents()).length === baseline);
      await expectServed(good);
    } finally {
      rss.stop();
    }
  });

  it('8b. a blocked flooder that is destroyed is cleaned up, and its buffered replies are let go', async () => {
    await openGood();
    const rss = watchRss(kernel);
    try {
      const attacker = track(createConnection(kernel.socketPath));
      attacker.on('error', () => {});
      await once(attacker, 'connect');
      attacker.pause();
      const flood = floodWithoutReading(attacker, 100_000, 1024);
      await waitForStall(flood, 400);
      expect(flood.sent).toBeLessThan(25_000);
      expect((await kernel.agents()).length).toBe(baseline + 1);

      attacker.destroy();
      await flood.done;
      await waitUntil('the flooder session is gone', async () => (await kernel.agents()).length === baseline);
      await expectServed(good);
      expect(rss.growth()).toBeLessThan(100 * MiB);
    } finally {
      rss.stop();
    }
  });
});
