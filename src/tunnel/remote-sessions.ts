/**
 * Remote agents (docs/relay.md §12): each `session_open` from the relay becomes an agent
 * of kind `remote` with an id from the remote range, opened through the same
 * `openConnection` as every transport (so the root supervisor sees it), its calls routed
 * through the one router. It ends on `session_close`, on KILL (the relay is told
 * `kernel_request`), on EXIT, or when the link drops.
 */
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { Session } from '../kernel/session.js';
import { errorReply } from '../protocol/errors.js';
import { hexCode, resolveOp } from '../protocol/opcodes.js';
import { type Level, PRESETS } from '../protocol/schemas/permissions.js';
import type { KernelToRelay, MessageOf, SessionCloseReason } from '../relay/protocol/schemas.js';
import type { ConnectionHooks, TransportContext } from '../transports/connection-port.js';
import { narrowPermissions } from './remote-permissions.js';

type SessionOpen = Extract<MessageOf<'relay_to_kernel'>, { type: 'session_open' }>;
type Call = Extract<MessageOf<'relay_to_kernel'>, { type: 'call' }>;

/** Why a remote agent ended: the relay's reason, or the link going down. */
export type RemoteEndReason = SessionCloseReason | 'link_down' | 'tunnel_closed';

/** Calls in flight over the link before the kernel stops reading it (each agent has its own cap at the relay). */
export const MAX_CALLS_IN_FLIGHT = 4096;

export interface RemoteSessionsDeps {
  registry: AgentRegistry;
  transport: Pick<TransportContext, 'openConnection' | 'router'>;
  events: EventBus;
  log: Logger;
  remoteLevel: Level;
  maxRemoteAgents: number;
  cwd: string;
  /** Sends to the relay over the live link; false when it is down. */
  send(message: KernelToRelay): boolean;
  /** Sends an encoded reply; the caller has checked its size. */
  sendText(text: string): boolean;
  maxMessageBytes(): number;
  /** The number of calls in flight changed: the link holds its reading above the cap. */
  inFlight(count: number): void;
}

interface RemoteSession {
  readonly session: number;
  readonly tokenId: string;
  readonly connectedSince: number;
  readonly agent: AgentRecord;
  readonly kernelSession: Session;
  readonly hooks: ConnectionHooks;
}

export interface RemoteView {
  agent_id: number;
  name: string | null;
  session: number;
  token_id: string;
  connected_since: number;
  syscalls: number;
}

export class RemoteSessions {
  readonly #deps: RemoteSessionsDeps;
  readonly #bySession = new Map<number, RemoteSession>();
  readonly #byAgent = new Map<number, RemoteSession>();
  #inFlight = 0;

  constructor(deps: RemoteSessionsDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#bySession.size;
  }

