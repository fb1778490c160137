/**
 * A JSON request/reply connection for the task benchmarks: the kernel answers each
 * connection's requests in order, so a FIFO of resolvers matches replies to requests and
 * many calls may be in flight (pipelined) without ids. Frames are built with the kernel's
 * own encoder; replies are parsed only because these benchmarks read them (RECV's
 * messages, TASK_STATUS's view).
 */
import type { Socket } from 'node:net';
import { connect, encodeFrameBuffer, ReplyReader } from './lib/agnt.js';

export interface Reply {
  success?: boolean;
  code?: string;
  error?: string;
  [field: string]: unknown;
}

export class JsonConn {
  readonly socket: Socket;
  /** One per request in flight, in the order they were written. */
  readonly #pending: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void; what: number }> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    const reader = new ReplyReader((opcode, payload) => {
      const waiter = this.#pending.shift();
      if (!waiter) throw new Error(`a reply (opcode 0x${opcode.toString(16)}) nobody asked for`);
      const reply = (payload && payload.length > 0 ? JSON.parse(payload.toString('utf8')) : {}) as Reply;
      if (reply.success === false) {
        waiter.reject(new Error(`opcode 0x${waiter.what.toString(16)}: ${reply.code}: ${reply.error}`));
      } else {
        waiter.resolve(reply);
      }
    }, true);
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => {
      for (const waiter of this.#pending.splice(0)) waiter.reject(new Error('connection closed'));
    });
  }

  static async open(socketPath: string): Promise<JsonConn> {
    return new JsonConn(await connect(socketPath));
  }

  /** One request; with `corked` the caller batches several writes into one (socket.cork/uncork). */
  call(opcode: number, body: unknown): Promise<Reply> {
    return this.send(opcode, encodeFrameBuffer(0, opcode, opcode === 0 ? Buffer.alloc(0) : JSON.stringify(body)));
  }

  /** A prebuilt frame (NOOP in the floors). */
  send(opcode: number, frame: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject, what: opcode });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
