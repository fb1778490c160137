/**
 * AgentOSClient: one typed method per syscall, with request and reply types inferred
 * from the protocol's zod schemas, over the Unix socket, a WebSocket or in-process.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../protocol/errors.js';
import { Op, type OpName, resolveOp } from '../protocol/opcodes.js';
import type { ExitReply, ExitRequest, HelloReply, HelloRequest } from '../protocol/schemas/core.js';
import type { ReadReply, ReadRequest, WriteReply, WriteRequest } from '../protocol/schemas/files.js';
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

export class AgentOSClient {
  readonly #transport: ClientTransport;
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

  /** EXIT: the kernel replies, then closes the connection. */
  async exit(request: Request<typeof ExitRequest> = {}): Promise<Reply<typeof ExitReply>> {
    const reply = (await this.call(Op.EXIT, request)) as Reply<typeof ExitReply>;
    await this.#transport.close();
    return reply;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
