/**
 * The remote agent's side of the relay (docs/relay.md §1-§9, directions agent_to_relay and
 * relay_to_agent): one `ws` link to `<relay>/agent`, authenticated with agent_auth, that
 * carries many calls at once under ids of our own, answers and sends heartbeats, and comes
 * back by itself after a drop (exponential backoff with full jitter, as the kernel's
 * tunnel does) until the relay refuses the token or `close` is called.
 *
 * A drop loses the calls in flight: the relay forgets them, and they may or may not have
 * run, so they are rejected with UNAVAILABLE and never resent. Calls made while the link is
 * down wait in a bounded queue for the next link, or fail after `connectTimeoutMs`; while
 * the relay says the machine is offline they fail at once with MACHINE_OFFLINE, so an
 * agent learns where the fault is instead of waiting.
 */
import WebSocket from 'ws';
import { z } from 'zod';
import { retryDelayMs, TunnelBackoff } from '../machines/tunnel.machine.js';
import { opcodeByCode } from '../protocol/opcodes.js';
import { decode, encode } from '../relay/protocol/codec.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../relay/protocol/limits.js';
import { type AgentAuthOk, AgentName, MachineId, type RelayErrorCode, type RelayToAgent, Token } from '../relay/protocol/schemas.js';
import { AgentOSError } from './errors.js';
import type { ClientTransport } from './transport.js';

/**
 * Reconnect timing for an agent: a first retry sooner than the kernel tunnel's (250 ms),
 * since an agent usually has work waiting, and the same 2 s cap, so it is back within
 * about 2 s of its relay (and of its kernel's link).
 */
export const DEFAULT_AGENT_BACKOFF: Readonly<TunnelBackoff> = Object.freeze({ initial_ms: 200, max_ms: 1500, factor: 2 });

/** The relay's answers that end the link for good: retrying with the same token cannot help. */
export const REFUSAL_CODES: ReadonlySet<RelayErrorCode> = new Set(['AUTH_FAILED', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'FORBIDDEN']);

export const RelayTransportOptions = z.strictObject({
  /** The relay: `ws://host:port` or `wss://…` (`http(s)://` is read as `ws(s)://`); `/agent` is appended. */
  relayUrl: z.string({ error: 'expected relayUrl as a string' }).min(1, 'expected relayUrl (the relay URL)'),
  token: Token,
  machineId: MachineId,
  name: AgentName.optional(),
  /** Allow sending the token over plain ws to a host that is not loopback. */
  insecure: z.boolean().default(false),
  /** PEM certificates trusted for a wss:// relay besides the system's (a relay with a self-signed certificate). */
  ca: z.string().min(1, 'expected ca as PEM text').optional(),
  backoff: TunnelBackoff.default(DEFAULT_AGENT_BACKOFF),
  /** Bounds each connection attempt (open and auth), and how long a call waits for a link. */
  connectTimeoutMs: z.number().int().min(1, 'expected connectTimeoutMs >= 1').default(10_000),
  /** Calls waiting for a link beyond this are rejected at once. */
  maxQueuedCalls: z.number().int().min(0).default(1000),
  /** Calls awaiting a reply beyond this are rejected at once (the relay caps them lower anyway). */
  maxInFlightCalls: z.number().int().min(1).default(10_000),
});
export type RelayTransportOptions = z.infer<typeof RelayTransportOptions>;
export type RelayTransportInput = z.input<typeof RelayTransportOptions>;

export type RelayLinkState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What auth_ok told us about this agent's current session. */
export type RelaySessionInfo = Pick<z.infer<typeof AgentAuthOk>, 'session' | 'ceiling' | 'machine_id'>;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface QueuedCall extends Waiter {
  op: string | number;
  payload: unknown;
  timer: NodeJS.Timeout;
}

/** One connection attempt's socket and what it learned. */
interface Link {
  ws: WebSocket;
  authenticated: boolean;
  maxBytes: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  lastReceived: number;
  lastSent: number;
  heartbeat: NodeJS.Timeout | undefined;
  handshake: NodeJS.Timeout | undefined;
  /** The relay's last link-level error or auth_error: why it is about to close. */
  lastError: AgentOSError | undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname.endsWith('.localhost');
}

