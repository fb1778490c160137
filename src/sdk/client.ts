/**
 * AgentOSClient: a typed method per syscall the kernel serves, over the Unix socket, a
 * WebSocket or in-process, with request and reply types inferred from the protocol's zod
 * schemas (`call` reaches any syscall by name or number). Every method rejects with
 * AgentOSError (`code` from protocol.md §4) when the kernel answers a failure; UNAVAILABLE
 * once the connection is gone, PERMISSION_DENIED when the agent lacks the opcode's
 * permission (src/protocol/opcodes.ts).
 *
 * This class holds the connection and the core syscalls (HELLO, NOOP, EXIT); the other
 * methods come from one module per syscall family in methods/, each a function of the
 * client's `call` (the long polls of RECV, POLL_EVENTS and ASYNC_POLL keep their buffers
 * there, through long-poll.ts). Option types are in types.ts.
 */
import { Op, type OpName, resolveOp } from '../protocol/opcodes.js';
import type { ExitReply, ExitRequest, HelloReply, HelloRequest } from '../protocol/schemas/core.js';
import { AgentOSError, failureOf } from './errors.js';
import { InProcessTransport } from './inprocess-transport.js';
import { agentMethods } from './methods/agents.js';
import { asyncMethods } from './methods/async.js';
import { auditMethods } from './methods/audit.js';
import type { Context } from './methods/context.js';
import { eventMethods } from './methods/events.js';
import { fileMethods } from './methods/files.js';
import { llmMethods } from './methods/llm.js';
import { messageMethods } from './methods/messages.js';
import { metricsMethods } from './methods/metrics.js';
import { networkMethods } from './methods/network.js';
import { permissionMethods } from './methods/permissions.js';
import { replayMethods } from './methods/replay.js';
import { stateMethods } from './methods/state.js';
import { taskMethods } from './methods/tasks.js';
import { tunnelMethods } from './methods/tunnel.js';
import { worldMethods } from './methods/worlds.js';
import { SocketTransport } from './socket-transport.js';
import type { ClientTransport } from './transport.js';
import type { ConnectOptions, Reply, Request } from './types.js';

export { DEFAULT_REQUEST_TIMEOUT_MS } from './methods/messages.js';
export type { ConnectOptions, Reply, Request } from './types.js';

/** Every family's methods, for one client. */
const families = (context: Context) => ({
  ...llmMethods(context),
  ...fileMethods(context),
  ...agentMethods(context),
  ...messageMethods(context),
  ...stateMethods(context),
  ...permissionMethods(context),
  ...networkMethods(context),
  ...eventMethods(context),
  ...asyncMethods(context),
  ...metricsMethods(context),
  ...auditMethods(context),
  ...replayMethods(context),
  ...worldMethods(context),
  ...taskMethods(context),
  ...tunnelMethods(context),
});
/** The methods AgentOSClient gets from methods/ (each documented there). */
export type FamilyMethods = ReturnType<typeof families>;

/** The class and this interface merge: the constructor assigns every member of FamilyMethods. */
export interface AgentOSClient extends FamilyMethods {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every member of the interface above.
export class AgentOSClient {
  readonly #transport: ClientTransport;
  /** Aborted by `close` and `exit`: ends the iterators' waits at once. */
  readonly #closing = new AbortController();
  /** Filled in by HELLO. */
  agentId: number | undefined;
  helloReply: Reply<typeof HelloReply> | undefined;

  constructor(transport: ClientTransport) {
    this.#transport = transport;
    const context: Context = {
      call: <R>(opcode: number, payload?: unknown) => this.call(opcode, payload) as Promise<R>,
      closing: this.#closing.signal,
    };
    Object.assign(this, families(context));
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
   * failure reply. The typed methods are built on it.
   */
  async call(op: OpName | string | number, payload?: unknown): Promise<unknown> {
    const info = resolveOp(op);
    if (info === undefined && typeof op !== 'number') throw new AgentOSError('UNSUPPORTED_OPCODE', `unknown op ${JSON.stringify(op)}`);
    const opcode = typeof op === 'number' ? op : (info as NonNullable<typeof info>).code;
    const reply = await this.#transport.request(opcode, payload);
    const failure = failureOf(reply);
    if (failure) throw failure;
    return reply;
  }

  // Core: NOOP, HELLO, EXIT (and close)

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

  /** EXIT: the kernel replies, then closes the connection. */
  async exit(request: Request<typeof ExitRequest> = {}): Promise<Reply<typeof ExitReply>> {
    const reply = (await this.call(Op.EXIT, request)) as Reply<typeof ExitReply>;
    this.#closing.abort();
    await this.#transport.close();
    return reply;
  }

  /** Closes the connection; the iterators (`messages()`, `events()`, `asyncResults()`) end. */
  close(): Promise<void> {
    this.#closing.abort();
    return this.#transport.close();
  }
}
