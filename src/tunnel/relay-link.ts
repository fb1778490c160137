/**
 * One WebSocket to the relay's /kernel endpoint: frames in through the codec (direction
 * relay_to_kernel, never a throw on garbage), messages out, the heartbeat of §6, and
 * backpressure. The link knows nothing of the machine or sessions: it reports to its
 * owner, which ignores reports from a link it has already dropped.
 */
import WebSocket, { type RawData } from 'ws';
import { decode, encode } from '../relay/protocol/codec.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../relay/protocol/limits.js';
import type { KernelToRelay, MessageOf } from '../relay/protocol/schemas.js';

/** Above this many bytes queued towards the relay, the link stops reading it until they drain. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** The most a frame may be at the WebSocket layer; the codec enforces the relay's own limit below it. */
const WS_MAX_PAYLOAD = 64 * 1024 * 1024;

export type RelayMessage = MessageOf<'relay_to_kernel'>;

export interface LinkTerms {
  heartbeat_interval_ms: number;
  heartbeat_timeout_ms: number;
  max_message_bytes: number;
}

export interface LinkEvents {
  open(): void;
  message(message: RelayMessage): void;
  /** A frame the codec refused; the link answers the relay itself. */
  bad(code: 'TOO_LARGE' | 'BAD_MESSAGE', error: string): void;
  error(error: string): void;
  close(code: number, reason: string): void;
  heartbeatTimeout(): void;
}

export class RelayLink {
  readonly #ws: WebSocket;
  readonly #events: LinkEvents;
  #terms: LinkTerms | undefined;
  #lastHeard = Date.now();
  #lastSent = Date.now();
  #heartbeat: NodeJS.Timeout | undefined;
  #paused = false;
  /** Work owed to the relay (calls in flight); reading stops above the owner's cap. */
  #held = false;
  #closed = false;

  /** `ca`: PEM certificates trusted for a wss:// relay besides the system's (a self-signed relay). */
  constructor(url: string, handshakeTimeoutMs: number, events: LinkEvents, ca?: string) {
    this.#events = events;
    this.#ws = new WebSocket(url, {
      maxPayload: WS_MAX_PAYLOAD,
      perMessageDeflate: false,
      handshakeTimeout: handshakeTimeoutMs,
      ...(ca === undefined ? {} : { ca }),
    });
    this.#ws.on('open', () => {
      this.#lastHeard = Date.now();
      if (!this.#closed) events.open();
    });
    this.#ws.on('message', (data: RawData) => this.#onFrame(data));
    this.#ws.on('error', (error: Error) => {
      if (!this.#closed) events.error(error.message);
    });
    this.#ws.on('close', (code: number, reason: Buffer) => {
      this.#stopHeartbeat();
      if (!this.#closed) events.close(code, reason.toString('utf8'));
      this.#closed = true;
    });
  }

  get open(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** The relay's word in auth_ok: the heartbeat starts and frames are held to its size limit. */
  authenticated(terms: LinkTerms): void {
    this.#terms = terms;
    this.#stopHeartbeat();
    // Checked often enough that a timeout is noticed within a fraction of the interval.
    const tick = Math.max(10, Math.floor(Math.min(terms.heartbeat_interval_ms, terms.heartbeat_timeout_ms) / 4));
    this.#heartbeat = setInterval(() => this.#beat(), tick);
    this.#heartbeat.unref();
  }

  get maxMessageBytes(): number {
    return this.#terms?.max_message_bytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Sends one message; false when the link is down (the message is dropped). */
  send(message: KernelToRelay): boolean {
    return this.sendText(encode(message));
  }

  /** Sends an encoded message (the caller measured it already). */
  sendText(text: string): boolean {
    if (!this.open) return false;
    this.#lastSent = Date.now();
    this.#ws.send(text, () => this.#flow());
    this.#flow();
    return true;
  }

  /** The owner's own reason to stop reading (too many calls in flight), on or off. */
  hold(held: boolean): void {
    this.#held = held;
    this.#flow();
  }

  /** Closes the link for good; idempotent, and silent: the owner asked for it. */
  close(code = 1000, reason = 'closing'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(code, reason);
  }

  #onFrame(data: RawData): void {
    if (this.#closed) return;
    this.#lastHeard = Date.now();
    const out = decode(data, { direction: 'relay_to_kernel', maxBytes: this.maxMessageBytes });
    if (!out.ok) {
      this.send({ type: 'error', code: out.code, error: out.error, ...(out.field ? { field: out.field } : {}) });
      this.#events.bad(out.code, out.error);
      return;
    }
    if (out.message.type === 'ping') {
      this.send({ type: 'pong', ts: out.message.ts });
      return;
    }
    this.#events.message(out.message);
  }

  /** Backpressure: stop reading the relay while what we owe it cannot be sent fast enough. */
  #flow(): void {
    const over = this.#held || this.#ws.bufferedAmount > MAX_BUFFERED_BYTES;
    if (over && !this.#paused && this.open) {
      this.#paused = true;
      this.#ws.pause();
    } else if (!over && this.#paused) {
      this.#paused = false;
      if (this.open) this.#ws.resume();
    }
  }

  #beat(): void {
    const terms = this.#terms;
    if (!terms || this.#closed) return;
    const now = Date.now();
    if (now - this.#lastHeard >= terms.heartbeat_timeout_ms) {
      this.#stopHeartbeat();
      this.#events.heartbeatTimeout();
      return;
    }
    if (now - this.#lastSent >= terms.heartbeat_interval_ms) this.send({ type: 'ping', ts: now });
    // A send callback may not come while paused on our own hold; re-check the queue here too.
    this.#flow();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