  list(): RemoteView[] {
    return [...this.#bySession.values()].map((entry) => ({
      agent_id: entry.agent.id,
      name: entry.agent.name,
      session: entry.session,
      token_id: entry.tokenId,
      connected_since: entry.connectedSince,
      syscalls: entry.agent.counters.total,
    }));
  }

  isRemoteSession(agentId: number): boolean {
    return this.#byAgent.has(agentId);
  }

  open(message: SessionOpen): void {
    const { registry, log } = this.#deps;
    if (this.#bySession.has(message.session)) {
      log.warn({ session: message.session }, 'relay opened a session that is already open; ignored');
      return;
    }
    if (this.#bySession.size >= this.#deps.maxRemoteAgents) {
      log.warn(
        { session: message.session, token_id: message.token_id, max_remote_agents: this.#deps.maxRemoteAgents },
        'remote session refused: the kernel holds its maximum of remote agents',
      );
      this.#deps.send({ type: 'session_close', session: message.session, reason: 'kernel_request' });
      return;
    }
    const level = this.#deps.remoteLevel;
    // The name only when free: a remote agent never takes a name from a local one.
    const name = message.name !== undefined && registry.byName(message.name) === undefined ? message.name : null;
    const agent = registry.create({
      kind: 'remote',
      transport: 'relay',
      idSpace: 'remote',
      name,
      level,
      permissions: Object.freeze(narrowPermissions(PRESETS[level], message.ceiling)),
      cwd: this.#deps.cwd,
    });
    const { session: kernelSession, hooks } = this.#deps.transport.openConnection(
      'relay',
      // EXIT: its reply goes out first, then the session ends and the relay closes the agent.
      () => queueMicrotask(() => this.end(agent.id, 'kernel_request', true)),
      agent,
    );
    const entry: RemoteSession = {
      session: message.session,
      tokenId: message.token_id,
      connectedSince: Date.now(),
      agent,
      kernelSession,
      hooks,
    };
    this.#bySession.set(message.session, entry);
    this.#byAgent.set(agent.id, entry);
    this.#deps.events.emit('AGENT_SPAWNED', { agent_id: agent.id, name, kind: 'remote', pid: null, restarts: 0 }, agent.id);
    log.info({ agent_id: agent.id, session: message.session, token_id: message.token_id, name }, 'remote agent connected');
  }

  /** The relay closed a session. */
  closed(session: number, reason: SessionCloseReason): void {
    const entry = this.#bySession.get(session);
    if (entry) this.#end(entry, reason, false);
  }

  /** Ends a remote agent by id; `tellRelay` sends session_close kernel_request. False when it is not one. */
  end(agentId: number, reason: RemoteEndReason, tellRelay: boolean): boolean {
    const entry = this.#byAgent.get(agentId);
    if (!entry) return false;
    this.#end(entry, reason, tellRelay);
    return true;
  }

  /** The link is gone: every remote agent ends with it. */
  endAll(reason: RemoteEndReason): void {
    for (const entry of [...this.#bySession.values()]) this.#end(entry, reason, false);
  }

  call(message: Call): void {
    const entry = this.#bySession.get(message.session);
    if (!entry) {
      this.#reply(message.id, errorReply('NOT_FOUND', `no remote session ${message.session} on this kernel (it has ended)`));
      return;
    }
    const info = resolveOp(message.op);
    if (info === undefined) {
      const shown = typeof message.op === 'number' ? hexCode(message.op) : JSON.stringify(message.op);
      this.#reply(message.id, errorReply('UNSUPPORTED_OPCODE', `unknown op ${shown}; protocol.md §5 lists the opcodes`));
      return;
    }
    const result = this.#deps.transport.router.dispatch(entry.kernelSession, info.code, message.payload);
    if (!isPromise(result)) {
      this.#reply(message.id, result, entry);
      return;
    }
    this.#counted(1);
    result.then(
      (value) => {
        this.#counted(-1);
        this.#reply(message.id, value, entry);
      },
      (error: unknown) => {
        // The router never rejects; should it, the call still gets an answer.
        this.#counted(-1);
        this.#deps.log.error({ err: error, agent_id: entry.agent.id }, 'remote call failed outside the router');
        this.#reply(message.id, errorReply('INTERNAL', 'internal error; the kernel log has the details'), entry);
      },
    );
  }

  #counted(delta: number): void {
    this.#inFlight += delta;
    this.#deps.inFlight(this.#inFlight);
  }

  /** A reply too large for the link is replaced by an error naming the limit, so the call is still answered. */
  #reply(id: number, result: unknown, entry?: RemoteSession): void {
    // The session ended while the call ran: the relay has forgotten the call.
    if (entry && this.#bySession.get(entry.session) !== entry) return;
    const limit = this.#deps.maxMessageBytes();
    let text = JSON.stringify({ type: 'reply', id, result: asCallResult(result) });
    if (text.length > limit / 3 && Buffer.byteLength(text, 'utf8') > limit) {
      const size = Buffer.byteLength(text, 'utf8');
      const error = errorReply(
        'QUOTA_EXCEEDED',
        `the reply (${size} bytes) is over the relay's max_message_bytes of ${limit}; ask for less (READ with offset and length)`,
      );
      text = JSON.stringify({ type: 'reply', id, result: error });
    }
    this.#deps.sendText(text);
  }

  #end(entry: RemoteSession, reason: RemoteEndReason, tellRelay: boolean): void {
    if (this.#bySession.get(entry.session) !== entry) return;
    this.#bySession.delete(entry.session);
    this.#byAgent.delete(entry.agent.id);
    if (tellRelay) this.#deps.send({ type: 'session_close', session: entry.session, reason: 'kernel_request' });
    const { agent } = entry;
    this.#deps.events.emit(
      'AGENT_EXITED',
      {
        agent_id: agent.id,
        name: agent.name,
        kind: 'remote',
        exit_code: null,
        signal: null,
        reason,
        uptime_ms: Date.now() - agent.createdAt,
      },
      agent.id,
    );
    // Like a client's connection closing: the agent, its mailbox and subscriptions go.
    entry.hooks.closed();
    // The session may have become another agent (HELLO with a spawn token): the remote one goes all the same.
    this.#deps.registry.remove(agent.id);
    this.#deps.log.info({ agent_id: agent.id, session: entry.session, reason }, 'remote agent ended');
  }
}

/**
 * The relay carries a reply as an object with `success`. Most replies are; NOOP's echo
 * and LIST's bare array are not, so they travel as `{success: true, value}`.
 */
function asCallResult(result: unknown): Record<string, unknown> {
  if (typeof result === 'object' && result !== null && !Array.isArray(result) && !Buffer.isBuffer(result)) {
    const record = result as Record<string, unknown>;
    if (typeof record.success === 'boolean') return record;
  }
  return { success: true, value: Buffer.isBuffer(result) ? result.toString('utf8') : (result ?? null) };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}
