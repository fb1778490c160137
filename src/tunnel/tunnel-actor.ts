/**
 * The kernel's outbound tunnel: the pure machine of src/machines/tunnel.machine.ts with
 * its effects provided (a RelayLink per attempt), parented to the root supervisor so
 * inspection sees it. It turns the link's reports into machine events, every state
 * change into a TUNNEL_STATE event, and the relay's messages into remote sessions and
 * fleet commands. The machine token lives here only, and never reaches a log.
 */
import { type Actor, type AnyActorRef, createActor } from 'xstate';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import {
  createTunnelMachine,
  type TunnelContext,
  type TunnelInputArg,
  type TunnelMachine,
  type TunnelState,
  type TunnelStatus,
  tunnelStateOf,
  tunnelStatusOf,
} from '../machines/tunnel.machine.js';
import { KernelError } from '../protocol/errors.js';
import type { KernelToRelay } from '../relay/protocol/schemas.js';
import type { Deployments } from './deployments.js';
import { RelayLink as Link, type RelayLink, type RelayMessage } from './relay-link.js';
import { insecureRefusal, kernelEndpoint } from './relay-url.js';
import type { RemoteSessions } from './remote-sessions.js';

/** The relay's refusals of our credentials: retrying would not change its mind. */
const REFUSALS = new Set(['AUTH_FAILED', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'FORBIDDEN']);
/** Link-level errors that stop the tunnel: the token went bad, or another kernel took the machine id. */
const FINAL_LINK_ERRORS = new Set([...REFUSALS, 'REPLACED']);

export interface TunnelTarget {
  relay_url: string;
  machine_id: string;
  token: string;
  insecure?: boolean;
}

export interface TunnelActorDeps {
  log: Logger;
  events: EventBus;
  kernelVersion: string;
  input: TunnelInputArg;
  /** PEM certificates trusted for a wss:// relay besides the system's (`tunnel.caFile`). */
  ca?: string;
  parent?: AnyActorRef;
  /** Called when a link authenticates (the tunnel's own agent is made then). */
  onConnected(): void;
  sessions(): RemoteSessions;
  deployments(): Deployments;
}

interface Waiter {
  resolve(value: { connected: true; relay_url: string; machine_id: string }): void;
  reject(error: KernelError): void;
}

export class TunnelActor {
  readonly #deps: TunnelActorDeps;
  readonly #log: Logger;
  readonly #actor: Actor<TunnelMachine>;
  #link: RelayLink | undefined;
  #credentials: { token: string; insecure: boolean } | undefined;
  #waiters: Waiter[] = [];
  #state: TunnelState;

