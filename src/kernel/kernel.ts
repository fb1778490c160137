/**
 * Assembles a kernel: options, logger, worker pool, router, root supervisor and the
 * transports. It owns nothing else; each part does its one job.
 */
import { mkdir } from 'node:fs/promises';
import { waitFor } from 'xstate';
import { createRootSupervisor, type RootSupervisor } from '../actors/root-supervisor.js';
import { type AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { Level } from '../protocol/schemas/permissions.js';
import { PRESETS } from '../protocol/schemas/permissions.js';
import { SYSCALLS } from '../syscalls/index.js';
import type { TransportContext } from '../transports/connection-port.js';
import { InProcessConnection } from '../transports/inprocess.js';
import { UnixServer } from '../transports/unix-server.js';
import { WebSocketEndpoint } from '../transports/websocket-server.js';
import { WorkerPool } from '../workers/pool.js';
import { writeAdminToken } from './admin-token.js';
import { EventBus } from './events.js';
import { createLogger, type Logger } from './logger.js';
import { type KernelOptions, type KernelOptionsInput, parseKernelOptions } from './options.js';
import { Router } from './router.js';
import type { Session } from './session.js';
import type { KernelServices } from './syscall.js';
import { KERNEL_VERSION } from './version.js';

export interface Kernel {
  readonly options: KernelOptions;
  readonly socketPath: string;
  /** The HTTP/WebSocket endpoint, or null when HTTP is off. */
  readonly httpUrl: string | null;
  readonly log: Logger;
  readonly root: RootSupervisor;
  readonly version: string;
  /** Every live agent: connected clients and supervised agents. */
  agents(): AgentRecord[];
  /** The kernel's event bus (protocol.md §7). */
  readonly events: EventBus;
  /** An in-process connection for a code-defined agent; `level` defaults to the kernel's. */
  connect(options?: { name?: string; level?: Level }): InProcessConnection;
  /** Graceful shutdown: stop accepting, finish replies, stop workers, remove the socket. */
  stop(): Promise<void>;
}

export interface StartKernelDeps {
  /** Use this logger instead of creating one from the options. */
  log?: Logger;
}

export async function startKernel(input: KernelOptionsInput = {}, deps: StartKernelDeps = {}): Promise<Kernel> {
  const options = parseKernelOptions(input);
  const log = deps.log ?? createLogger({ level: options.logLevel, file: options.logFile });
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });

  const adminToken = await writeAdminToken(options.dataDir);
  const pool = new WorkerPool(options.workers, log);
  const registry = new AgentRegistry();
  const events = new EventBus(log);
  let features: readonly string[] = [];
  const services: KernelServices = {
    options,
    log,
    pool,
    agents: registry,
    events,
    adminToken,
    kernelVersion: KERNEL_VERSION,
    startedAt: Date.now(),
    features: () => features,
  };
  const router = new Router(services, SYSCALLS);
  features = Object.freeze(router.served);

  let unix: UnixServer | undefined;
  let web: WebSocketEndpoint | undefined;
  const root: RootSupervisor = createRootSupervisor(
    {
      async start() {
        try {
          unix = await UnixServer.listen(transportContext);
          if (options.httpPort !== null) web = await WebSocketEndpoint.listen(transportContext, options.httpPort);
        } catch (error) {
          await unix?.close(0);
          await pool.close();
          throw error;
        }
      },
      async stop() {
        await Promise.all([web?.close(options.shutdownTimeoutMs), unix?.close(options.shutdownTimeoutMs)]);
        await pool.close();
      },
    },
    log,
  );

  const transportContext: TransportContext = {
    options,
    log,
    router,
    openConnection(transport, requestClose) {
      const agent = registry.create({ kind: 'client', transport, level: options.defaultLevel, cwd: process.cwd() });
      const abort = new AbortController();
      const session: Session = { agent, transport, closed: abort.signal, requestClose };
      const connectionId = `connection-${agent.id}`;
      root.send({ type: 'connection.opened', connectionId, agentId: agent.id, transport });
      log.debug({ agent_id: agent.id, transport }, 'connection opened');
      const child = () => root.getSnapshot().children[connectionId];
      return {
        session,
        hooks: {
          draining(reason) {
            child()?.send({ type: 'connection.draining', reason });
          },
          closed() {
            abort.abort();
            // A client ends with its connection; a spawned agent lives on under its supervisor.
            if (session.agent.kind === 'client') registry.remove(session.agent.id);
            child()?.send({ type: 'connection.closed' });
            root.send({ type: 'connection.closed', connectionId });
            log.debug({ agent_id: session.agent.id, syscalls: session.agent.counters.total }, 'connection closed');
          },
        },
      };
    },
  };

  root.start();
  const started = await waitFor(root, (snapshot) => snapshot.value !== 'starting');
  if (started.value !== 'running') {
    const error = (started.context.error && new Error(started.context.error)) || new Error('the kernel failed to start');
    error.name = 'StartupError';
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    options,
    socketPath: options.socketPath,
    httpUrl: web?.url ?? null,
    log,
    root,
    version: KERNEL_VERSION,
    agents: () => [...registry],
    events,
    connect({ name, level } = {}) {
      const connection = new InProcessConnection(transportContext);
      const agent = registry.get(connection.agentId);
      if (agent) {
        if (name !== undefined) agent.name = name;
        if (level !== undefined) {
          agent.level = level;
          agent.permissions = PRESETS[level];
        }
      }
      return connection;
    },
    stop() {
      stopping ??= (async () => {
        root.send({ type: 'kernel.stop' });
        await waitFor(root, (snapshot) => snapshot.status === 'done', { timeout: options.shutdownTimeoutMs * 3 });
        log.info('kernel stopped');
        log.flush();
      })();
      return stopping;
    },
  };
}
