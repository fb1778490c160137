/**
 * Client-side AGNT helpers for the load generators: request frames built once with the
 * kernel's own encoder, and a reply reader cheap enough not to be what we measure.
 */
import { createConnection, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { AGNT_MAGIC, encodeFrameBuffer, HEADER_LEN } from '../../src/protocol/frame.js';

export const OP_NOOP = 0x00;
export const OP_EXEC = 0x02;
export const OP_HELLO = 0xfe;

export { encodeFrameBuffer, HEADER_LEN };

/** A NOOP frame with `size` payload bytes (the kernel and the floor both echo them). */
export function noopFrame(size: number): Buffer {
  return encodeFrameBuffer(0, OP_NOOP, Buffer.alloc(size, 0x61));
}

export function jsonFrame(opcode: number, value: unknown): Buffer {
  return encodeFrameBuffer(0, opcode, JSON.stringify(value));
}

/**
 * Splits a byte stream into replies. Calls `onReply(opcode, payload)` per frame; the
 * payload is only assembled when `keepPayload` is set (HELLO, EXEC), else it is undefined.
 */
export class ReplyReader {
  readonly #head = Buffer.alloc(HEADER_LEN);
  #headGot = 0;
  /** Payload bytes still owed by the current frame; -1 while reading a header. */
  #remaining = -1;
  #opcode = 0;
  #parts: Buffer[] = [];
  readonly #keepPayload: boolean;
  readonly #onReply: (opcode: number, payload: Buffer | undefined) => void;

  constructor(onReply: (opcode: number, payload: Buffer | undefined) => void, keepPayload = false) {
    this.#onReply = onReply;
    this.#keepPayload = keepPayload;
  }

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#remaining < 0) {
        const take = Math.min(HEADER_LEN - this.#headGot, n - i);
        chunk.copy(this.#head, this.#headGot, i, i + take);
        this.#headGot += take;
        i += take;
        if (this.#headGot < HEADER_LEN) return;
        this.#headGot = 0;
        const magic = this.#head.readUInt32LE(0);
        if (magic !== AGNT_MAGIC) throw new Error(`reply with bad magic 0x${magic.toString(16)}`);
        this.#opcode = this.#head[8] as number;
        this.#remaining = this.#head.readUInt32LE(9) + this.#head.readUInt32LE(13) * 0x1_0000_0000;
      }
      const take = Math.min(this.#remaining, n - i);
      if (this.#keepPayload && take > 0) this.#parts.push(chunk.subarray(i, i + take));
      i += take;
      this.#remaining -= take;
      if (this.#remaining === 0) {
        this.#remaining = -1;
        let payload: Buffer | undefined;
        if (this.#keepPayload) {
          payload = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts);
          this.#parts = [];
        }
        this.#onReply(this.#opcode, payload);
      }
    }
  }
}

export function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** One request and its reply on an otherwise idle socket (setup calls: HELLO, EXEC). */
export function call(socket: Socket, frame: Buffer): Promise<{ opcode: number; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const reader = new ReplyReader((opcode, payload) => {
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({ opcode, payload: payload ?? Buffer.alloc(0) });
    }, true);
    const onData = (chunk: Buffer) => reader.push(chunk);
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(frame);
  });
}

/** Parse "--name value" pairs and bare "--flag"s (bench scripts take no positional arguments). */
export function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i] as string;
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${key}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) {
      out[key.slice(2)] = 'true';
    } else {
      out[key.slice(2)] = value;
      i++;
    }
  }
  return out;
}

export function need(args: Record<string, string>, name: string): string {
  const value = args[name];
  if (value === undefined || value === '') throw new Error(`missing --${name}`);
  return value;
}

/**
 * Marks the start or end of the measured window on stdout, with this process's own CPU
 * time so far (ms): the orchestrator samples the server's CPU then, and a client that
 * exits right after its window cannot make it miss the client's share.
 */
export function phase(name: string): void {
  const usage = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ phase: name, cpu_ms: (usage.user + usage.system) / 1000 })}\n`);
}

let answers: AsyncIterator<string> | undefined;

/**
 * A phase line the orchestrator answers (runClient with `stdin`): prints it, then waits
 * for the answer, one JSON line on stdin. For steps only the orchestrator can take
 * (a side-channel command to the server) between two of the client's windows.
 */
export async function ask<T>(name: string): Promise<T> {
  answers ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  phase(name);
  const line = await answers.next();
  if (line.done) throw new Error(`stdin closed before the answer to "${name}"`);
  const value = JSON.parse(line.value) as T & { error?: string };
  if (value && typeof value === 'object' && typeof value.error === 'string') throw new Error(`${name}: ${value.error}`);
  return value;
}

/** Results go to stdout as one JSON line; the orchestrator reads the last such line. */
export function report(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
