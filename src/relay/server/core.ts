/**
 * The relay's switchboard (docs/relay.md §2-§8): authenticated kernel links and agent
 * sessions, the routing of calls and replies between them, session and link ends, token
 * revocation and expiry, heartbeats. Sockets reach it through connection.ts; the fleet hub
 * reads it and sends commands through it.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { RelayLimits } from '../protocol/limits.js';
import type {
  AgentAuth,
  AgentCall,
  AgentToRelay,
  KernelAuth,
  KernelToRelay,
  RelayToAgent,
  SessionCloseReason,
} from '../protocol/schemas.js';
import type { TokenStore } from '../tokens/store.js';
import { AgentSession } from './agent-sessions.js';
import { agentRefusal, kernelRefusal, type Refusal } from './auth.js';
import { silentTooLong, sweepPeriodMs } from './heartbeat.js';
import { KernelLink } from './kernel-links.js';
import { CLOSE, type Peer } from './peer.js';
import type { RelayStore } from './relay-store.js';

export interface RelayCoreDeps {
  limits: RelayLimits;
  tokens: TokenStore;
  store: RelayStore;
  log: Logger;
  now: () => number;
}

export interface RelayCounters {
  calls_forwarded: number;
  calls_rate_limited: number;
}

/** A link-level error sent before a close. */
export type Notice = Refusal;

const SHUTTING_DOWN: Notice = { code: 'SHUTTING_DOWN', error: 'the relay is stopping' };

export class RelayCore {
  readonly limits: RelayLimits;
  readonly tokens: TokenStore;
  readonly store: RelayStore;
  readonly log: Logger;
  readonly now: () => number;
  readonly links = new Map<string, KernelLink>();
  readonly sessions = new Map<number, AgentSession>();
  /** Connected, not yet authenticated: told SHUTTING_DOWN at the end. */
  readonly unauthenticated = new Set<Peer>();
  readonly counters: RelayCounters = { calls_forwarded: 0, calls_rate_limited: 0 };
  #nextSession = 1;
  #nextRequest = 1;
  #closing = false;
  readonly #sweep: NodeJS.Timeout;
  readonly #stopRevokeListener: () => void;

