/**
 * Assembles a kernel: options, logger, worker pool, agent registry, supervision
 * runtime, router, root supervisor and the transports. It owns nothing else; each part
 * does its one job.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnyActorLogic } from 'xstate';
import { type AnyActorRef, waitFor } from 'xstate';
import { createRootSupervisor, type RootSupervisor } from '../actors/root-supervisor.js';
import { SupervisionRuntime } from '../actors/supervision-runtime.js';
import { type AgentHandle, type CodeAgentOptions, CodeAgents, type SuperviseDefinition } from '../agents/code-api.js';
import { type AgentRecord, AgentRegistry } from '../agents/registry.js';
import { AgentSpawner } from '../agents/spawner.js';
import { AsyncResults } from '../async/results.js';
import { AuditLog } from '../audit/log.js';
import { auditKernelEvents } from '../audit/sources.js';
import { EventSubscriptions } from '../events/subscriptions.js';
import { InspectionHub } from '../inspection/hub.js';
import { Mailboxes } from '../ipc/mailboxes.js';
import { resolveApiKey } from '../llm/options.js';
import { LlmService } from '../llm/service.js';
import { TOP_SUPERVISORS } from '../machines/kernel.machine.js';
import { hardStop } from '../machines/supervisor.machine.js';
import { Metrics } from '../metrics/index.js';
import { renderPrometheus } from '../metrics/prometheus.js';
import type { Level } from '../protocol/schemas/permissions.js';
import { PRESETS } from '../protocol/schemas/permissions.js';
import { Quotas } from '../quotas/quotas.js';
import { processSuspender } from '../quotas/suspender.js';
import { Recorder } from '../replay/recorder.js';
import { Replayer } from '../replay/replayer.js';
import { ResourceWarnings } from '../resources/warnings.js';
import { AgentOSClient } from '../sdk/client.js';
import { InProcessTransport } from '../sdk/inprocess-transport.js';
import { StateStore } from '../state/store.js';
import { SYSCALLS } from '../syscalls/index.js';
import { TaskEngine } from '../tasks/engine.js';
import { taskEngineDeps, watchTaskAgents } from '../tasks/kernel-deps.js';
import { RoleRegistry } from '../tasks/roles.js';
import { TaskStore } from '../tasks/store.js';
import type { TransportContext } from '../transports/connection-port.js';
import { InProcessConnection } from '../transports/inprocess.js';
import { UnixServer } from '../transports/unix-server.js';
import { WebSocketEndpoint } from '../transports/websocket-server.js';
import { Tunnel } from '../tunnel/index.js';
import { ProcessLauncher } from '../workers/launcher.js';
import { WorkerPool } from '../workers/pool.js';
import { kernelWorldHost, watchWorldMembers } from '../worlds/host.js';
import { WorldRegistry } from '../worlds/registry.js';
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
  /** XState inspection events, streamed to WebSocket clients on /inspect. */
  readonly inspection: InspectionHub;
  /** The kernel's event bus (protocol.md §7). */
  readonly events: EventBus;
  /** Event subscriptions and their queues (SUBSCRIBE, POLL_EVENTS). */
  readonly subscriptions: EventSubscriptions;
  /** Every agent's mailbox (SEND, RECV, BROADCAST). */
  readonly mailboxes: Mailboxes;
  /** RESOURCE_WARNING at 80 % of an agent's bounded resources. */
  readonly resourceWarnings: ResourceWarnings;
  /** Quotas per agent (SET_QUOTA) and the one place that admits or refuses a use. */
  readonly quotas: Quotas;
  /** Usage counters per agent, process samples and limits, system readings (METRICS, GET /metrics). */
  readonly metrics: Metrics;
  /** The audit log (`<data-dir>/audit.db`): `audit.query({ category, agent_id })` flushes, then reads. */
  readonly audit: AuditLog;
  /** THINK's provider and fair queue: `llm.stats()`, `llm.queuedFor(agentId)`. */
  readonly llm: LlmService;
  /** The live worlds and their members (WORLD_*): `worlds.get('world-1')`, `worlds.worldOf(agentId)`. */
  readonly worlds: WorldRegistry;
  /** Tasks and subtasks (TASK_*), kept in `<data-dir>/tasks.db`: `tasks.view('task-1')`, `tasks.list({ limit })`. */
  readonly tasks: TaskEngine;
  /** Roles agents took with REGISTER `{ role }`. */
  readonly roles: RoleRegistry;
  /** The outbound tunnel to a relay (TUNNEL_*): `tunnel.status()`, `tunnel.connect(...)`, its remote agents. */
  readonly tunnel: Tunnel;
  /** Every live agent: connected clients and supervised agents. */
  agents(): AgentRecord[];
  /** An in-process connection for code in the kernel's process; `level` defaults to the kernel's. */
  connect(options?: { name?: string; level?: Level }): InProcessConnection;
  /** Run XState logic as a supervised agent inside the kernel. */
  spawn(logic: AnyActorLogic, options: CodeAgentOptions): Promise<AgentHandle>;
  /** Run a module's default export as a supervised agent in a worker thread. */
  spawnWorker(file: string, options: CodeAgentOptions): Promise<AgentHandle>;
  /** Build a supervision subtree: `{ name, strategy, intensity, period, children }`. */
  supervise(definition: SuperviseDefinition): Promise<AgentHandle>;
  /** Graceful shutdown: agents stopped in order, connections finished, workers stopped, socket removed. */
  stop(): Promise<void>;
}

