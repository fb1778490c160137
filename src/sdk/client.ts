/**
 * AgentOSClient: one typed method per syscall, with request and reply types inferred
 * from the protocol's zod schemas, over the Unix socket, a WebSocket or in-process.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../protocol/errors.js';
import { Op, type OpName, resolveOp } from '../protocol/opcodes.js';
import type { ExitReply, ExitRequest, HelloReply, HelloRequest } from '../protocol/schemas/core.js';
import type { ReadReply, ReadRequest, WriteReply, WriteRequest } from '../protocol/schemas/files.js';
import {
  type BroadcastReply,
  MAX_RECV_WAIT_MS,
  type Message,
  type RecvReply,
  type RegisterReply,
  type SendReply,
} from '../protocol/schemas/ipc.js';
import type { ExecReply, ExecRequest } from '../protocol/schemas/process.js';
import type { InProcessConnection } from '../transports/inprocess.js';
import { AgentOSError } from './errors.js';
import { InProcessTransport } from './inprocess-transport.js';
import { SocketTransport } from './socket-transport.js';
import type { ClientTransport } from './transport.js';

export type Request<S extends z.ZodType> = z.input<S>;
export type Reply<S extends z.ZodType> = z.output<S>;

export interface ConnectOptions {
  /** Unix socket path: else `$AGENTOS_SOCKET`, else /tmp/agentos.sock. */
  socketPath?: string;
  /** A kernel's HTTP URL (`http://127.0.0.1:7391`) to use the WebSocket instead. */
  url?: string;
  /** An in-process connection from `kernel.connect()`. */
  connection?: InProcessConnection;
  /** Name sent in HELLO. */
  name?: string;
  /** Token sent in HELLO; defaults to `$AGENTOS_AGENT_TOKEN` when set; null sends none. */
  token?: string | null;
  /** Send HELLO on connect (default true). */
  hello?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface SendOptions {
  /** The id of the message this one answers (see `request`). */
  replyTo?: number;
}

export interface RecvOptions {
  /** At most this many messages (default 10). */
  max?: number;
  /** Wait up to this long for the first message (default 0: return at once). */
  waitMs?: number;
}

/** `request`'s timeout when none is given. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Messages one RECV of the SDK takes at most. */
const MAX_RECV_BATCH = 100;

export class AgentOSClient {
  readonly #transport: ClientTransport;
  /** Messages RECV brought in that nobody has taken yet (another caller's RECV, or request's wait). */
  readonly #inbox: Message[] = [];
  /** Requests waiting for their answer: message id → deliver it. */
  readonly #awaitingReply = new Map<number, (reply: Message) => void>();
  /** The one RECV this client has in flight, shared by every waiting caller. */
  #pump: Promise<void> | undefined;
  #closed = false;
  /** Filled in by HELLO. */
  agentId: number | undefined;
  helloReply: Reply<typeof HelloReply> | undefined;

  constructor(transport: ClientTransport) {
    this.#transport = transport;
  }

  /** Connect and (unless `hello: false`) introduce ourselves with HELLO. */
  static async connect(options: ConnectOptions = {}): Promise<AgentOSClient> {
    const env = options.env ?? process.env;
    const transport: ClientTransport = options.connection
      ? new InProcessTransport(options.connection)
      : options.url
        ? // ws loads only for WebSocket clients (the kernel itself imports this client).
          await (await import('./websocket-transport.js')).WebSocketTransport.connect(options.url)
        : await SocketTransport.connect(options.socketPath ?? (env.AGENTOS_SOCKET || '/tmp/agentos.sock'));
    const client = new AgentOSClient(transport);
    if (options.hello !== false) {
      const token = options.token === null ? undefined : (options.token ?? (env.AGENTOS_AGENT_TOKEN || undefined));
      try {
        await client.hello({ name: options.name, token, client: 'agentos-ts' });
      } catch (error) {
        await transport.close();
        throw error;
      }
    }
    return client;
  }

