/**
 * The in-process transport: code-defined agents running in the kernel's own process
 * call the router directly, with no framing, through the same permission checks.
 */

import type { AgentRecord } from '../agents/registry.js';
import { errorReply } from '../protocol/errors.js';
import { resolveOp } from '../protocol/opcodes.js';
import type { TransportContext } from './connection-port.js';

export class InProcessConnection {
  readonly #context: TransportContext;
  readonly #session: ReturnType<TransportContext['openConnection']>['session'];
  readonly #hooks: ReturnType<TransportContext['openConnection']>['hooks'];
  #closed = false;

  /** `agent`: act as this existing agent (a code-defined one) instead of a new client. */
  constructor(context: TransportContext, agent?: AgentRecord) {
    this.#context = context;
    const { session, hooks } = context.openConnection('inprocess', () => this.close(), agent);
    this.#session = session;
    this.#hooks = hooks;
  }

  get agentId(): number {
    return this.#session.agent.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** One syscall by name or number; resolves to the reply (a failure is a reply too). */
  async call(op: string | number, payload?: unknown): Promise<unknown> {
    if (this.#closed) return errorReply('UNAVAILABLE', 'this in-process connection is closed');
    const info = resolveOp(op);
    if (info === undefined) return errorReply('UNSUPPORTED_OPCODE', `unknown op ${JSON.stringify(op)}`);
    return this.#context.router.dispatch(this.#session, info.code, payload);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // EXIT's reply is returned before the session goes, as on the socket.
    queueMicrotask(() => this.#hooks.closed());
  }
}
