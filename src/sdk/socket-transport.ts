/**
 * The AGNT client over a Unix socket. Replies come in request order (protocol.md §2),
 * so callers wait in a FIFO queue and requests may be pipelined freely.
 */
import { createConnection, type Socket } from 'node:net';
import { FrameDecoder } from '../protocol/decoder.js';
import { encodeFrame } from '../protocol/frame.js';
import { Op } from '../protocol/opcodes.js';
import { AgentOSError, unreachable } from './errors.js';
import type { ClientTransport } from './transport.js';

interface Waiter {
  opcode: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Replies may be larger than requests (a READ of 16 MiB). */
const MAX_REPLY = 1024 * 1024 * 1024;

export class SocketTransport implements ClientTransport {
  readonly address: string;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder(MAX_REPLY);
  readonly #waiters: Waiter[] = [];
  #closedError: AgentOSError | undefined;
  /** The agent id the kernel put in the last reply's header. */
  agentId = 0;

  private constructor(socket: Socket, path: string) {
    this.#socket = socket;
    this.address = path;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.#fail(new AgentOSError('UNAVAILABLE', `the kernel closed the connection on ${path}`)));
  }

  static connect(path: string): Promise<SocketTransport> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new SocketTransport(socket, path));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => reject(unreachable(path, error)));
    });
  }

  request(opcode: number, payload: unknown): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const body = Buffer.isBuffer(payload)
      ? payload
      : typeof payload === 'string' && opcode === Op.NOOP
        ? Buffer.from(payload)
        : Buffer.from(JSON.stringify(payload ?? {}));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ opcode, resolve, reject });
      for (const piece of encodeFrame(this.agentId, opcode, body)) this.#socket.write(piece);
    });
  }

  #onData(chunk: Buffer): void {
    this.#decoder.push(chunk);
    for (;;) {
      let frame: ReturnType<FrameDecoder['next']>;
      try {
        frame = this.#decoder.next();
      } catch (error) {
        this.#fail(new AgentOSError('BAD_FRAME', `bad reply frame from the kernel: ${(error as Error).message}`));
        this.#socket.destroy();
        return;
      }
      if (frame === undefined) return;
      this.agentId = frame.agentId;
      const waiter = this.#waiters.shift();
      if (waiter === undefined) continue;
      if (frame.opcode === Op.NOOP && waiter.opcode === Op.NOOP) {
        waiter.resolve(frame.payload);
        continue;
      }
      try {
        waiter.resolve(JSON.parse(frame.payload.toString('utf8')));
      } catch {
        waiter.reject(new AgentOSError('INTERNAL', `the kernel sent a reply that is not JSON (opcode 0x${frame.opcode.toString(16)})`));
      }
      // A BAD_FRAME reply (0xFF to a non-EXIT request) ends the connection: fail the rest.
    }
  }

  #fail(error: AgentOSError): void {
    this.#closedError ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve();
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    });
  }
}