  get address(): string {
    return this.#transport.address;
  }

  /**
   * Any syscall by name or number; resolves to the reply and throws AgentOSError for a
   * failure reply. The typed methods below are built on it.
   */
  async call(op: OpName | string | number, payload?: unknown): Promise<unknown> {
    const info = resolveOp(op);
    if (info === undefined && typeof op !== 'number') throw new AgentOSError('UNSUPPORTED_OPCODE', `unknown op ${JSON.stringify(op)}`);
    const opcode = typeof op === 'number' ? op : (info as NonNullable<typeof info>).code;
    const reply = await this.#transport.request(opcode, payload);
    if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply) && (reply as { success?: unknown }).success === false) {
      const failure = reply as { code?: ErrorCode; error?: string };
      throw new AgentOSError(
        failure.code ?? 'INTERNAL',
        failure.error ?? 'the kernel reported a failure',
        reply as Record<string, unknown>,
      );
    }
    return reply;
  }

  /** NOOP: the kernel echoes the bytes (the value, over WebSocket). */
  async noop(data: Buffer | string = Buffer.alloc(0)): Promise<Buffer> {
    const reply = await this.call(Op.NOOP, typeof data === 'string' ? Buffer.from(data) : data);
    return Buffer.isBuffer(reply) ? reply : Buffer.from(typeof reply === 'string' ? reply : JSON.stringify(reply));
  }

  async hello(request: Request<typeof HelloRequest> = {}): Promise<Reply<typeof HelloReply>> {
    const reply = (await this.call(Op.HELLO, request)) as Reply<typeof HelloReply>;
    this.agentId = reply.agent_id;
    this.helloReply = reply;
    return reply;
  }

  exec(request: Request<typeof ExecRequest> | string): Promise<Reply<typeof ExecReply>> {
    return this.call(Op.EXEC, typeof request === 'string' ? { command: request } : request) as Promise<Reply<typeof ExecReply>>;
  }

  read(request: Request<typeof ReadRequest> | string): Promise<Reply<typeof ReadReply>> {
    return this.call(Op.READ, typeof request === 'string' ? { path: request } : request) as Promise<Reply<typeof ReadReply>>;
  }

  write(request: Request<typeof WriteRequest>): Promise<Reply<typeof WriteReply>> {
    return this.call(Op.WRITE, request) as Promise<Reply<typeof WriteReply>>;
  }

  /**
   * SEND to an agent id or name; `replyTo` marks the message as the answer to another.
   * Rejects with NOT_FOUND (no such live agent) or QUOTA_EXCEEDED (its mailbox is full).
   */
  send(to: number | string, message: unknown, options: SendOptions = {}): Promise<Reply<typeof SendReply>> {
    const target = typeof to === 'number' ? { to } : { to_name: to };
    const replyTo = options.replyTo === undefined ? {} : { reply_to: options.replyTo };
    return this.call(Op.SEND, { ...target, message, ...replyTo }) as Promise<Reply<typeof SendReply>>;
  }

  /** Answers a received message: a SEND to its sender with `reply_to` = its id. */
  reply(to: Message, message: unknown): Promise<Reply<typeof SendReply>> {
    return this.send(to.from, message, { replyTo: to.id });
  }

  /**
   * RECV: up to `max` messages, waiting up to `waitMs` for the first. Messages an
   * earlier call brought in (while `request` waited for its answer) come first.
   */
  async recv(options: RecvOptions = {}): Promise<Message[]> {
    const max = options.max ?? 10;
    const waitMs = options.waitMs ?? 0;
    if (this.#inbox.length === 0) {
      if (waitMs > 0) await this.#incoming(Date.now() + waitMs, () => this.#inbox.length > 0);
      else this.#take(await this.#recvOnce(max, 0));
    }
    return this.#inbox.splice(0, max);
  }

  /** BROADCAST to every live agent (this one too with `includeSelf`). */
  broadcast(message: unknown, options: { includeSelf?: boolean } = {}): Promise<Reply<typeof BroadcastReply>> {
    return this.call(Op.BROADCAST, { message, include_self: options.includeSelf ?? false }) as Promise<Reply<typeof BroadcastReply>>;
  }

  /** REGISTER a unique name for this agent (CONFLICT when another live agent holds it). */
  register(name: string): Promise<Reply<typeof RegisterReply>> {
    return this.call(Op.REGISTER, { name }) as Promise<Reply<typeof RegisterReply>>;
  }

  /**
   * Request/response over SEND: sends `message`, then waits for the message whose
   * `reply_to` is this one's id (the responder answers with `reply(received, answer)`,
   * or any SEND with `reply_to` = the id it received). Resolves to that reply; other
   * messages arriving meanwhile stay for `recv` and `messages`. TIMEOUT after `timeoutMs`.
   */
  async request(to: number | string, message: unknown, options: { timeoutMs?: number } = {}): Promise<Message> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let reply: Message | undefined;
    const sent = await this.send(to, message);
    const id = sent.message_id;
    // It may have come in already, through a RECV of another caller.
    const early = this.#inbox.findIndex((m) => m.reply_to === id);
    if (early >= 0) return this.#inbox.splice(early, 1)[0] as Message;
    this.#awaitingReply.set(id, (answer) => {
      reply = answer;
    });
    try {
      await this.#incoming(deadline, () => reply !== undefined);
    } finally {
      this.#awaitingReply.delete(id);
    }
    if (reply === undefined) {
      throw new AgentOSError('TIMEOUT', `no reply to message ${id} (sent to ${JSON.stringify(to)}) within ${timeoutMs} ms`);
    }
    return reply;
  }

  /**
   * Every incoming message, as it arrives (RECV long polls of `waitMs`, default 30 s,
   * in a loop). Ends when the client closes or `signal` aborts.
   */
  async *messages(options: { waitMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<Message, void, undefined> {
    const waitMs = Math.min(options.waitMs ?? 30_000, MAX_RECV_WAIT_MS);
    while (!this.#closed && !options.signal?.aborted) {
      const next = this.#inbox.shift();
      if (next) {
        yield next;
        continue;
      }
      try {
        await this.#incoming(Date.now() + waitMs, () => this.#inbox.length > 0 || this.#closed || options.signal?.aborted === true);
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
    }
  }

  /** Waits (RECV through the shared pump) until `done()` or the deadline. */
  async #incoming(deadline: number, done: () => boolean): Promise<void> {
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      if (!this.#pump) {
        const pump = this.#recvOnce(MAX_RECV_BATCH, Math.min(left, MAX_RECV_WAIT_MS)).then((messages) => this.#take(messages));
        this.#pump = pump;
        // Settled, it makes way for the next; a failure nobody waits for any more is not an unhandled rejection.
        const clear = () => {
          if (this.#pump === pump) this.#pump = undefined;
        };
        pump.then(clear, clear);
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.#pump, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async #recvOnce(max: number, waitMs: number): Promise<Message[]> {
    const reply = (await this.call(Op.RECV, { max, wait_ms: waitMs })) as Reply<typeof RecvReply>;
    return reply.messages;
  }

  /** Hands answers to their waiting requests; keeps the rest in the inbox. */
  #take(messages: Message[]): void {
    for (const message of messages) {
      const waiting = message.reply_to === undefined ? undefined : this.#awaitingReply.get(message.reply_to);
      if (waiting) {
        this.#awaitingReply.delete(message.reply_to as number);
        waiting(message);
      } else this.#inbox.push(message);
    }
  }

  /** EXIT: the kernel replies, then closes the connection. */
  async exit(request: Request<typeof ExitRequest> = {}): Promise<Reply<typeof ExitReply>> {
    const reply = (await this.call(Op.EXIT, request)) as Reply<typeof ExitReply>;
    this.#closed = true;
    await this.#transport.close();
    return reply;
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#transport.close();
  }
}
