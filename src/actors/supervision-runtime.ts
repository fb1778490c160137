/**
 * Brings the agent and supervisor machines to life for one kernel: provides the `run`
 * actor (a runner per kind of launch), starts supervisors, and watches what they emit,
 * keeping the agent registry current and turning lifecycle changes into AGENT_* events.
 */
import { type ActorRefFrom, type AnyActorRef, createActor, fromCallback } from 'xstate';
import type { Launch, SupervisorLaunch } from '../agents/launch.js';
import { OutputLog } from '../agents/output-log.js';
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import { type AgentSlotEmitted, agentMachine, type RunCommand, type RunInput } from '../machines/agent.machine.js';
import { type SupervisorEmitted, supervisorMachine } from '../machines/supervisor.machine.js';
import type { IsolationReport } from '../protocol/schemas/isolation.js';
import type { ProcessLauncher } from '../workers/launcher.js';
import { actorRunner } from './runners/actor.js';
import { processRunner } from './runners/process.js';
import type { Runner } from './runners/runner.js';
import { supervisorRunner } from './runners/supervisor.js';
import { workerRunner } from './runners/worker.js';

export interface SupervisionDeps {
  registry: AgentRegistry;
  events: EventBus;
  log: Logger;
  socketPath: string;
  allowDegradedIsolation: boolean;
  launcher: ProcessLauncher;
  /** Root actors it creates are handed to the inspection hub. */
  track?: ((actor: AnyActorRef) => void) | undefined;
  /** What an in-kernel agent's logic gets as input: its id and a syscall client. */
  agentInput(agentId: number, extra: unknown): Record<string, unknown>;
}

/** How many ended agents' output logs are kept (each at most an OutputLog's bound). */
const ENDED_OUTPUTS_KEPT = 32;

export type ProvidedSupervisorMachine = ReturnType<typeof supervisorMachine.provide>;
export type SupervisorRef = ActorRefFrom<ProvidedSupervisorMachine>;

export class SupervisionRuntime {
  readonly supervisorMachine: ProvidedSupervisorMachine;
  readonly #deps: SupervisionDeps;
  readonly #outputs = new Map<number, OutputLog>();
  /** The last lines of agents that ended for good, so `logs -f` sees the end (a few, by id). */
  readonly #endedOutputs = new Map<number, { record: AgentRecord; log: OutputLog }>();
  readonly #isolation = new Map<number, IsolationReport>();
  readonly #subtrees = new Map<number, AnyActorRef>();
  readonly #actors = new Map<number, AnyActorRef>();
  /** The agents of each subtree, removed with it when it ends for good. */
  readonly #members = new Map<number, number[]>();

