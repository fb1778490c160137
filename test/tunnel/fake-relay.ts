/**
 * A relay played by the test (not a test file): a real `ws` server on loopback with a
 * /kernel endpoint that reads everything the kernel sends with the codec
 * (kernel_to_relay), answers kernel_auth as told, and lets the test send any message
 * (or garbage) and drop the link.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { decode, encode } from '../../src/relay/protocol/codec.js';
import type { MessageOf, RelayErrorCode } from '../../src/relay/protocol/schemas.js';

export type FromKernel = MessageOf<'kernel_to_relay'>;
export type ToKernel = MessageOf<'relay_to_kernel'>;

export interface FakeRelayOptions {
  /** How kernel_auth is answered: ok, or refused with this code. */
  auth?: 'ok' | RelayErrorCode | 'silent';
  heartbeat_interval_ms?: number;
  heartbeat_timeout_ms?: number;
  max_message_bytes?: number;
}

export class FakeRelay {
  readonly #wss: WebSocketServer;
  readonly options: FakeRelayOptions;
  /** Every message the kernel sent, in order, on any link. */
  readonly received: FromKernel[] = [];
  /** Frames the codec refused: the kernel must never send one. */
  readonly invalid: string[] = [];
  links = 0;
  socket: WebSocket | undefined;
  #listeners = new Set<() => void>();

  private constructor(wss: WebSocketServer, options: FakeRelayOptions) {
    this.#wss = wss;
    this.options = options;
    wss.on('connection', (ws, request) => {
      if (request.url !== '/kernel') {
        ws.close(4004, 'not found');
        return;
      }
      this.links++;
      this.socket = ws;
      ws.on('message', (data) => {
        const out = decode(data as Buffer, { direction: 'kernel_to_relay', maxBytes: 64 * 1024 * 1024 });
        if (!out.ok) {
          this.invalid.push(out.error);
          return;
        }
        const message = out.message;
        this.received.push(message);
        if (message.type === 'kernel_auth') this.#auth(ws, message.machine_id);
        for (const listener of this.#listeners) listener();
      });
      ws.on('error', () => {});
    });
  }

  static async start(options: FakeRelayOptions = {}): Promise<FakeRelay> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FakeRelay(wss, options);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}`;
  }

  #auth(ws: WebSocket, machineId: string): void {
    const mode = this.options.auth ?? 'ok';
    if (mode === 'silent') return;
    if (mode === 'ok') {
      ws.send(
        encode({
          type: 'auth_ok',
          machine_id: machineId,
          heartbeat_interval_ms: this.options.heartbeat_interval_ms ?? 15_000,
          heartbeat_timeout_ms: this.options.heartbeat_timeout_ms ?? 45_000,
          max_message_bytes: this.options.max_message_bytes ?? 1024 * 1024,
        }),
      );
      return;
    }
    ws.send(encode({ type: 'auth_error', code: mode, error: `refused: ${mode}` }));
    ws.close(4001, 'auth failed');
  }

  send(message: ToKernel): void {
    this.socket?.send(encode(message));
  }

  sendRaw(data: string | Buffer): void {
    this.socket?.send(data);
  }

  /** Drops the current link the hard way (no close frame). */
  drop(): void {
    this.socket?.terminate();
  }

  /** Waits for a message from the kernel that matches, among those received from now on or before. */
  async next<T extends FromKernel['type']>(
    type: T,
    match: (message: Extract<FromKernel, { type: T }>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Extract<FromKernel, { type: T }>> {
    const find = () => this.received.find((m): m is Extract<FromKernel, { type: T }> => m.type === type && match(m as never));
    const found = find();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`no ${type} from the kernel within ${timeoutMs} ms; got ${this.received.map((m) => m.type).join(', ')}`));
      }, timeoutMs);
      const listener = () => {
        const hit = find();
        if (!hit) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(hit);
      };
      this.#listeners.add(listener);
    });
  }

  /** Messages of one type received so far. */
  all<T extends FromKernel['type']>(type: T): Extract<FromKernel, { type: T }>[] {
    return this.received.filter((m): m is Extract<FromKernel, { type: T }> => m.type === type);
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
