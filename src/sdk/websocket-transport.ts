/** The JSON envelope client over WebSocket (protocol.md §3): `id` correlates replies. */
import WebSocket from 'ws';
import { opcodeByCode } from '../protocol/opcodes.js';
import { AgentOSError } from './errors.js';
import type { ClientTransport } from './transport.js';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class WebSocketTransport implements ClientTransport {
  readonly address: string;
  readonly #ws: WebSocket;
  readonly #waiters = new Map<number, Waiter>();
  #nextId = 1;
  #closedError: AgentOSError | undefined;
  /** Pushed notifications (`{"push": ..., "data": ...}`), for subscribers. */
  onPush: ((push: string, data: unknown) => void) | undefined;

  private constructor(ws: WebSocket, url: string) {
    this.#ws = ws;
    this.address = url;
    ws.on('message', (data) => this.#onMessage(data.toString()));
    ws.on('error', () => {});
    ws.on('close', () => this.#fail(new AgentOSError('UNAVAILABLE', `the kernel closed the WebSocket ${url}`)));
  }

  static connect(url: string): Promise<WebSocketTransport> {
    const wsUrl = url.replace(/^http/, 'ws');
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
      ws.once('open', () => {
        ws.off('error', onError);
        resolve(new WebSocketTransport(ws, wsUrl));
      });
      const onError = (error: NodeJS.ErrnoException) =>
        reject(
          new AgentOSError(
            'UNAVAILABLE',
            `cannot reach the AgentOS kernel at ${wsUrl}: ${error.code ?? error.message}; is it running with its HTTP port on?`,
          ),
        );
      ws.once('error', onError);
    });
  }

  request(opcode: number, payload: unknown): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    const op = opcodeByCode(opcode)?.name ?? opcode;
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, op, payload: Buffer.isBuffer(payload) ? payload.toString('utf8') : payload }));
    });
  }

  #onMessage(text: string): void {
    let message: { id?: number; result?: unknown; push?: string; data?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.push !== undefined) {
      this.onPush?.(message.push, message.data);
      return;
    }
    const waiter = message.id === undefined ? undefined : this.#waiters.get(message.id);
    if (waiter === undefined || message.id === undefined) return;
    this.#waiters.delete(message.id);
    waiter.resolve(message.result);
  }

  #fail(error: AgentOSError): void {
    this.#closedError ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ws.readyState === WebSocket.CLOSED) return resolve();
      this.#ws.once('close', () => resolve());
      this.#ws.close(1000);
      setTimeout(() => this.#ws.terminate(), 1000).unref();
    });
  }
}