  constructor(deps: SupervisionDeps) {
    this.#deps = deps;
    const runners: { [K in Launch['kind']]: Runner<Extract<Launch, { kind: K }>> } = {
      process: processRunner({
        registry: deps.registry,
        socketPath: deps.socketPath,
        allowDegradedIsolation: deps.allowDegradedIsolation,
        launcher: deps.launcher,
        log: deps.log,
        outputOf: (agentId) => this.#outputs.get(agentId) ?? null,
        onIsolation: (agentId, report) => this.#isolation.set(agentId, report),
      }),
      actor: actorRunner({
        agentInput: deps.agentInput,
        track: deps.track,
        onActor: (agentId, actor) => (actor ? this.#actors.set(agentId, actor) : this.#actors.delete(agentId)),
      }),
      worker: workerRunner({ agentInput: deps.agentInput, log: deps.log }),
      supervisor: supervisorRunner({ startSupervisor: (agentId, launch) => this.startSupervisor(agentId, launch) }),
    };
    const run = fromCallback<RunCommand, RunInput>(({ input, sendBack, receive }) => {
      const launch = input.launch as Launch;
      const runner = runners[launch.kind] as Runner<Launch>;
      return runner({ input: { ...input, launch }, sendBack, receive });
    });
    const agent = agentMachine.provide({ actors: { run } });
    this.supervisorMachine = supervisorMachine.provide({ actors: { agent } });
  }

  /** A process agent's output log, created on first use and kept across its restarts. */
  outputFor(agentId: number): OutputLog {
    let log = this.#outputs.get(agentId);
    if (!log) {
      log = new OutputLog();
      this.#outputs.set(agentId, log);
    }
    return log;
  }

  output(agentId: number): OutputLog | undefined {
    return this.#outputs.get(agentId);
  }

  /** The record and output log of a process agent that ended for good, while kept. */
  endedOutput(agentId: number): { record: AgentRecord; log: OutputLog } | undefined {
    return this.#endedOutputs.get(agentId);
  }

  isolation(agentId: number): IsolationReport | undefined {
    return this.#isolation.get(agentId);
  }

  /** The live supervisor of a subtree agent. */
  subtree(agentId: number): AnyActorRef | undefined {
    return this.#subtrees.get(agentId);
  }

  /** The live actor of an in-kernel agent. */
  actor(agentId: number): AnyActorRef | undefined {
    return this.#actors.get(agentId);
  }

  /** Create, watch and start a supervisor actor (a subtree's, or a top-level one). */
  startSupervisor(agentId: number, launch: SupervisorLaunch): SupervisorRef {
    const ref = createActor(this.supervisorMachine, {
      input: { name: launch.name, agentId, flags: launch.flags, children: launch.children },
    });
    this.#deps.track?.(ref);
    this.watch(ref);
    this.#subtrees.set(agentId, ref);
    this.#members.set(
      agentId,
      launch.children.map((child) => child.agentId),
    );
    ref.subscribe({ complete: () => this.#subtrees.delete(agentId), error: () => this.#subtrees.delete(agentId) });
    ref.start();
    return ref;
  }

  /** Keep the registry and the event bus in step with what a supervisor does. */
  watch(supervisor: AnyActorRef): void {
    const { registry, events } = this.#deps;
    supervisor.on('*', (emitted: SupervisorEmitted) => {
      switch (emitted.type) {
        case 'supervisor.childSpawned': {
          const record = registry.get(emitted.agentId);
          if (record) {
            record.runtime = { slot: emitted.ref, supervisor, childId: emitted.childId, log: this.#outputs.get(emitted.agentId) ?? null };
          }
          this.#watchSlot(emitted.ref);
          break;
        }
        case 'supervisor.childRemoved': {
          this.#forget(emitted.agentId, emitted.why);
          break;
        }
        case 'supervisor.escalated': {
          const record = registry.get(emitted.agentId);
          events.emit(
            'AGENT_ESCALATED',
            {
              agent_id: emitted.agentId,
              name: record?.name ?? emitted.name,
              child_id: emitted.childId,
              reason: emitted.reason.kind,
              ...(emitted.reason.kind === 'crash' && emitted.reason.error !== undefined && { error: emitted.reason.error }),
            },
            emitted.agentId || null,
          );
          break;
        }
      }
    });
  }

  /** Ended for good: the name is released and the id retired, with its subtree's members. */
  #forget(agentId: number, why: string): void {
    const record = this.#deps.registry.remove(agentId);
    const output = this.#outputs.get(agentId);
    this.#outputs.delete(agentId);
    if (record && output) {
      this.#endedOutputs.set(agentId, { record, log: output });
      const oldest = this.#endedOutputs.keys().next().value as number;
      if (this.#endedOutputs.size > ENDED_OUTPUTS_KEPT) this.#endedOutputs.delete(oldest);
    }
    this.#isolation.delete(agentId);
    this.#deps.log.debug({ agent_id: agentId, why, name: record?.name }, 'agent removed');
    const members = this.#members.get(agentId);
    this.#members.delete(agentId);
    for (const member of members ?? []) this.#forget(member, 'its supervisor ended');
  }

  #watchSlot(slot: ActorRefFrom<typeof agentMachine>): void {
    const { registry, events } = this.#deps;
    const nameOf = (agentId: number) => registry.get(agentId)?.name ?? null;
    slot.on('*', (emitted: AgentSlotEmitted) => {
      const id = emitted.agentId;
      switch (emitted.type) {
        case 'agent.started':
          events.emit(
            'AGENT_SPAWNED',
            { agent_id: id, name: nameOf(id), kind: registry.get(id)?.kind, pid: emitted.pid, restarts: emitted.restarts },
            id,
          );
          break;
        case 'agent.exited': {
          const { exit } = emitted;
          events.emit(
            'AGENT_EXITED',
            {
              agent_id: id,
              name: nameOf(id),
              exit_code: exit.exitCode,
              signal: exit.signal,
              reason: exit.reason.kind,
              uptime_ms: exit.uptimeMs,
              ...(exit.error !== undefined && { error: exit.error }),
            },
            id,
          );
          break;
        }
        case 'agent.paused':
          events.emit('AGENT_PAUSED', { agent_id: id, name: nameOf(id) }, id);
          break;
        case 'agent.resumed':
          events.emit('AGENT_RESUMED', { agent_id: id, name: nameOf(id) }, id);
          break;
        case 'agent.restarting':
          events.emit('AGENT_RESTARTING', { agent_id: id, name: nameOf(id), restarts: emitted.restarts, delay_ms: emitted.delayMs }, id);
          break;
        case 'agent.terminated':
          break;
      }
    });
  }
}