  constructor(deps: TunnelActorDeps) {
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'tunnel' });
    const logic = createTunnelMachine({ random: Math.random, now: Date.now }).provide({
      actions: {
        // The context of the transition: getSnapshot() still shows the one before it.
        openSocket: ({ context }) => this.#open(context),
        sendAuth: ({ context }) => this.#sendAuth(context),
        closeSocket: () => this.#closeLink(),
      },
    });
    this.#actor = createActor(logic, { id: 'tunnel', input: deps.input, ...(deps.parent ? { parent: deps.parent } : {}) });
    this.#state = tunnelStateOf(this.#actor.getSnapshot());
    this.#actor.subscribe({
      next: (snapshot) => this.#changed(tunnelStateOf(snapshot)),
      error: (error) => this.#log.error({ err: error }, 'tunnel actor failed'),
    });
    this.#actor.start();
  }

  get actor(): Actor<TunnelMachine> {
    return this.#actor;
  }

  status(): TunnelStatus {
    return tunnelStatusOf(this.#actor.getSnapshot());
  }

  /** The link, while authenticated; what sessions and deployments send through. */
  send(message: KernelToRelay): boolean {
    return this.#state === 'connected' && this.#link !== undefined && this.#link.send(message);
  }

  sendText(text: string): boolean {
    return this.#state === 'connected' && this.#link !== undefined && this.#link.sendText(text);
  }

  get maxMessageBytes(): number {
    return this.#link?.maxMessageBytes ?? 1024 * 1024;
  }

  hold(held: boolean): void {
    this.#link?.hold(held);
  }

  /**
   * Connects (replacing a link to any relay) and settles with the first outcome:
   * connected, or the first failure (PERMISSION_DENIED for a refused token, else
   * UNAVAILABLE while the tunnel keeps retrying).
   */
  connect(target: TunnelTarget): Promise<{ connected: true; relay_url: string; machine_id: string }> {
    const refusal = insecureRefusal(target.relay_url, target.insecure ?? false);
    if (refusal) return Promise.reject(new KernelError('INVALID_REQUEST', refusal, { field: 'relay_url' }));
    const { relay_url: relayUrl, machine_id: machineId } = this.status();
    const same = relayUrl === target.relay_url && machineId === target.machine_id && this.#credentials?.token === target.token;
    // Already there: a repeated connect must not cut the remote agents' link.
    if (this.#state === 'connected' && same) return Promise.resolve({ connected: true, relay_url: relayUrl, machine_id: machineId });
    if (this.#state !== 'disconnected' && this.#state !== 'stopped') this.#actor.send({ type: 'tunnel.disconnect' });
    this.#credentials = { token: target.token, insecure: target.insecure ?? false };
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#actor.send({ type: 'tunnel.connect', relay_url: target.relay_url, machine_id: target.machine_id });
    });
  }

  disconnect(): void {
    this.#actor.send({ type: 'tunnel.disconnect' });
    this.#credentials = undefined;
  }

  /** Shutdown: the link closes (remote agents end); the actor idles in `stopped` (a child of the root stops with it). */
  close(): void {
    this.disconnect();
  }

  #changed(state: TunnelState): void {
    if (state === this.#state) return;
    this.#state = state;
    const status = this.status();
    const error = state === 'backing_off' || state === 'stopped' ? status.last_error : null;
    this.#deps.events.emit('TUNNEL_STATE', {
      state,
      relay_url: status.relay_url,
      machine_id: status.machine_id,
      ...(error && { error }),
    });
    // A relay that stays down is retried every 1.5 s or so: say so at attempts 1, 2, 4, 8, ... only.
    const retrying = state !== 'connected' && state !== 'stopped' && state !== 'disconnected';
    const quiet = retrying && status.attempt > 1 && (status.attempt & (status.attempt - 1)) !== 0;
    const line = { state, relay_url: status.relay_url, machine_id: status.machine_id, attempt: status.attempt, error: error ?? undefined };
    if (quiet) this.#log.debug(line, 'tunnel state');
    else this.#log.info(line, 'tunnel state');
    if (state === 'connected') this.#settle({ connected: true, relay_url: status.relay_url ?? '', machine_id: status.machine_id ?? '' });
    else if (state === 'stopped' || state === 'backing_off') {
      const refused = error !== null && REFUSALS.has(error.code);
      const why = error ? `${error.code}: ${error.error}` : 'the tunnel was disconnected';
      this.#settle(
        refused
          ? new KernelError('PERMISSION_DENIED', `the relay refused the machine token (${why})`, { relay_code: error.code })
          : new KernelError('UNAVAILABLE', `the tunnel could not connect (${why}); it keeps retrying unless disconnected`, {
              ...(error && { relay_code: error.code }),
            }),
      );
    }
  }

  #settle(outcome: { connected: true; relay_url: string; machine_id: string } | KernelError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (outcome instanceof KernelError) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  // ---- effects: each must never throw, or the actor (a child of the root) would fail

  #open(context: TunnelContext): void {
    this.#closeLink();
    const { relay_url: relayUrl } = context;
    let url: string;
    try {
      url = kernelEndpoint(relayUrl ?? '');
    } catch (error) {
      const message = `bad relay_url: ${(error as Error).message}`;
      queueMicrotask(() => this.#actor.send({ type: 'socket.error', error: message }));
      return;
    }
    const link: RelayLink = new Link(
      url,
      context.handshake_timeout_ms,
      {
        open: () => this.#from(link, { type: 'socket.open' }),
        error: (error) => this.#from(link, { type: 'socket.error', error }),
        close: (code, reason) => this.#from(link, { type: 'socket.close', code, reason }),
        heartbeatTimeout: () => this.#from(link, { type: 'heartbeat.timeout' }),
        bad: (code, error) => {
          if (link !== this.#link) return;
          this.#log.warn({ code, error }, 'the relay sent a message the kernel cannot read');
          // Before auth_ok nothing else may come: this relay does not speak the protocol.
          if (this.#state === 'authenticating') this.#actor.send({ type: 'socket.error', error: `bad handshake from the relay: ${error}` });
        },
        message: (message) => {
          if (link === this.#link) this.#onMessage(link, message);
        },
      },
      this.#deps.ca,
    );
    this.#link = link;
  }

  #from(link: RelayLink, event: Parameters<Actor<TunnelMachine>['send']>[0]): void {
    if (link === this.#link) this.#actor.send(event);
  }

  #sendAuth(context: TunnelContext): void {
    const { machine_id: machineId, relay_url: relayUrl } = context;
    const credentials = this.#credentials;
    const refusal = relayUrl && credentials ? insecureRefusal(relayUrl, credentials.insecure) : 'no credentials';
    if (!credentials || !machineId || refusal) {
      queueMicrotask(() => this.#actor.send({ type: 'auth.error', code: 'INSECURE', error: refusal ?? 'no machine id' }));
      return;
    }
    this.#link?.send({ type: 'kernel_auth', machine_id: machineId, token: credentials.token, kernel_version: this.#deps.kernelVersion });
  }

  #closeLink(): void {
    const link = this.#link;
    this.#link = undefined;
    if (!link) return;
    link.close(1000, 'tunnel closed');
    // Every remote agent lives on the link; none outlives it.
    this.#deps.sessions().endAll('link_down');
  }

  #onMessage(link: RelayLink, message: RelayMessage): void {
    switch (message.type) {
      case 'auth_ok':
        if (this.#state !== 'authenticating') return;
        link.authenticated(message);
        this.#actor.send({ type: 'auth.ok' });
        // After the machine is `connected`, so what onConnected sends (the deployments report) goes out.
        this.#deps.onConnected();
        return;
      case 'auth_error':
        if (this.#state !== 'authenticating' && this.#state !== 'connected') return;
        if (REFUSALS.has(message.code)) this.#actor.send({ type: 'auth.error', code: message.code, error: message.error });
        else this.#actor.send({ type: 'socket.error', error: `${message.code}: ${message.error}` });
        return;
      case 'error':
        this.#log.warn({ code: message.code, error: message.error, id: message.id, field: message.field }, 'the relay reported an error');
        if (message.id === undefined && FINAL_LINK_ERRORS.has(message.code)) {
          this.#actor.send({ type: 'auth.error', code: message.code, error: message.error });
        }
        return;
      case 'pong':
      case 'ping':
        return;
      default:
        if (this.#state !== 'connected') {
          this.#log.warn({ type: message.type }, 'the relay sent a message before auth_ok; ignored');
          return;
        }
        this.#dispatch(message);
    }
  }

  #dispatch(message: Exclude<RelayMessage, { type: 'auth_ok' | 'auth_error' | 'error' | 'ping' | 'pong' }>): void {
    switch (message.type) {
      case 'session_open':
        this.#deps.sessions().open(message);
        return;
      case 'session_close':
        this.#deps.sessions().closed(message.session, message.reason);
        return;
      case 'call':
        this.#deps.sessions().call(message);
        return;
      case 'deploy':
        void this.#deps.deployments().deploy(message);
        return;
      case 'stop':
        void this.#deps.deployments().stop(message);
        return;
    }
  }
}
