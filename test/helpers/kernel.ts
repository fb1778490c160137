/**
 * Test helpers: a real kernel on a real Unix socket in a fresh temp directory, and a
 * raw AGNT socket client for tests that need to send exact bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Kernel, type KernelOptionsInput, startKernel } from '../../src/kernel/index.js';
import { FrameDecoder } from '../../src/protocol/decoder.js';
import { encodeFrameBuffer, type Frame } from '../../src/protocol/frame.js';

export interface TestKernel extends Kernel {
  dir: string;
  /** Stop the kernel and remove its temp directory. */
  cleanup(): Promise<void>;
}

/** A kernel on `<tmp>/agentos.sock` with HTTP on a free port; logs silent unless AGENTOS_TEST_LOG is set. */
export async function startTestKernel(overrides: KernelOptionsInput = {}): Promise<TestKernel> {
  const dir = await mkdtemp(join(tmpdir(), 'agentos-test-'));
  const log = pino({ level: process.env.AGENTOS_TEST_LOG ?? 'silent' });
  const kernel = await startKernel(
    { socketPath: join(dir, 'agentos.sock'), dataDir: join(dir, 'data'), httpPort: 0, ...overrides },
    { log },
  );
  return Object.assign(kernel, {
    dir,
    async cleanup() {
      await kernel.stop();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/** A raw AGNT client: send exact bytes, read whole frames. */
export class RawClient {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder(1024 * 1024 * 1024);
  readonly #frames: Frame[] = [];
  #waiting: (() => void) | undefined;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let frame = this.#decoder.next(); frame; frame = this.#decoder.next()) this.#frames.push(frame);
      this.#waiting?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#waiting?.();
    });
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(opcode: number, payload: Buffer | string | object = Buffer.alloc(0)): void {
    const body = Buffer.isBuffer(payload) || typeof payload === 'string' ? payload : JSON.stringify(payload);
    this.socket.write(encodeFrameBuffer(0, opcode, body));
  }

  /** The next frame, or undefined if the kernel closed first; rejects after `timeoutMs`. */
  async frame(timeoutMs = 5000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) {
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiting = undefined;
    }
    return this.#frames.shift();
  }

  /** The next reply parsed as JSON. */
  async reply<T = Record<string, unknown>>(timeoutMs = 5000): Promise<T> {
    const frame = await this.frame(timeoutMs);
    if (!frame) throw new Error('the kernel closed the connection before replying');
    return JSON.parse(frame.payload.toString('utf8')) as T;
  }

  /** Send one request and wait for its reply. */
  async call<T = Record<string, unknown>>(opcode: number, payload?: Buffer | string | object): Promise<T> {
    this.send(opcode, payload);
    return this.reply<T>();
  }

  /** Resolves true once the kernel has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