  constructor(deps: RelayCoreDeps) {
    this.limits = deps.limits;
    this.tokens = deps.tokens;
    this.store = deps.store;
    this.log = deps.log;
    this.now = deps.now;
    this.#stopRevokeListener = deps.tokens.onRevoke((id) => this.#onRevoke(id));
    this.#sweep = setInterval(() => this.#onSweep(), sweepPeriodMs(deps.limits));
    this.#sweep.unref();
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Fleet request ids: unique for the relay's life, across links. */
  nextRequestId(): number {
    return this.#nextRequest++;
  }

  // -------------------------------------------------------------------------------------
  // Authentication

  /** Verifies a kernel_auth; the new link, or undefined once the peer was refused. */
  authenticateKernel(peer: Peer, message: z.infer<typeof KernelAuth>): KernelLink | undefined {
    const machineId = message.machine_id;
    if (this.#closing) {
      peer.refuse(SHUTTING_DOWN.code, SHUTTING_DOWN.error);
      return undefined;
    }
    const verified = this.tokens.verify(message.token, { kind: 'machine', machine_id: machineId });
    if (!verified.ok) {
      const refusal = kernelRefusal(verified.reason, machineId);
      this.log.warn({ machine_id: machineId, reason: verified.reason }, 'kernel authentication refused');
      peer.refuse(refusal.code, refusal.error);
      return undefined;
    }
    const previous = this.links.get(machineId);
    if (previous !== undefined) {
      this.log.info({ machine_id: machineId }, 'kernel link replaced by a newer one');
      this.dropLink(previous, { code: 'REPLACED', error: `a newer link for machine "${machineId}" took over` });
    }
    const now = this.now();
    const link = new KernelLink({
      machineId,
      peer,
      tokenId: verified.record.id,
      expiresAt: verified.record.expires_at,
      kernelVersion: message.kernel_version,
      since: now,
      maxBufferedBytes: this.limits.max_buffered_bytes,
    });
    this.links.set(machineId, link);
    this.store.machineSeen(machineId, message.kernel_version, now);
    peer.send({ type: 'auth_ok', machine_id: machineId, ...this.#linkTerms() });
    this.log.info({ machine_id: machineId, token_id: link.tokenId, kernel_version: message.kernel_version }, 'kernel linked');
    return link;
  }

  /** Verifies an agent_auth and opens its session on the machine's link; undefined once refused. */
  authenticateAgent(peer: Peer, message: z.infer<typeof AgentAuth>): AgentSession | undefined {
    const machineId = message.machine_id;
    if (this.#closing) {
      peer.refuse(SHUTTING_DOWN.code, SHUTTING_DOWN.error);
      return undefined;
    }
    const verified = this.tokens.verify(message.token, { kind: 'agent', machine_id: machineId });
    if (!verified.ok) {
      const refusal = agentRefusal(verified.reason, machineId);
      this.log.warn({ machine_id: machineId, reason: verified.reason }, 'agent authentication refused');
      peer.refuse(refusal.code, refusal.error);
      return undefined;
    }
    const link = this.links.get(machineId);
    if (link === undefined) {
      peer.refuse('MACHINE_OFFLINE', `machine "${machineId}" is offline`);
      return undefined;
    }
    const { record } = verified;
    if (this.sessionsUsing(record.id) >= this.limits.max_sessions_per_token) {
      this.log.warn({ machine_id: machineId, token_id: record.id }, 'agent authentication refused: too many sessions for its token');
      peer.refuse(
        'RATE_LIMITED',
        `token ${record.id} already holds ${this.limits.max_sessions_per_token} sessions (max_sessions_per_token)`,
      );
      return undefined;
    }
    const session = new AgentSession({
      id: this.#nextSession++,
      peer,
      link,
      tokenId: record.id,
      expiresAt: record.expires_at,
      name: message.name ?? null,
      since: this.now(),
      callsPerSecond: this.limits.agent_calls_per_second,
      burst: this.limits.agent_burst,
    });
    this.sessions.set(session.id, session);
    link.adopt(session);
    // The kernel hears of the session before the agent can send its first call.
    link.send({
      type: 'session_open',
      session: session.id,
      token_id: record.id,
      ceiling: record.ceiling,
      ...(message.name === undefined ? {} : { name: message.name }),
    });
    peer.send({ type: 'auth_ok', machine_id: machineId, session: session.id, ceiling: record.ceiling, ...this.#linkTerms() });
    this.log.debug({ machine_id: machineId, session: session.id, token_id: record.id }, 'agent session opened');
    return session;
  }

  #linkTerms() {
    const { heartbeat_interval_ms, heartbeat_timeout_ms, max_message_bytes } = this.limits;
    return { heartbeat_interval_ms, heartbeat_timeout_ms, max_message_bytes };
  }

  // -------------------------------------------------------------------------------------
  // Messages of authenticated peers

  onAgentMessage(session: AgentSession, message: AgentToRelay): void {
    if (session.closed) return;
    switch (message.type) {
      case 'call':
        this.#call(session, message);
        return;
      case 'ping':
        this.toAgent(session, { type: 'pong', ts: message.ts });
        return;
      case 'pong':
        return;
      case 'agent_auth':
        this.toAgent(session, {
          type: 'error',
          code: 'BAD_MESSAGE',
          error: 'already authenticated: agent_auth only comes first',
          field: 'type',
        });
        return;
    }
  }

  #call(session: AgentSession, call: z.infer<typeof AgentCall>): void {
    const { id } = call;
    if (session.inFlight.has(id)) {
      this.toAgent(session, { type: 'error', code: 'DUPLICATE_ID', error: `call id ${JSON.stringify(id)} is already in flight`, id });
      return;
    }
    // In flight first: a call refused for that does not spend a token of the bucket.
    if (session.inFlight.size >= this.limits.agent_max_in_flight) {
      this.#rateLimited(session, id, `over ${this.limits.agent_max_in_flight} calls in flight`);
      return;
    }
    if (!session.bucket.take(this.now())) {
      this.#rateLimited(session, id, `over ${this.limits.agent_calls_per_second} calls per second`);
      return;
    }
    const { link } = session;
    const linkId = link.register({ session, id });
    session.inFlight.set(id, linkId);
    session.calls++;
    this.counters.calls_forwarded++;
    link.send({
      type: 'call',
      id: linkId,
      session: session.id,
      op: call.op,
      ...(call.payload === undefined ? {} : { payload: call.payload }),
    });
  }

  #rateLimited(session: AgentSession, id: z.infer<typeof AgentCall>['id'], error: string): void {
    this.counters.calls_rate_limited++;
    this.toAgent(session, { type: 'error', code: 'RATE_LIMITED', error, id });
  }

  onKernelMessage(link: KernelLink, message: KernelToRelay): void {
    if (link.dropped) return;
    switch (message.type) {
      case 'reply': {
        const call = this.#takeCall(link, message.id);
        if (call !== undefined) this.toAgent(call.session, { type: 'reply', id: call.id, result: message.result });
        return;
      }
      case 'error': {
        if (message.id === undefined) {
          this.log.warn({ machine_id: link.machineId, code: message.code, error: message.error }, 'kernel reported an error');
          return;
        }
        const call = this.#takeCall(link, message.id);
        if (call !== undefined) this.toAgent(call.session, { type: 'error', code: message.code, error: message.error, id: call.id });
        return;
      }
      case 'session_close': {
        const session = this.sessions.get(message.session);
        if (session === undefined || session.link !== link) {
          this.log.debug({ machine_id: link.machineId, session: message.session }, 'session_close for an unknown session ignored');
          return;
        }
        // The kernel ended it: it is not told back.
        this.closeSession(session, message.reason, null, false);
        return;
      }
      case 'deploy_result':
      case 'stop_result': {
        const command = link.commands.get(message.request_id);
        const kind = message.type === 'deploy_result' ? 'deploy' : 'stop';
        if (command === undefined || command.kind !== kind) {
          this.log.warn(
            { machine_id: link.machineId, request_id: message.request_id, type: message.type },
            'answer to no pending command dropped',
          );
          return;
        }
        link.commands.delete(message.request_id);
        command.answer(message);
        return;
      }
      case 'deployment_ended': {
        const running = this.store.deployments(link.machineId).some((d) => d.name === message.name && d.agent_id === message.agent_id);
        if (running) this.store.recordStop(link.machineId, message.name, this.now());
        return;
      }
      case 'deployments': {
        const stopped = this.store.reconcile(link.machineId, message.agents, this.now());
        if (stopped > 0) this.log.info({ machine_id: link.machineId, stopped }, 'deployments the kernel no longer runs marked stopped');
        return;
      }
      case 'ping':
        link.send({ type: 'pong', ts: message.ts });
        return;
      case 'pong':
        return;
      case 'kernel_auth':
        link.peer.error('BAD_MESSAGE', 'already authenticated: kernel_auth only comes first', 'type');
        return;
    }
  }

  /** The agent's call behind a link id, forgotten on both sides; undefined (logged) when none. */
  #takeCall(link: KernelLink, linkId: number) {
    const call = link.calls.get(linkId);
    if (call === undefined) {
      // Routine after a session closed with calls in flight: its calls were forgotten.
      this.log.debug({ machine_id: link.machineId, id: linkId }, 'answer for an unknown call id dropped');
      return undefined;
    }
    link.calls.delete(linkId);
    call.session.inFlight.delete(call.id);
    return call;
  }

  /**
   * Sends to an agent. An agent that does not read its replies is dropped rather than
   * pausing the kernel link, which would stall every other agent of that machine behind it.
   */
  toAgent(session: AgentSession, message: RelayToAgent): void {
    if (session.closed) return;
    if (session.peer.buffered > this.limits.max_buffered_bytes) {
      this.log.warn({ machine_id: session.link.machineId, session: session.id }, 'agent dropped: it does not read what it is sent');
      // Closed first with its own code; closeSession's close is then a no-op.
      session.peer.close(CLOSE.POLICY, 'send queue over max_buffered_bytes');
      this.closeSession(session, 'agent_closed', null);
      return;
    }
    session.peer.send(message);
  }

  // -------------------------------------------------------------------------------------
  // Ends

  /**
   * Ends a session once: its calls in flight are forgotten, the kernel is told (unless it
   * asked, or its link is gone), and the agent gets `notice` before its close.
   */
  closeSession(session: AgentSession, reason: z.infer<typeof SessionCloseReason>, notice: Notice | null, tellKernel = true): void {
    if (session.closed) return;
    session.closed = true;
    const { link } = session;
    this.sessions.delete(session.id);
    link.sessions.delete(session);
    for (const linkId of session.inFlight.values()) link.calls.delete(linkId);
    session.inFlight.clear();
    if (tellKernel && !link.dropped) link.send({ type: 'session_close', session: session.id, reason });
    if (notice === null) session.peer.close(CLOSE.NORMAL, reason);
    else session.peer.fail(notice.code, notice.error);
    this.log.debug({ machine_id: link.machineId, session: session.id, reason, calls: session.calls }, 'agent session closed');
  }

  /**
   * Ends a kernel link once: each call in flight gets MACHINE_OFFLINE with its id, each
   * session on it ends with MACHINE_OFFLINE (agents reconnect by themselves), pending
   * fleet commands fail, and the kernel gets `notice` before its close.
   */
  dropLink(link: KernelLink, notice: Notice | null): void {
    if (link.dropped) return;
    link.dropped = true;
    const { machineId } = link;
    if (this.links.get(machineId) === link) this.links.delete(machineId);
    this.store.touch(machineId, this.now());
    const offline = `machine "${machineId}" is offline`;
    for (const call of link.calls.values()) {
      call.session.inFlight.delete(call.id);
      this.toAgent(call.session, { type: 'error', code: 'MACHINE_OFFLINE', error: offline, id: call.id });
    }
    link.calls.clear();
    for (const session of [...link.sessions]) this.closeSession(session, 'stopped', { code: 'MACHINE_OFFLINE', error: offline }, false);
    const failure = notice?.code === 'SHUTTING_DOWN' ? notice : { code: 'MACHINE_OFFLINE' as const, error: offline };
    for (const command of link.commands.values()) command.fail(failure.code, failure.error);
    link.commands.clear();
    if (notice === null) link.peer.close(CLOSE.NORMAL, 'closed');
    else link.peer.fail(notice.code, notice.error);
    this.log.info({ machine_id: machineId, code: notice?.code }, 'kernel link closed');
  }

  /** Ends everything: agents told SHUTTING_DOWN (their kernels told first), then the kernels (1001). */
  shutdown(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweep);
    this.#stopRevokeListener();
    for (const peer of this.unauthenticated) peer.fail(SHUTTING_DOWN.code, SHUTTING_DOWN.error);
    this.unauthenticated.clear();
    for (const session of this.sessions.values()) this.closeSession(session, 'relay_shutdown', SHUTTING_DOWN);
    for (const link of this.links.values()) this.dropLink(link, SHUTTING_DOWN);
  }

