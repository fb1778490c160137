/**
 * `startRelay`: the relay process (docs/relay.md §10) assembled. One http(s) server
 * carries the fleet REST API and upgrades /kernel and /agent to WebSockets for the relay
 * core; relay.db holds the tokens and the relay's tables; admin.token guards the API.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { z } from 'zod';
import { createLogger, type Logger } from '../../kernel/logger.js';
import { KERNEL_VERSION } from '../../kernel/version.js';
import { createFleetApi } from '../fleet/api.js';
import type { FleetHub } from '../fleet/hub.js';
import { TokenStore } from '../tokens/store.js';
import { ensureAdminToken } from './admin-token.js';
import { acceptConnection } from './connection.js';
import { RelayCore } from './core.js';
import { RelayHub } from './hub.js';
import { hostForUrl, isLoopbackHost, RelayOptions } from './options.js';
import { RelayStore } from './relay-store.js';

export { RelayOptions };

export const RELAY_DB_FILE = 'relay.db';

/** Connections still authenticating; past it an upgrade is refused (503) rather than queued. */
const MAX_UNAUTHENTICATED = 1024;
/** How long close() waits for peers to take their close frames before cutting them. */
const CLOSE_GRACE_MS = 2000;

export interface RelayServer {
  /** ws(s)://host:port: kernels connect to `${url}/kernel`, agents to `${url}/agent`. */
  url: string;
  /** http(s)://host:port: the fleet REST API. */
  httpUrl: string;
  port: number;
  adminTokenFile: string;
  hub: FleetHub;
  close(): Promise<void>;
}

export interface RelayDeps {
  logger?: Logger;
  /** The clock of tokens, sessions, rate limits and tables (ms since the epoch). */
  now?: () => number;
}

export async function startRelay(input: z.input<typeof RelayOptions>, deps: RelayDeps = {}): Promise<RelayServer> {
  const options = RelayOptions.parse(input);
  if (options.tls === undefined && !options.insecure && !isLoopbackHost(options.host)) {
    throw new Error(
      `refusing to serve plain ws on ${options.host}, which is not a loopback address: tokens would cross the network in clear; ` +
        'give --tls-cert and --tls-key, or --insecure to accept that',
    );
  }
  const now = deps.now ?? Date.now;
  const log = (deps.logger ?? createLogger({ level: options.logLevel, file: options.logFile })).child({ component: 'relay' });
  const { limits } = options;

  const tls = options.tls === undefined ? undefined : await readTls(options.tls);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const admin = await ensureAdminToken(options.dataDir);
  const dbPath = join(options.dataDir, RELAY_DB_FILE);
  const tokens = TokenStore.open(dbPath, { now });
  let store: RelayStore;
  try {
    store = RelayStore.open(dbPath);
  } catch (error) {
    tokens.close();
    throw error;
  }

  const core = new RelayCore({ limits, tokens, store, log, now });
  const hub = new RelayHub(core, now(), KERNEL_VERSION);
  const api = createFleetApi(hub, {
    adminToken: admin.token,
    maxBodyBytes: limits.max_message_bytes,
    version: KERNEL_VERSION,
    log: log.child({ component: 'fleet-api' }),
    deployTimeoutMs: options.deployTimeoutMs,
    now,
  });
  const server: Server = tls === undefined ? createServer(api) : createHttpsServer(tls, api);
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.max_message_bytes, perMessageDeflate: false });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A peer that resets mid-handshake must not become an unhandled 'error'.
    socket.on('error', () => {});
    const path = new URL(request.url ?? '/', 'http://relay').pathname;
    if (path !== '/kernel' && path !== '/agent') return refuseUpgrade(socket, 404, 'Not Found');
    if (core.closing) return refuseUpgrade(socket, 503, 'Service Unavailable');
    if (core.unauthenticated.size >= MAX_UNAUTHENTICATED) return refuseUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(request, socket, head, (ws) => acceptConnection(core, ws, path === '/kernel' ? 'kernel' : 'agent'));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    core.shutdown();
    tokens.close();
    store.close();
    const hint =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (in use: choose another with --port, or 0 for any free port)' : '';
    throw new Error(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}${hint}`);
  }
  server.on('error', (error) => log.error({ err: error }, 'relay server error'));

  const port = (server.address() as AddressInfo).port;
  const authority = `${hostForUrl(options.host)}:${port}`;
  const secure = tls !== undefined;
  const url = `${secure ? 'wss' : 'ws'}://${authority}`;
  const httpUrl = `${secure ? 'https' : 'http'}://${authority}`;
  log.info({ url, http_url: httpUrl, data_dir: options.dataDir }, 'relay listening');

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      core.shutdown();
      const listening = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closeSockets(wss);
      wss.close();
      server.closeAllConnections();
      await listening;
      store.close();
      tokens.close();
      log.info('relay stopped');
    })();
    return closed;
  };

  return { url, httpUrl, port, adminTokenFile: admin.file, hub, close };
}

async function readTls(tls: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = (file: string, what: string) =>
    readFile(file).catch((error: Error) => {
      throw new Error(`cannot read the TLS ${what} ${file}: ${error.message}`);
    });
  const [cert, key] = await Promise.all([read(tls.certFile, 'certificate'), read(tls.keyFile, 'key')]);
  return { cert, key };
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  // As ws's own abortHandshake: the answer is flushed, then the socket destroyed.
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Waits for every peer's close (they were sent their close frames), then cuts the slow ones. */
async function closeSockets(wss: WebSocketServer): Promise<void> {
  const open = [...wss.clients].filter((ws) => ws.readyState !== WebSocket.CLOSED);
  if (open.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_GRACE_MS);
  });
  await Promise.race([Promise.all(open.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())))), grace]);
  clearTimeout(timer);
  for (const ws of open) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}
