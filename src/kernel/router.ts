/**
 * The one router every transport uses: resolve the opcode, check permission, validate
 * the payload with its schema, count, dispatch, and turn any failure into a reply.
 * Only here does an error become a reply; an unexpected throw becomes INTERNAL plus a
 * log line, never a crash.
 */
import type { z } from 'zod';
import { describeZodError, type ErrorReply, errorReply, KernelError } from '../protocol/errors.js';
import { hexCode, type OpcodeInfo, opcodeByCode } from '../protocol/opcodes.js';
import type { Logger } from './logger.js';
import { denialReason } from './permissions.js';
import type { Session } from './session.js';
import type { KernelServices, SyscallDefinition } from './syscall.js';

interface Route {
  readonly info: OpcodeInfo;
  readonly schema: z.ZodType | undefined;
  readonly handle: SyscallDefinition['handle'];
}

const EMPTY_OBJECT_JSON = Buffer.from('{}');

export class Router {
  /** Indexed by wire number, aliases included: dispatch is one array read. */
  readonly #routes: (Route | undefined)[] = new Array(256).fill(undefined);
  readonly #kernel: KernelServices;
  readonly #log: Logger;
  /** Off only to measure their cost (kernel option permissionChecks). */
  readonly #checks: boolean;
  #incidents = 0;