  /** Live sessions authenticated with a token. */
  sessionsUsing(tokenId: string): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.tokenId === tokenId) count++;
    return count;
  }

  #onRevoke(tokenId: string): void {
    const notice: Notice = { code: 'TOKEN_REVOKED', error: `token ${tokenId} was revoked` };
    for (const session of this.sessions.values()) if (session.tokenId === tokenId) this.closeSession(session, 'token_revoked', notice);
    for (const link of this.links.values()) if (link.tokenId === tokenId) this.dropLink(link, notice);
  }

  // -------------------------------------------------------------------------------------
  // Time: heartbeats (§6) and expiry

  #onSweep(): void {
    const now = this.now();
    for (const link of this.links.values()) {
      if (link.expiresAt !== null && link.expiresAt <= now) {
        this.dropLink(link, { code: 'TOKEN_EXPIRED', error: `the token for machine "${link.machineId}" has expired` });
        continue;
      }
      if (silentTooLong(link.peer, now, this.limits)) {
        this.dropLink(link, { code: 'HEARTBEAT_TIMEOUT', error: `nothing heard for ${this.limits.heartbeat_timeout_ms} ms` });
      }
    }
    for (const session of this.sessions.values()) {
      if (session.expiresAt !== null && session.expiresAt <= now) {
        this.closeSession(session, 'token_expired', { code: 'TOKEN_EXPIRED', error: 'the agent token has expired' });
        continue;
      }
      // An agent not read because its kernel is backed up is not silent by its own doing.
      if (session.link.feedersPaused) {
        session.peer.lastReceived = now;
        continue;
      }
      if (silentTooLong(session.peer, now, this.limits)) {
        this.closeSession(session, 'heartbeat_timeout', {
          code: 'HEARTBEAT_TIMEOUT',
          error: `nothing heard for ${this.limits.heartbeat_timeout_ms} ms`,
        });
      }
    }
  }
}
