/**
 * The kernel's HTTP port: a WebSocket endpoint speaking the JSON envelope of
 * protocol.md §3 (any path but /inspect), the XState inspection stream on /inspect,
 * GET /health, and GET /metrics (Prometheus). Requests on one WebSocket run
 * concurrently; `id` correlates replies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus.js';
import { type ReplyEnvelope, RequestEnvelope } from '../protocol/envelope.js';
import { describeZodError, errorReply } from '../protocol/errors.js';
import { hexCode, resolveOp } from '../protocol/opcodes.js';
import type { TransportContext } from './connection-port.js';
import { StartupError } from './unix-server.js';

/** Room for the envelope around the largest payload. */
const ENVELOPE_OVERHEAD = 64 * 1024;
/** Inspection clients only listen; anything they send is discarded, so it need not be large. */
const INSPECT_MAX_PAYLOAD = 4 * 1024;

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}

/**
 * Browsers attach an Origin; a page on another site must not drive the kernel through
 * the user's browser, so only the kernel's own loopback origins are accepted.
 */
function originAllowed(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  try {
    const url = new URL(origin);
    const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    return loopback && Number(url.port || (url.protocol === 'https:' ? 443 : 80)) === port;
  } catch {
    return false;
  }
}

export class WebSocketEndpoint {
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #inspectWss = new WebSocketServer({ noServer: true, maxPayload: INSPECT_MAX_PAYLOAD, perMessageDeflate: false });
  readonly #context: TransportContext;
  readonly #sockets = new Set<WebSocket>();
  #port = 0;

  private constructor(context: TransportContext) {
    this.#context = context;
    this.#http = createServer((request, response) => this.#onHttp(request, response));
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: context.options.maxPayload + ENVELOPE_OVERHEAD,
      perMessageDeflate: false,
    });
    this.#http.on('upgrade', (request, socket, head) => {
      if (!originAllowed(request.headers.origin, this.#port)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\ncross-origin WebSocket refused\n');
        return;
      }
      if ((request.url ?? '/').split('?')[0] === '/inspect') {
        this.#onInspect(request, socket, head);
        return;
      }
      if (this.#sockets.size >= context.options.maxConnections) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onSocket(ws));
    });
  }

  static async listen(context: TransportContext, port: number): Promise<WebSocketEndpoint> {
    const endpoint = new WebSocketEndpoint(context);
    const { httpHost } = context.options;
    await new Promise<void>((resolve, reject) => {
      endpoint.#http.once('error', (error: NodeJS.ErrnoException) => {
        const hint = error.code === 'EADDRINUSE' ? ' (in use: choose another with --http-port, or 0 for any free port)' : '';
        reject(new StartupError(`cannot listen on http://${httpHost}:${port}: ${error.message}${hint}`));
      });
      endpoint.#http.listen(port, httpHost, () => resolve());
    });
    endpoint.#port = (endpoint.#http.address() as AddressInfo).port;
    endpoint.#http.on('error', (error) => context.log.error({ err: error }, 'http server error'));
    return endpoint;
  }

  get url(): string {
    const host = this.#context.options.httpHost;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  #onHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ success: true, status: 'running', socket: this.#context.options.socketPath }));
      return;
    }
    if (request.method === 'GET' && path === '/metrics' && this.#context.metricsText) {
      this.#onMetrics(this.#context.metricsText, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(errorReply('NOT_FOUND', `no route ${request.method} ${path}; connect a WebSocket here, or GET /health or /metrics`)),
    );
  }

  /** Prometheus scrapes: like /health, open to whoever reaches the loopback port. */
  #onMetrics(render: () => Promise<string>, response: ServerResponse): void {
    render().then(
      (text) => {
        response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        response.end(text);
      },
      (error: unknown) => {
        this.#context.log.error({ err: error }, 'GET /metrics failed');
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify(errorReply('INTERNAL', 'the metrics could not be read; the kernel log has the details')));
      },
    );
  }

  /** Visualizers attach to the inspection hub; they never get an agent session. */
  #onInspect(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const hub = this.#context.inspection;
    if (hub === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (hub.full) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#inspectWss.handleUpgrade(request, socket, head, (ws) => hub.attach(ws));
  }

  #onSocket(ws: WebSocket): void {
    const { options, router, log } = this.#context;
    this.#sockets.add(ws);
    const { session, hooks } = this.#context.openConnection('websocket', () => {
      closing = true;
      hooks.draining('exit');
    });
    let inFlight = 0;
    let paused = false;
    let closing = false;

    const flow = () => {
      const over = inFlight >= options.maxPipeline || ws.bufferedAmount >= options.maxBufferedBytes;
      if (over && !paused) {
        paused = true;
        ws.pause();
      } else if (!over && paused && ws.readyState === ws.OPEN) {
        paused = false;
        ws.resume();
      }
    };
    // Subscribed events: dropped (and counted by the subscription) while the peer reads too slowly.
    session.push = (event) => {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount >= options.maxBufferedBytes) return false;
      ws.send(JSON.stringify({ push: 'EVENT', data: event }), () => flow());
      return true;
    };
    const reply = (envelope: ReplyEnvelope) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify(envelope), () => flow());
      if (closing && inFlight === 0) ws.close(1000, 'goodbye');
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (closing) return;
      let envelope: RequestEnvelope;
      try {
        const parsed = RequestEnvelope.safeParse(JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString()));
        if (!parsed.success) {
          const { message, field } = describeZodError(parsed.error, 'envelope');
          reply({ id: null, op: '', result: errorReply('INVALID_REQUEST', message, { field }) });
          return;
        }
        envelope = parsed.data;
      } catch (error) {
        reply({ id: null, op: '', result: errorReply('INVALID_REQUEST', `message is not valid JSON: ${(error as Error).message}`) });
        return;
      }
      const info = resolveOp(envelope.op);
      if (info === undefined) {
        const shown = typeof envelope.op === 'number' ? hexCode(envelope.op) : JSON.stringify(envelope.op);
        reply({
          id: envelope.id,
          op: String(envelope.op),
          result: errorReply('UNSUPPORTED_OPCODE', `unknown op ${shown}; protocol.md §5 lists the opcodes`),
        });
        return;
      }
      const result = router.dispatch(session, info.code, envelope.payload);
      if (!isPromise(result)) {
        reply({ id: envelope.id, op: info.name, result });
        return;
      }
      inFlight++;
      flow();
      result.then((value) => {
        inFlight--;
        reply({ id: envelope.id, op: info.name, result: value });
        flow();
      });
    });
    ws.on('error', (error) => log.debug({ agent_id: session.agent.id, err: error }, 'websocket error'));
    ws.on('close', () => {
      this.#sockets.delete(ws);
      hooks.closed();
    });
  }

  /** Close every WebSocket (1001 going away) and the HTTP server. */
  async close(timeoutMs: number): Promise<void> {
    for (const ws of this.#sockets) ws.close(1001, 'kernel shutting down');
    this.#context.inspection?.close();
    const force = setTimeout(() => {
      for (const ws of this.#sockets) ws.terminate();
      this.#http.closeAllConnections();
    }, timeoutMs);
    force.unref();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#wss.close();
    this.#inspectWss.close();
    clearTimeout(force);
  }
}