  constructor(kernel: KernelServices, syscalls: readonly SyscallDefinition[]) {
    this.#kernel = kernel;
    this.#log = kernel.log.child({ component: 'router' });
    this.#checks = kernel.options.permissionChecks;
    if (!this.#checks) this.#log.warn('permission checks are OFF (permissionChecks: false): every agent is unrestricted');
    const seen = new Set<string>();
    for (const syscall of syscalls) {
      if (seen.has(syscall.name)) throw new Error(`router: syscall ${syscall.name} is defined twice`);
      seen.add(syscall.name);
      for (let code = 0; code < 256; code++) {
        const info = opcodeByCode(code);
        if (info?.name !== syscall.name) continue;
        this.#routes[code] = Object.freeze({
          info,
          schema: syscall.request === 'raw' ? undefined : syscall.request,
          handle: syscall.handle,
        });
      }
    }
  }

  /** Names of the routed syscalls, in opcode order. */
  get served(): string[] {
    return [...new Set(this.#routes.filter((r): r is Route => r !== undefined).map((r) => r.info.name))];
  }

  /**
   * A frame from an AGNT connection: the reply's payload bytes, at once when the
   * handler is synchronous (NOOP), else a promise that never rejects.
   */
  dispatchFrame(session: Session, code: number, payload: Buffer): Buffer | Promise<Buffer> {
    const admitted = this.#admit(session, code);
    if (!isRoute(admitted)) return toBytes(admitted);
    let input: unknown = payload;
    if (admitted.schema !== undefined) {
      try {
        input = JSON.parse((payload.length === 0 ? EMPTY_OBJECT_JSON : payload).toString('utf8'));
      } catch (error) {
        session.agent.counters.failed++;
        return toBytes(errorReply('INVALID_REQUEST', `payload is not valid JSON: ${(error as Error).message}`));
      }
    }
    const result = this.#run(session, admitted, input);
    return isPromise(result) ? result.then(toBytes) : toBytes(result);
  }

  /** A parsed request (WebSocket, in-process): the reply value, never a rejection. */
  dispatch(session: Session, code: number, input: unknown): unknown {
    const admitted = this.#admit(session, code);
    return isRoute(admitted) ? this.#run(session, admitted, input) : admitted;
  }

  /** The route for an opcode the agent may call, or the reply refusing it; counts the call either way. */
  #admit(session: Session, code: number): Route | ErrorReply {
    const route = this.#routes[code];
    if (route === undefined) return this.#unsupported(session, code);
    this.#count(session, route.info);
    const reason = this.#checks ? denialReason(session.agent, route.info.permission) : undefined;
    return reason === undefined ? route : this.#deny(session, route.info, reason);
  }

  /** Validate, then call the handler; every failure becomes a reply. */
  #run(session: Session, route: Route, input: unknown): unknown {
    let request = input;
    if (route.schema !== undefined) {
      const parsed = route.schema.safeParse(input ?? {});
      if (!parsed.success) {
        session.agent.counters.failed++;
        const { message, field } = describeZodError(parsed.error, `${route.info.name} request`);
        return errorReply('INVALID_REQUEST', message, { field });
      }
      request = parsed.data;
    }
    if (this.#kernel.quotas.limitsSyscall(session.agent.id, route.info.name)) return this.#charged(session, route, request, input);
    return this.#call(session, route, request, input);
  }

  /** A `syscalls` quota (SET_QUOTA) admits, refuses or holds the call before it runs. */
  #charged(session: Session, route: Route, request: unknown, input: unknown): unknown {
    try {
      const held = this.#kernel.quotas.charge(session.agent, 'syscalls', 1, { signal: session.closed, op: route.info.name });
      if (held === undefined) return this.#call(session, route, request, input);
      return held.then(
        () => this.#call(session, route, request, input),
        (error: unknown) => this.#failure(session, route.info, error),
      );
    } catch (error) {
      return this.#failure(session, route.info, error);
    }
  }

  #call(session: Session, route: Route, request: unknown, input: unknown): unknown {
    if (this.#kernel.recorder.active && this.#kernel.recorder.wants(session.agent, route.info)) {
      return this.#recorded(session, route, input, request);
    }
    return this.#execute(session, route, input, request);
  }

  /** Runs a validated call (in the background with `async: true`); never throws. */
  #execute(session: Session, route: Route, input: unknown, request: unknown): unknown {
    if (route.info.async && (input as { async?: unknown } | null)?.async === true) return this.#startAsync(session, route, request);
    try {
      const result = route.handle(request as never, session, this.#kernel);
      if (isPromise(result)) return result.then(undefined, (error: unknown) => this.#failure(session, route.info, error));
      return result;
    } catch (error) {
      return this.#failure(session, route.info, error);
    }
  }

  /** #execute, with the call and its reply and timing handed to the recorder. */
  #recorded(session: Session, route: Route, input: unknown, request: unknown): unknown {
    const agent = session.agent;
    const startedAt = Date.now();
    const clock = performance.now();
    const capture = (reply: unknown) => {
      this.#kernel.recorder.capture(agent, route.info, request, reply, startedAt, performance.now() - clock);
      return reply;
    };
    const result = this.#execute(session, route, input, request);
    return isPromise(result) ? result.then(capture) : capture(result);
  }

  /**
   * `async: true`: answers the request id now and runs the handler in the background,
   * bound to the agent rather than the connection (it is cancelled when the agent ends).
   * Its reply, failures and denials included, waits for ASYNC_POLL.
   */
  #startAsync(session: Session, route: Route, request: unknown): unknown {
    const agent = session.agent;
    const synchronous = { ...(request as Record<string, unknown>), async: false };
    try {
      const requestId = this.#kernel.asyncResults.start(agent.id, route.info, (signal) => {
        const background: Session = { agent, transport: session.transport, closed: signal, requestClose() {} };
        return Promise.resolve()
          .then(() => route.handle(synchronous as never, background, this.#kernel))
          .then(undefined, (error: unknown) => this.#failure(background, route.info, error));
      });
      return { success: true as const, async: true as const, request_id: requestId, opcode_name: route.info.name };
    } catch (error) {
      return this.#failure(session, route.info, error);
    }
  }

  #count(session: Session, info: OpcodeInfo): void {
    const counters = session.agent.counters;
    counters.total++;
    counters.byOp.set(info.code, (counters.byOp.get(info.code) ?? 0) + 1);
    // A member's calls also count for its world (WORLD_STATE "syscalls"); one map read for everyone else.
    this.#kernel.worlds.worldOf(session.agent.id)?.countSyscall(info.name);
  }

  #unsupported(session: Session, code: number): ErrorReply {
    session.agent.counters.total++;
    session.agent.counters.failed++;
    const info = opcodeByCode(code);
    const message = info
      ? `${info.name} (${hexCode(code)}) is not supported by this kernel yet; HELLO's "features" lists the syscalls it serves`
      : `unknown opcode ${hexCode(code)}; protocol.md §5 lists the opcodes`;
    return errorReply('UNSUPPORTED_OPCODE', message, { opcode: code });
  }

  #deny(session: Session, info: OpcodeInfo, reason: string): ErrorReply {
    this.#blocked(session, info, reason);
    return errorReply('PERMISSION_DENIED', `${info.name} denied: agent ${session.agent.id} at level "${session.agent.level}" ${reason}`);
  }

  /** The audit trail of every denial (protocol.md §6): the audit log (GET_AUDIT_LOG), a log line and SYSCALL_BLOCKED. */
  #blocked(session: Session, info: OpcodeInfo, reason: string, details?: Record<string, unknown>): void {
    const { agent } = session;
    agent.counters.denied++;
    this.#kernel.audit.record({
      category: 'denial',
      agent_id: agent.id,
      agent_name: agent.name,
      op: info.name,
      detail: { ...details, reason, level: agent.level },
    });
    this.#log.warn(
      { audit: 'syscall_blocked', agent_id: agent.id, agent_name: agent.name, op: info.name, level: agent.level, reason },
      'syscall denied',
    );
    this.#kernel.events.emit('SYSCALL_BLOCKED', { agent_id: agent.id, op: info.name, reason }, agent.id);
  }

  #failure(session: Session, info: OpcodeInfo, error: unknown): ErrorReply {
    if (error instanceof KernelError && error.code === 'PERMISSION_DENIED') {
      // A handler's own denial (KILL of a foreign agent, SPAWN beyond the spawner's rights) is audited too.
      this.#blocked(session, info, error.message, error.details);
      return errorReply(error.code, error.message, error.details);
    }
    session.agent.counters.failed++;
    if (error instanceof KernelError) {
      // Every refusal for a limit (a full mailbox, too many keys, a value too large) is an event at its source.
      if (error.code === 'QUOTA_EXCEEDED') {
        this.#kernel.events.emit('QUOTA_EXCEEDED', { agent_id: session.agent.id, op: info.name, reason: error.message }, session.agent.id);
      }
      return errorReply(error.code, error.message, error.details);
    }
    const incident = ++this.#incidents;
    this.#log.error({ err: error, incident, agent_id: session.agent.id, op: info.name }, 'syscall handler failed');
    return errorReply('INTERNAL', `internal error in ${info.name} (incident ${incident}); the kernel log has the details`);
  }
}

function isRoute(value: Route | ErrorReply): value is Route {
  return (value as ErrorReply).success !== false;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}

function toBytes(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
}
