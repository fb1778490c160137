/**
 * Agents defined in code: `kernel.spawn(logic)` runs XState logic inside the kernel,
 * `kernel.spawnWorker(file)` runs a module in a worker thread, and `kernel.supervise()`
 * builds a supervision subtree. All are supervised exactly like process agents.
 */
import { isAbsolute, resolve } from 'node:path';
import type { AnyActorLogic } from 'xstate';
import type { SupervisionRuntime } from '../actors/supervision-runtime.js';
import type { SupervisedChild } from '../machines/supervisor.machine.js';
import { KernelError } from '../protocol/errors.js';
import type { Level } from '../protocol/schemas/permissions.js';
import {
  Backoff,
  type BackoffInput,
  type RestartType,
  type Shutdown,
  type SupervisorFlags,
  SupervisorSpec,
  type SupervisorSpecInput,
} from '../supervision/spec.js';
import type { Launch, ProcessLaunch } from './launch.js';
import type { AgentRecord, AgentRegistry } from './registry.js';
import type { AgentSpawner } from './spawner.js';

export interface AgentHandle {
  readonly id: number;
  readonly name: string;
  /** End the agent for good (its supervisor stops it and forgets it). */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
}

export interface CodeAgentOptions {
  name: string;
  /** OTP restart type (default permanent). */
  restart?: RestartType;
  /** At most this many restarts within `restartWindow` seconds, then the agent escalates and ends (default 5 in 300). */
  maxRestarts?: number;
  restartWindow?: number;
  backoff?: BackoffInput;
  shutdown?: Shutdown;
  /** Permission level of the agent's syscalls (default: the kernel's default level). */
  level?: Level;
  /** Passed to the logic (with `agentId` and `os`, its syscall client). */
  input?: Record<string, unknown>;
}

export interface ProcessDefinition {
  script: string;
  args?: string[];
  interpreter?: string;
  env?: Record<string, string>;
  cwd?: string;
  sandboxed?: boolean;
  network?: boolean;
}

/** One child of `kernel.supervise`: exactly one of actor, worker, process or supervise. */
export interface ChildDefinition {
  id: string;
  restart?: RestartType;
  shutdown?: Shutdown;
  backoff?: BackoffInput;
  /** With the supervisor's auto_shutdown: this child ending by itself ends the subtree. */
  significant?: boolean;
  level?: Level;
  actor?: AnyActorLogic;
  input?: Record<string, unknown>;
  worker?: string;
  process?: ProcessDefinition;
  supervise?: SuperviseDefinition;
}

export interface SuperviseDefinition extends Omit<SupervisorSpecInput, 'children'> {
  name: string;
  children: ChildDefinition[];
}

export interface CodeApiDeps {
  registry: AgentRegistry;
  spawner: AgentSpawner;
  runtime: SupervisionRuntime;
  defaultLevel: Level;
  cwd: string;
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

export class CodeAgents {
  readonly #deps: CodeApiDeps;

  constructor(deps: CodeApiDeps) {
    this.#deps = deps;
  }

  spawn(logic: AnyActorLogic, options: CodeAgentOptions): Promise<AgentHandle> {
    return this.#start('actor', { kind: 'actor', logic, input: options.input }, options);
  }

  spawnWorker(file: string, options: CodeAgentOptions): Promise<AgentHandle> {
    return this.#start('worker', { kind: 'worker', file: absolute(file, this.#deps.cwd), input: options.input }, options);
  }

