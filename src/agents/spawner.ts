/**
 * Starting and stopping supervised agents, shared by the SPAWN/KILL syscalls and the
 * kernel's code API (`kernel.spawn`, `kernel.spawnWorker`, `kernel.supervise`). An agent
 * is a record in the registry plus a child in a supervisor.
 */
import type { AnyActorRef } from 'xstate';
import type { SupervisionRuntime } from '../actors/supervision-runtime.js';
import type { EventBus } from '../kernel/events.js';
import type { SupervisedChild } from '../machines/supervisor.machine.js';
import { KernelError } from '../protocol/errors.js';
import type { KernelEvent } from '../protocol/schemas/events.js';
import { Backoff, type RestartType, type Shutdown } from '../supervision/spec.js';
import type { Launch } from './launch.js';
import type { AgentRecord, AgentRegistry } from './registry.js';

export interface StartOptions {
  restart: RestartType;
  /** The agent's own restart window (SPAWN's max_restarts within restart_window seconds). */
  window?: { intensity: number; period: number } | undefined;
  shutdown?: Shutdown | undefined;
  backoff?: Backoff | undefined;
}

export interface FirstStart {
  pid: number | null;
}

/** How long SPAWN waits for a new agent to be running before it answers. */
const START_TIMEOUT_MS = 15_000;
const DEFAULT_BACKOFF = Backoff.parse({});

export class AgentSpawner {
  readonly #registry: AgentRegistry;
  readonly #events: EventBus;
  readonly #runtime: SupervisionRuntime;
  readonly #agentsSupervisor: () => AnyActorRef | undefined;
  /** Agents waiting for their first start, by id: one bus listener serves them all. */
  readonly #waiting = new Map<number, (event: KernelEvent) => void>();

  constructor(deps: {
    registry: AgentRegistry;
    events: EventBus;
    runtime: SupervisionRuntime;
    agentsSupervisor: () => AnyActorRef | undefined;
  }) {
    this.#registry = deps.registry;
    this.#events = deps.events;
    this.#runtime = deps.runtime;
    this.#agentsSupervisor = deps.agentsSupervisor;
    this.#events.on((event) => {
      if (event.type !== 'AGENT_SPAWNED' && event.type !== 'AGENT_EXITED') return;
      if (event.source_agent_id !== null) this.#waiting.get(event.source_agent_id)?.(event);
    });
  }

  /** The child spec a supervisor holds for an agent record. */
  childFor(record: AgentRecord, launch: Launch, options: StartOptions): SupervisedChild {
    return {
      childId: `agent-${record.id}`,
      agentId: record.id,
      type: launch.kind === 'supervisor' ? 'supervisor' : 'worker',
      restart: options.restart,
      shutdown: options.shutdown ?? (launch.kind === 'supervisor' ? 'infinity' : 5000),
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      launch,
      ...(options.window && { window: options.window }),
    };
  }

  /**
   * Start an agent under the kernel's agents supervisor and wait until it runs. An agent
   * that cannot start at all is removed again and the reason thrown.
   */
  async start(record: AgentRecord, launch: Launch, options: StartOptions): Promise<FirstStart> {
    const supervisor = this.#agentsSupervisor();
    if (supervisor?.getSnapshot().status !== 'active') {
      this.#registry.remove(record.id);
      throw new KernelError('UNAVAILABLE', 'the kernel is not accepting new agents (starting or shutting down)');
    }
    if (launch.kind === 'process') this.#runtime.outputFor(record.id);
    const first = this.#firstOutcome(record.id);
    supervisor.send({ type: 'supervisor.startChild', child: this.childFor(record, launch, options) });
    const outcome = await first;
    if (outcome.type === 'AGENT_SPAWNED') return { pid: (outcome.data.pid as number | null) ?? null };
    const error = (outcome.data.error as string | undefined) ?? `it exited at once (${describeExit(outcome)})`;
    await this.stop(record, 'SIGKILL', 0).catch(() => {});
    throw new KernelError('UNAVAILABLE', `agent "${record.name}" could not start: ${error}`);
  }

  /** End an agent for good (its supervisor stops it, then forgets it); resolves once it is gone. */
  stop(record: AgentRecord, signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const runtime = record.runtime;
    if (!runtime) {
      this.#registry.remove(record.id);
      return Promise.resolve();
    }
    // Already removed by its supervisor (a temporary child that failed to start): nothing will announce it again.
    if (this.#registry.get(record.id) !== record) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const subscription = runtime.supervisor.on('supervisor.childRemoved', (event: { agentId: number }) => {
        if (event.agentId !== record.id) return;
        subscription.unsubscribe();
        resolve();
      });
      runtime.supervisor.send({ type: 'supervisor.terminateChild', childId: runtime.childId, signal, graceMs });
      // The supervisor already gone (kernel shutdown): nothing will announce the removal.
      if (runtime.supervisor.getSnapshot().status !== 'active') {
        subscription.unsubscribe();
        this.#registry.remove(record.id);
        resolve();
      }
    });
  }

  #firstOutcome(agentId: number): Promise<KernelEvent> {
    return new Promise((resolve) => {
      const done = (event: KernelEvent) => {
        this.#waiting.delete(agentId);
        clearTimeout(timer);
        resolve(event);
      };
      const timer = setTimeout(
        () =>
          done({
            id: 0,
            type: 'AGENT_EXITED',
            data: { error: `not running after ${START_TIMEOUT_MS} ms` },
            source_agent_id: agentId,
            timestamp: Date.now(),
          }),
        START_TIMEOUT_MS,
      );
      this.#waiting.set(agentId, done);
    });
  }
}

function describeExit(event: KernelEvent): string {
  const { exit_code: code, signal } = event.data as { exit_code?: number | null; signal?: string | null };
  return signal ? `signal ${signal}` : `exit code ${code}`;
}