/** One shared abort reason: abort() without one builds a DOMException per closed connection. */
const CONNECTION_CLOSED = Object.freeze(new Error('the connection closed'));

export interface StartKernelDeps {
  /** Use this logger instead of creating one from the options. */
  log?: Logger;
}

export async function startKernel(input: KernelOptionsInput = {}, deps: StartKernelDeps = {}): Promise<Kernel> {
  const options = parseKernelOptions(input);
  // Before anything is opened: a missing key (llm.apiKeyEnv unset) fails the start cleanly.
  const llmKey = resolveApiKey(options.llm);
  const log = deps.log ?? createLogger({ level: options.logLevel, file: options.logFile });
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });

  const adminToken = await writeAdminToken(options.dataDir);
  const pool = new WorkerPool(options.workers, log);
  const launcher = new ProcessLauncher(log);
  const registry = new AgentRegistry();
  const events = new EventBus(log);
  const audit = new AuditLog({ dataDir: options.dataDir, log, ...options.audit, kernelVersion: KERNEL_VERSION });
  auditKernelEvents(events, audit, registry);
  const warnings = new ResourceWarnings({ bus: events, registry });
  const subscriptions = new EventSubscriptions({ bus: events, registry, queueSize: options.eventQueueSize, warnings });
  const state = new StateStore({
    dataDir: options.dataDir,
    registry,
    subscriptions,
    warnings,
    maxValueBytes: options.stateMaxValueBytes,
    maxKeysPerAgent: options.stateMaxKeysPerAgent,
    maxSharedKeys: options.stateMaxSharedKeys,
    sweepIntervalMs: options.stateSweepIntervalMs,
    durability: options.stateDurability,
  });
  const mailboxes = new Mailboxes({ registry, bus: events, size: options.mailboxSize, warnings });
  const asyncResults = new AsyncResults({ registry, slots: options.asyncSlots });
  const recorder = new Recorder();
  const replayer = new Replayer({
    log,
    connectAs(recorded) {
      const connection = new InProcessConnection(transportContext);
      const agent = registry.get(connection.agentId) as AgentRecord;
      agent.name = `replay:${recorded.name ?? recorded.id}`;
      agent.level = recorded.level;
      agent.permissions = Object.freeze({ ...recorded.permissions });
      return connection;
    },
  });
  const startedAt = Date.now();
  const metrics = new Metrics({
    registry,
    bus: events,
    warnings,
    log,
    dataDir: options.dataDir,
    startedAt,
    sampleIntervalMs: options.resources.sampleIntervalMs,
    memoryPolicy: options.resources.memoryPolicy,
    cpuPolicy: options.resources.cpuPolicy,
    // A world member is also held to its world's per-member limits (`worlds` is made below; sampling starts later).
    outerLimits: (agentId) => worlds.worldOf(agentId)?.memberLimits(),
  });
  const quotas = new Quotas({
    bus: events,
    registry,
    warnings,
    suspender: processSuspender,
    maxHoldMs: options.resources.maxHoldMs,
    maxHeldCalls: options.resources.maxHeldCalls,
  });
  const llm = new LlmService({ options: options.llm, apiKey: llmKey, log, quotas, metrics });
  // Sees every XState event of the systems it tracks, and only while someone listens.
  const inspection = new InspectionHub();
  const cwd = process.cwd();
  const worlds = new WorldRegistry({
    dataDir: options.dataDir,
    host: kernelWorldHost({
      events,
      agents: registry,
      log,
      supervisor: () => root.getSnapshot().children.worlds as AnyActorRef | undefined,
    }),
  });
  // An agent that ends for good leaves its world.
  registry.onRemove((record) => worlds.leave(record.id));
  // Members going down and up again count against and for their world's uptime score.
  watchWorldMembers(events, worlds);

  // Tasks: unfinished ones are loaded now, before any connection can reach them.
  const roles = new RoleRegistry();
  // Task actors are parented to the `tasks` supervisor once the root runs (those loaded before are moved under it then).
  let rootRunning = false;
  const taskParts = {
    registry,
    mailboxes,
    roles,
    events,
    log: log.child({ component: 'tasks' }),
    supervisor: () => (rootRunning ? (root.getSnapshot().children.tasks as AnyActorRef | undefined) : undefined),
  };
  let tasks: TaskEngine;
  try {
    tasks = TaskEngine.open(taskEngineDeps({ ...taskParts, store: TaskStore.open(join(options.dataDir, 'tasks.db')) }));
  } catch (error) {
    state.close();
    audit.close();
    throw error;
  }
  const unwatchTaskAgents = watchTaskAgents(taskParts, tasks);

  const supervision = new SupervisionRuntime({
    registry,
    events,
    log,
    socketPath: options.socketPath,
    allowDegradedIsolation: options.allowDegradedIsolation,
    launcher,
    track: (actor) => inspection.track(actor),
    agentInput: (agentId, extra) => agentInput(agentId, extra),
  });
  const topSupervisors = (): [string, AnyActorRef][] =>
    TOP_SUPERVISORS.flatMap((name) => {
      const ref = root.getSnapshot().children[name] as AnyActorRef | undefined;
      return ref ? [[name, ref] as [string, AnyActorRef]] : [];
    });
  const spawner = new AgentSpawner({
    registry,
    events,
    runtime: supervision,
    agentsSupervisor: () => root.getSnapshot().children.agents as AnyActorRef | undefined,
  });
  const codeAgents = new CodeAgents({ registry, spawner, runtime: supervision, defaultLevel: options.defaultLevel, cwd });

  let features: readonly string[] = [];
  // Made once the transports' context exists (below); no syscall runs before that.
  let tunnel: Tunnel;
  const services: KernelServices = {
    options,
    log,
    pool,
    agents: registry,
    events,
    subscriptions,
    mailboxes,
    asyncResults,
    recorder,
    replayer,
    state,
    quotas,
    metrics,
    audit,
    llm,
    worlds,
    tasks,
    roles,
    get tunnel() {
      return tunnel;
    },
    adminToken,
    spawner,
    supervision,
    topSupervisors,
    kernelVersion: KERNEL_VERSION,
    startedAt,
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
        // The tunnel first: no remote call or deploy may arrive while agents stop; remote agents end with its link.
        tunnel.close();
        // Worlds next: no chaos may crash an agent while the supervisors stop them in order.
        await worlds.close().catch((error: unknown) => log.warn({ error: String(error) }, 'worlds did not close cleanly'));
        // Then tasks, before agents stop: their exits are a shutdown, not failed attempts. Subtasks still
        // running stay so in tasks.db and fail their attempt as "the kernel restarted" on the next start.
        unwatchTaskAgents();
        await tasks.close().catch((error: unknown) => log.warn({ error: String(error) }, 'tasks did not close cleanly'));
        // Agents first, in reverse start order of the kernel's supervisors, then the doors, then the workers.
        for (const [name, supervisor] of topSupervisors().reverse()) {
          supervisor.send({ type: 'supervisor.stop' });
          await waitFor(supervisor, (snapshot) => snapshot.status !== 'active', { timeout: options.shutdownTimeoutMs * 2 }).catch(() =>
            log.warn({ supervisor: name }, 'supervisor did not stop in time'),
          );
        }
        // Whatever did not stop in order is stopped now, processes included.
        for (const [, supervisor] of topSupervisors()) hardStop(supervisor);
        // An LLM call may take minutes: it ends now (UNAVAILABLE), so connections can finish their replies.
        llm.close();
        await Promise.all([web?.close(options.shutdownTimeoutMs), unix?.close(options.shutdownTimeoutMs)]);
        // Background calls of agents that are gone by now are cancelled before their workers stop.
        asyncResults.close();
        replayer.close();
        await Promise.all([pool.close(), launcher.close()]);
        // After the doors: no syscall can reach the store any more. The session scope ends here.
        state.close();
        subscriptions.close();
        quotas.close();
        metrics.close();
        // Last: the lifecycle of every agent stopped above is in it.
        audit.close();
      },
    },
    supervision.supervisorMachine,
    log,
  );
  inspection.track(root);

  const transportContext: TransportContext = {
    options,
    log,
    router,
    inspection,
    metricsText: () => renderPrometheus({ registry, metrics, quotas, version: KERNEL_VERSION, startedAt, workers: () => pool.stats }),
    openConnection(transport, requestClose, bound) {
      const agent = bound ?? registry.create({ kind: 'client', transport, level: options.defaultLevel, cwd });
      const abort = new AbortController();
      const session: Session = { agent, transport, closed: abort.signal, requestClose };
      // Several connections may act as one agent (a spawned agent that reconnects): number them apart.
      const connectionId = bound ? `connection-${agent.id}.${++connectionCount}` : `connection-${agent.id}`;
      root.send({ type: 'connection.opened', connectionId, agentId: agent.id, transport });
      log.debug({ agent_id: agent.id, transport }, 'connection opened');
      const child = () => root.getSnapshot().context.connections.get(connectionId);
      return {
        session,
        hooks: {
          draining(reason) {
            child()?.send({ type: 'connection.draining', reason });
          },
          closed() {
            abort.abort(CONNECTION_CLOSED);
            // A client or remote agent ends with its connection; a supervised agent lives on under its supervisor.
            if (session.agent.kind === 'client' || session.agent.kind === 'remote') registry.remove(session.agent.id);
            child()?.send({ type: 'connection.closed' });
            root.send({ type: 'connection.closed', connectionId });
            log.debug({ agent_id: session.agent.id, syscalls: session.agent.counters.total }, 'connection closed');
          },
        },
      };
    },
  };
  let connectionCount = 0;
  tunnel = new Tunnel({
    options,
    log,
    events,
    registry,
    transport: transportContext,
    kernelVersion: KERNEL_VERSION,
    parent: root,
    cwd,
  });

  /** An in-kernel agent's input: its id and a syscall client acting as it, made on first use. */
  function agentInput(agentId: number, extra: unknown): Record<string, unknown> {
    const value: Record<string, unknown> = { ...(extra as Record<string, unknown> | undefined), agentId };
    let client: AgentOSClient | undefined;
    Object.defineProperty(value, 'os', {
      enumerable: true,
      get() {
        const record = registry.get(agentId);
        if (!record) throw new Error(`agent ${agentId} has ended`);
        client ??= new AgentOSClient(new InProcessTransport(new InProcessConnection(transportContext, record)));
        return client;
      },
    });
    return value;
  }

  root.start();
  const started = await waitFor(root, (snapshot) => snapshot.value !== 'starting');
  if (started.value !== 'running') {
    const error = (started.context.error && new Error(started.context.error)) || new Error('the kernel failed to start');
    error.name = 'StartupError';
    unwatchTaskAgents();
    tunnel.close();
    await tasks.close().catch(() => {});
    state.close();
    audit.close();
    throw error;
  }
  rootRunning = true;
  tasks.adoptActors();
  for (const [, supervisor] of topSupervisors()) supervision.watch(supervisor);
  metrics.start();
  tunnel.autoConnect();

  let stopping: Promise<void> | undefined;
  return {
    options,
    socketPath: options.socketPath,
    httpUrl: web?.url ?? null,
    log,
    root,
    version: KERNEL_VERSION,
    inspection,
    events,
    subscriptions,
    mailboxes,
    resourceWarnings: warnings,
    quotas,
    metrics,
    audit,
    llm,
    worlds,
    tasks,
    roles,
    tunnel,
    agents: () => [...registry],
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
    spawn: (logic, spawnOptions) => codeAgents.spawn(logic, spawnOptions),
    spawnWorker: (file, spawnOptions) => codeAgents.spawnWorker(file, spawnOptions),
    supervise: (definition) => codeAgents.supervise(definition),
    stop() {
      stopping ??= (async () => {
        root.send({ type: 'kernel.stop' });
        await waitFor(root, (snapshot) => snapshot.status === 'done', { timeout: options.shutdownTimeoutMs * 4 });
        inspection.close();
        log.info('kernel stopped');
        log.flush();
      })();
      return stopping;
    },
  };
}