  /** A supervision subtree under the kernel's agents supervisor; it ends for good if it escalates. */
  async supervise(definition: SuperviseDefinition): Promise<AgentHandle> {
    const { registry } = this.#deps;
    const created: AgentRecord[] = [];
    try {
      const record = registry.create({ kind: 'supervisor', name: definition.name, level: this.#deps.defaultLevel, cwd: this.#deps.cwd });
      created.push(record);
      const launch = this.#subtree(definition, record, created);
      await this.#deps.spawner.start(record, launch, { restart: 'temporary', shutdown: 'infinity' });
      return this.#handle(record);
    } catch (error) {
      for (const record of created) registry.remove(record.id);
      throw error;
    }
  }

  async #start(kind: 'actor' | 'worker', launch: Launch, options: CodeAgentOptions): Promise<AgentHandle> {
    const record = this.#deps.registry.create({
      kind,
      name: options.name,
      level: options.level ?? this.#deps.defaultLevel,
      cwd: this.#deps.cwd,
    });
    await this.#deps.spawner.start(record, launch, {
      restart: options.restart ?? 'permanent',
      window: { intensity: options.maxRestarts ?? 5, period: options.restartWindow ?? 300 },
      backoff: options.backoff ? Backoff.parse(options.backoff) : undefined,
      shutdown: options.shutdown,
    });
    return this.#handle(record);
  }

  /** Validate a definition the OTP way (errors name the child) and build its launch, creating a record per node. */
  #subtree(definition: SuperviseDefinition, owner: AgentRecord, created: AgentRecord[]): Launch & { kind: 'supervisor' } {
    const { children: definitions, name, ...flagsInput } = definition;
    const spec = SupervisorSpec.parse({
      ...flagsInput,
      children: definitions.map((child) => ({
        id: child.id,
        type: child.supervise ? 'supervisor' : 'worker',
        restart: child.restart,
        shutdown: child.shutdown ?? (child.supervise ? 'infinity' : undefined),
        backoff: child.backoff,
        significant: child.significant,
      })),
    });
    const { children: childSpecs, ...flags } = spec;
    const children: SupervisedChild[] = definitions.map((child, index) => {
      const childSpec = childSpecs[index] as (typeof childSpecs)[number];
      const kind = kindOf(child);
      const record = this.#deps.registry.create({
        kind,
        name: `${name}.${child.id}`,
        parentId: owner.id,
        level: child.level ?? this.#deps.defaultLevel,
        cwd: this.#deps.cwd,
      });
      created.push(record);
      const launch = this.#launchOf(child, record, created);
      if (launch.kind === 'process') this.#deps.runtime.outputFor(record.id);
      return {
        ...this.#deps.spawner.childFor(record, launch, {
          restart: childSpec.restart,
          shutdown: childSpec.shutdown ?? (childSpec.type === 'supervisor' ? 'infinity' : 5000),
          backoff: childSpec.backoff ?? flags.backoff,
        }),
        childId: child.id,
        significant: childSpec.significant,
      };
    });
    return { kind: 'supervisor', name, flags: flags as SupervisorFlags, children };
  }

  #launchOf(child: ChildDefinition, record: AgentRecord, created: AgentRecord[]): Launch {
    if (child.actor) return { kind: 'actor', logic: child.actor, input: child.input };
    if (child.worker) return { kind: 'worker', file: absolute(child.worker, this.#deps.cwd), input: child.input };
    if (child.supervise) return this.#subtree(child.supervise, record, created);
    const process = child.process as ProcessDefinition;
    const launch: ProcessLaunch = {
      kind: 'process',
      script: absolute(process.script, this.#deps.cwd),
      args: process.args ?? [],
      interpreter: process.interpreter,
      env: process.env ?? {},
      cwd: process.cwd ? absolute(process.cwd, this.#deps.cwd) : this.#deps.cwd,
      sandboxed: process.sandboxed ?? false,
      network: process.network ?? false,
    };
    return launch;
  }

  #handle(record: AgentRecord): AgentHandle {
    const spawner = this.#deps.spawner;
    return {
      id: record.id,
      name: record.name as string,
      stop: ({ signal = 'SIGTERM', graceMs = 5000 } = {}) => spawner.stop(record, signal, graceMs),
    };
  }
}

function kindOf(child: ChildDefinition): AgentRecord['kind'] {
  const kinds = (['actor', 'worker', 'process', 'supervise'] as const).filter((key) => child[key] !== undefined);
  if (kinds.length !== 1) {
    throw new KernelError(
      'INVALID_REQUEST',
      `child "${child.id}": give exactly one of actor, worker, process or supervise (got ${kinds.join(', ') || 'none'})`,
    );
  }
  return kinds[0] === 'supervise' ? 'supervisor' : (kinds[0] as 'actor' | 'worker' | 'process');
}
