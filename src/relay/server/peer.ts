/**
 * One WebSocket peer of the relay (a kernel link or an agent), whatever its state: sends
 * messages through the codec, and closes with the error that says why. The close codes
 * are chosen in one place.
 */
import { WebSocket } from 'ws';
import { encode } from '../protocol/codec.js';
import type { RelayErrorCode, RelayMessage } from '../protocol/schemas.js';

/** WebSocket close codes (RFC 6455 §7.4.1) the relay uses. */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
} as const;

/** The close code that goes with a link-level error. */
export function closeCodeFor(code: RelayErrorCode): number {
  switch (code) {
    case 'TOO_LARGE':
      return CLOSE.TOO_BIG;
    case 'SHUTTING_DOWN':
      return CLOSE.GOING_AWAY;
    case 'MACHINE_OFFLINE':
    case 'INTERNAL':
      return CLOSE.INTERNAL;
    default:
      return CLOSE.POLICY;
  }
}

export type PeerKind = 'kernel' | 'agent';

export class Peer {
  readonly ws: WebSocket;
  readonly kind: PeerKind;
  /** The relay's clock when the peer last sent anything: any message counts as life (§6). */
  lastReceived: number;
  /** When the relay last pinged it (0: never). */
  lastPinged = 0;

  constructor(ws: WebSocket, kind: PeerKind, now: number) {
    this.ws = ws;
    this.kind = kind;
    this.lastReceived = now;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes queued towards the peer and not yet written to the socket. */
  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  /** `onWritten` runs once the frame has left the queue (or the socket died). */
  send(message: RelayMessage, onWritten?: () => void): void {
    if (!this.open) return;
    if (onWritten === undefined) this.ws.send(encode(message));
    else this.ws.send(encode(message), onWritten);
  }

  /** A link-level error (no id), the link kept. */
  error(code: RelayErrorCode, error: string, field?: string): void {
    this.send({ type: 'error', code, error, ...(field === undefined ? {} : { field }) });
  }

  /** A link-level error, then the close. */
  fail(code: RelayErrorCode, error: string): void {
    this.error(code, error);
    this.close(closeCodeFor(code), code);
  }

  /** auth_error, then the close. */
  refuse(code: RelayErrorCode, error: string): void {
    this.send({ type: 'auth_error', code, error });
    this.close(closeCodeFor(code), code);
  }

  /** Idempotent; the reason is a short code (a close reason holds at most 123 bytes). */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSING || this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(code, reason);
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.resume();
  }
}