/** `<relay>/agent` as a ws(s) URL; refuses plain ws to a remote host without `insecure` (§1). */
export function agentEndpoint(relayUrl: string, insecure: boolean): string {
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch {
    throw new AgentOSError(
      'INVALID_REQUEST',
      `relayUrl ${JSON.stringify(relayUrl)} is not a URL (expected ws://host:port or wss://host:port)`,
    );
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new AgentOSError('INVALID_REQUEST', `relayUrl must be ws:// or wss://, got ${url.protocol}//`);
  }
  if (url.protocol === 'ws:' && !insecure && !isLoopback(url.hostname)) {
    throw new AgentOSError(
      'PERMISSION_DENIED',
      `refusing to send the agent token over plain ws:// to ${url.host}: use wss://, or pass insecure: true if the network is trusted`,
    );
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/agent`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/**
 * The relay carries every reply as an object with `success`; the kernel sends the few that
 * are not (NOOP's echo, LIST's array) as exactly `{success: true, value}`
 * (src/tunnel/remote-sessions.ts). Unwrapped here, the methods see what a local client sees.
 */
function unwrapResult(result: Record<string, unknown>): unknown {
  const keys = Object.keys(result);
  return keys.length === 2 && result.success === true && 'value' in result ? result.value : result;
}

export class RelayTransport implements ClientTransport {
  readonly address: string;
  readonly #options: RelayTransportOptions;
  #state: RelayLinkState = 'connecting';
  #link: Link | undefined;
  #session: RelaySessionInfo | undefined;
  readonly #inFlight = new Map<number, Waiter>();
  readonly #queue: QueuedCall[] = [];
  #nextId = 1;
  /** Failed attempts since the last auth_ok; picks the next backoff delay. */
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Set once the transport is closed for good; every later call gets it. */
  #closedError: AgentOSError | undefined;
  /** Why the last attempt failed, when the relay said the machine is offline. */
  #offline: AgentOSError | undefined;
  readonly #stateListeners = new Set<(state: RelayLinkState, error?: AgentOSError) => void>();
  /** Settles the first connection attempt (for `connect`). */
  #firstAttempt: { resolve: () => void; reject: (error: AgentOSError) => void } | undefined;

  private constructor(options: RelayTransportOptions) {
    this.#options = options;
    this.address = agentEndpoint(options.relayUrl, options.insecure);
  }

  /**
   * Connects and authenticates once: resolves at auth_ok, rejects with the relay's code
   * (AUTH_FAILED, FORBIDDEN, MACHINE_OFFLINE, …) or UNAVAILABLE. Later drops reconnect.
   */
  static async connect(input: RelayTransportInput): Promise<RelayTransport> {
    const parsed = RelayTransportOptions.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      throw new AgentOSError('INVALID_REQUEST', `invalid relay options: field "${field}": ${issue?.message}`, { field });
    }
    const transport = new RelayTransport(parsed.data);
    await new Promise<void>((resolve, reject) => {
      transport.#firstAttempt = { resolve, reject };
      transport.#open();
    });
    return transport;
  }

  get state(): RelayLinkState {
    return this.#state;
  }

  /** The current session (a new one after each reconnect); undefined before the first auth_ok. */
  get session(): RelaySessionInfo | undefined {
    return this.#session;
  }

  /** Called on every state change; returns a function that removes the listener. */
  onStateChange(listener: (state: RelayLinkState, error?: AgentOSError) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  request(opcode: number, payload: unknown): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const op = opcodeByCode(opcode)?.name ?? opcode;
    // The relay carries JSON: NOOP's bytes travel as their text, as on the kernel's WebSocket.
    const body = Buffer.isBuffer(payload) ? payload.toString('utf8') : payload;
    if (this.#state === 'connected') return this.#send(op, body);
    if (this.#offline) return Promise.reject(this.#offline);
    if (this.#queue.length >= this.#options.maxQueuedCalls) {
      return Promise.reject(
        new AgentOSError('UNAVAILABLE', `the relay link is down and ${this.#options.maxQueuedCalls} calls already wait for it`),
      );
    }
    return new Promise((resolve, reject) => {
      const call: QueuedCall = {
        op,
        payload: body,
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.#queue.indexOf(call);
          if (at >= 0) this.#queue.splice(at, 1);
          reject(new AgentOSError('UNAVAILABLE', `no link to the relay at ${this.address} within ${this.#options.connectTimeoutMs} ms`));
        }, this.#options.connectTimeoutMs),
      };
      this.#queue.push(call);
    });
  }

  /** Closes for good: calls in flight and queued are rejected with UNAVAILABLE. */
  close(): Promise<void> {
    const link = this.#link;
    this.#finish(new AgentOSError('UNAVAILABLE', `the relay client for ${this.address} was closed`));
    if (!link || link.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      link.ws.once('close', () => resolve());
      if (link.ws.readyState === WebSocket.CONNECTING) link.ws.terminate();
      else link.ws.close(1000);
      setTimeout(() => link.ws.terminate(), 1000).unref();
    });
  }

  // Calls

  #send(op: string | number, payload: unknown): Promise<unknown> {
    const link = this.#link;
    if (!link?.authenticated) return Promise.reject(new AgentOSError('UNAVAILABLE', 'the relay link is down'));
    if (this.#inFlight.size >= this.#options.maxInFlightCalls) {
      return Promise.reject(new AgentOSError('RATE_LIMITED', `over ${this.#options.maxInFlightCalls} calls in flight on this client`));
    }
    const id = this.#nextId++;
    const frame = encode({ type: 'call', id, op, ...(payload === undefined ? {} : { payload }) });
    if (Buffer.byteLength(frame) > link.maxBytes) {
      return Promise.reject(
        new AgentOSError('INVALID_REQUEST', `the call is over the relay's limit of ${link.maxBytes} bytes per message`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#inFlight.set(id, { resolve, reject });
      this.#write(link, frame);
    });
  }

  #write(link: Link, frame: string): void {
    link.lastSent = Date.now();
    link.ws.send(frame);
  }

  #flushQueue(): void {
    for (const call of this.#queue.splice(0)) {
      clearTimeout(call.timer);
      this.#send(call.op, call.payload).then(call.resolve, call.reject);
    }
  }

  #rejectQueue(error: AgentOSError): void {
    for (const call of this.#queue.splice(0)) {
      clearTimeout(call.timer);
      call.reject(error);
    }
  }

  #rejectInFlight(error: AgentOSError): void {
    for (const waiter of this.#inFlight.values()) waiter.reject(error);
    this.#inFlight.clear();
  }

  // The link

  #open(): void {
    this.#retryTimer = undefined;
    const ws = new WebSocket(this.address, {
      perMessageDeflate: false,
      // The relay's own limit arrives with auth_ok; until then its default bounds a frame.
      maxPayload: DEFAULT_MAX_MESSAGE_BYTES,
      handshakeTimeout: this.#options.connectTimeoutMs,
      ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca }),
    });
    const link: Link = {
      ws,
      authenticated: false,
      maxBytes: DEFAULT_MAX_MESSAGE_BYTES,
      heartbeatIntervalMs: 0,
      heartbeatTimeoutMs: 0,
      lastReceived: Date.now(),
      lastSent: Date.now(),
      heartbeat: undefined,
      handshake: undefined,
      lastError: undefined,
    };
    this.#link = link;
    link.handshake = setTimeout(() => {
      link.lastError ??= new AgentOSError(
        'UNAVAILABLE',
        `the relay at ${this.address} did not authenticate us within ${this.#options.connectTimeoutMs} ms`,
      );
      ws.terminate();
    }, this.#options.connectTimeoutMs);
    ws.on('open', () => {
      const { token, machineId, name } = this.#options;
      this.#write(link, encode({ type: 'agent_auth', token, machine_id: machineId, ...(name === undefined ? {} : { name }) }));
    });
    ws.on('message', (data) => this.#onFrame(link, data));
    ws.on('error', (error: NodeJS.ErrnoException) => {
      // Both: the code for a script (ECONNREFUSED), the text for a person (a TLS failure's code says little alone).
      const cause =
        error.code && error.message && !error.message.includes(error.code)
          ? `${error.code}: ${error.message}`
          : error.message || error.code;
      link.lastError ??= new AgentOSError('UNAVAILABLE', `cannot reach the relay at ${this.address}: ${cause}`);
    });
    ws.on('close', (code, reason) => this.#onClose(link, code, reason.toString()));
  }

  #onFrame(link: Link, data: WebSocket.RawData): void {
    if (this.#link !== link) return;
    link.lastReceived = Date.now();
    const out = decode(data, { direction: 'relay_to_agent', maxBytes: link.maxBytes });
    if (!out.ok) {
      // A relay that speaks garbage cannot be trusted to answer the calls it holds: start over.
      link.lastError = new AgentOSError('UNAVAILABLE', `the relay sent a message we cannot read (${out.code}): ${out.error}`);
      link.ws.terminate();
      return;
    }
    this.#onMessage(link, out.message);
  }

  #onMessage(link: Link, message: RelayToAgent): void {
    switch (message.type) {
      case 'auth_ok': {
        if (link.authenticated || !('session' in message)) return;
        clearTimeout(link.handshake);
        link.authenticated = true;
        link.maxBytes = message.max_message_bytes;
        link.heartbeatIntervalMs = message.heartbeat_interval_ms;
        link.heartbeatTimeoutMs = message.heartbeat_timeout_ms;
        this.#session = { session: message.session, ceiling: message.ceiling, machine_id: message.machine_id };
        this.#attempt = 0;
        this.#offline = undefined;
        this.#startHeartbeat(link);
        this.#setState('connected');
        this.#firstAttempt?.resolve();
        this.#firstAttempt = undefined;
        this.#flushQueue();
        return;
      }
      case 'auth_error':
        link.lastError = new AgentOSError(message.code, `the relay refused us: ${message.error}`);
        return;
      case 'reply': {
        const id = typeof message.id === 'number' ? message.id : Number.NaN;
        const waiter = this.#inFlight.get(id);
        if (waiter === undefined) return;
        this.#inFlight.delete(id);
        waiter.resolve(unwrapResult(message.result));
        return;
      }
      case 'error': {
        const error = new AgentOSError(message.code, message.error, message.field === undefined ? undefined : { field: message.field });
        if (message.id === undefined) {
          // About the link: it is about to close, and this is why.
          link.lastError = error;
          return;
        }
        const id = typeof message.id === 'number' ? message.id : Number.NaN;
        const waiter = this.#inFlight.get(id);
        if (waiter === undefined) return;
        this.#inFlight.delete(id);
        waiter.reject(error);
        return;
      }
      case 'ping':
        this.#write(link, encode({ type: 'pong', ts: message.ts }));
        return;
      case 'pong':
        return;
    }
  }

  #startHeartbeat(link: Link): void {
    // Checked a few times per interval so a ping goes out close to the interval's end.
    const every = Math.max(10, Math.floor(Math.min(link.heartbeatIntervalMs, link.heartbeatTimeoutMs) / 4));
    link.heartbeat = setInterval(() => {
      const now = Date.now();
      if (now - link.lastReceived >= link.heartbeatTimeoutMs) {
        link.lastError = new AgentOSError('UNAVAILABLE', `the relay was silent for ${link.heartbeatTimeoutMs} ms (HEARTBEAT_TIMEOUT)`);
        link.ws.terminate();
        return;
      }
      if (now - link.lastSent >= link.heartbeatIntervalMs && link.ws.readyState === WebSocket.OPEN) {
        this.#write(link, encode({ type: 'ping', ts: now }));
      }
    }, every);
    link.heartbeat.unref();
  }

  #onClose(link: Link, code: number, reason: string): void {
    clearTimeout(link.handshake);
    clearInterval(link.heartbeat);
    if (this.#link !== link) return;
    this.#link = undefined;
    if (this.#closedError) return;
    const error = link.lastError ?? new AgentOSError('UNAVAILABLE', `the relay closed the link (${code}${reason ? `: ${reason}` : ''})`);
    this.#rejectInFlight(
      link.authenticated
        ? new AgentOSError('UNAVAILABLE', `the relay link dropped with the call in flight (it may or may not have run): ${error.message}`)
        : error,
    );
    if (REFUSAL_CODES.has(error.code as RelayErrorCode)) {
      this.#finish(error);
      return;
    }
    if (this.#firstAttempt) {
      // The first attempt answers `connect`; retrying is for links that once worked.
      this.#finish(error);
      return;
    }
    this.#offline = error.code === 'MACHINE_OFFLINE' ? error : undefined;
    if (this.#offline) this.#rejectQueue(this.#offline);
    const delay = retryDelayMs(this.#attempt, this.#options.backoff, Math.random);
    this.#attempt += 1;
    this.#setState('reconnecting', error);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  /** Closed for good with `error`: everything waiting gets it, and so does every later call. */
  #finish(error: AgentOSError): void {
    if (this.#closedError) return;
    this.#closedError = error;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const link = this.#link;
    if (link) {
      clearTimeout(link.handshake);
      clearInterval(link.heartbeat);
    }
    this.#rejectInFlight(error);
    this.#rejectQueue(error);
    this.#firstAttempt?.reject(error);
    this.#firstAttempt = undefined;
    this.#setState('closed', error);
  }

  #setState(state: RelayLinkState, error?: AgentOSError): void {
    if (this.#state === state && state !== 'reconnecting') return;
    this.#state = state;
    for (const listener of this.#stateListeners) {
      try {
        listener(state, error);
      } catch {
        // A listener's bug must not break the link.
      }
    }
  }
}
