/**
 * Holds process agents to their memory and CPU limits, from each sample of the
 * ProcessSampler. A limit is the smaller of the agent's permissions
 * (`max_memory_bytes`, `max_cpu_percent`) and its SPAWN `limits` (`memory_bytes`,
 * `cpu_percent`), and the limits of the world it is in (`resources.memory_limit`,
 * `cpu_limit`, each a cap per member); a cgroup may enforce the SPAWN limits already, and
 * this is the backstop wherever none does.
 *
 * Policies (kernel option `resources`): memory over its limit kills the agent (its
 * supervisor then decides on a restart, as after the OOM killer) or only warns; CPU over
 * its share is throttled (a SIGSTOP/SIGCONT duty cycle), killed, or only warned about.
 * Each crossing emits QUOTA_EXCEEDED with the action taken; 80 % emits RESOURCE_WARNING.
 */
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { AgentSlotContext } from '../machines/agent.machine.js';
import type { ResourceWarnings } from '../resources/warnings.js';
import type { ProcessSample, ProcessSampler } from './process-sampler.js';
import { Throttle } from './throttle.js';

export const MEMORY_POLICIES = ['kill', 'warn'] as const;
export const CPU_POLICIES = ['throttle', 'kill', 'warn'] as const;
export type MemoryPolicy = (typeof MEMORY_POLICIES)[number];
export type CpuPolicy = (typeof CPU_POLICIES)[number];

export interface EffectiveLimits {
  memory_bytes: number | null;
  cpu_percent: number | null;
}

/** Limits from outside the agent's own: its world's. */
export type OuterLimits = (agentId: number) => Partial<EffectiveLimits> | undefined;

/** The limits the enforcer holds a process agent to. */
export function effectiveLimits(agent: AgentRecord, outer?: Partial<EffectiveLimits>): EffectiveLimits {
  const launch = (agent.runtime?.slot.getSnapshot().context as AgentSlotContext | undefined)?.launch as
    | { limits?: { memory_bytes?: number; cpu_percent?: number } }
    | undefined;
  return {
    memory_bytes: smaller(smaller(agent.permissions.max_memory_bytes, launch?.limits?.memory_bytes), outer?.memory_bytes),
    cpu_percent: smaller(smaller(agent.permissions.max_cpu_percent, launch?.limits?.cpu_percent), outer?.cpu_percent),
  };
}

function smaller(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null) return b ?? null;
  if (b == null) return a;
  return Math.min(a, b);
}

interface Enforced {
  /** The run these belong to. */
  pid: number;
  /** Limits over which the agent is (one event per crossing). */
  readonly over: Set<'memory' | 'cpu'>;
  throttle: Throttle | null;
  killed: boolean;
}

export class ResourceEnforcer {
  readonly #bus: EventBus;
  readonly #warnings: ResourceWarnings;
  readonly #log: Logger;
  readonly #memoryPolicy: MemoryPolicy;
  readonly #cpuPolicy: CpuPolicy;
  readonly #outerLimits: OuterLimits | undefined;
  readonly #agents = new Map<number, Enforced>();
  readonly #unsubscribe: () => void;

  constructor(deps: {
    sampler: ProcessSampler;
    registry: AgentRegistry;
    bus: EventBus;
    warnings: ResourceWarnings;
    log: Logger;
    memoryPolicy: MemoryPolicy;
    cpuPolicy: CpuPolicy;
    outerLimits?: OuterLimits | undefined;
  }) {
    this.#outerLimits = deps.outerLimits;
    this.#bus = deps.bus;
    this.#warnings = deps.warnings;
    this.#log = deps.log.child({ component: 'resource-enforcer' });
    this.#memoryPolicy = deps.memoryPolicy;
    this.#cpuPolicy = deps.cpuPolicy;
    this.#unsubscribe = deps.sampler.onSample((agent, sample) => this.#enforce(agent, sample));
    deps.registry.onRemove((record) => this.#forget(record.id));
  }

  /** The duty (0.02-1) an agent runs at while throttled; undefined when it is not. */
  throttleDuty(agentId: number): number | undefined {
    return this.#agents.get(agentId)?.throttle?.duty;
  }

  close(): void {
    this.#unsubscribe();
    for (const id of [...this.#agents.keys()]) this.#forget(id);
  }

  #enforce(agent: AgentRecord, sample: ProcessSample): void {
    let state = this.#agents.get(agent.id);
    if (state?.pid !== sample.pid) {
      if (state) this.#forget(agent.id);
      state = { pid: sample.pid, over: new Set(), throttle: null, killed: false };
      this.#agents.set(agent.id, state);
    }
    if (state.killed) return;
    const limits = effectiveLimits(agent, this.#outerLimits?.(agent.id));

    if (limits.memory_bytes !== null) {
      this.#warnings.observe(agent.id, 'memory', sample.memory_bytes, limits.memory_bytes);
      if (sample.memory_bytes > limits.memory_bytes) {
        if (!state.over.has('memory')) {
          state.over.add('memory');
          const action = this.#memoryPolicy === 'kill' ? 'kill' : 'none';
          this.#exceeded(agent, 'memory', action, sample.memory_bytes, limits.memory_bytes, `${sample.memory_source} memory`);
          if (action === 'kill') {
            this.#kill(state, sample);
            return;
          }
        }
      } else state.over.delete('memory');
    }

    if (limits.cpu_percent === null || sample.cpu_percent === null) {
      if (limits.cpu_percent === null) this.#unthrottle(state);
      return;
    }
    this.#warnings.observe(agent.id, 'cpu', sample.cpu_percent, limits.cpu_percent);
    const over = sample.cpu_percent > limits.cpu_percent;
    if (over && !state.over.has('cpu')) {
      state.over.add('cpu');
      const action = this.#cpuPolicy === 'warn' ? 'none' : this.#cpuPolicy;
      this.#exceeded(agent, 'cpu', action, sample.cpu_percent, limits.cpu_percent, 'percent of one core');
      if (action === 'kill') {
        this.#kill(state, sample);
        return;
      }
    }
    if (this.#cpuPolicy === 'throttle' && (over || state.throttle !== null)) {
      state.throttle ??= new Throttle({
        signal: (signal) => signalAgent(sample, signal),
        mayRun: () => agent.runtime?.slot.getSnapshot().matches({ alive: 'running' }) === true,
      });
      if (!state.throttle.adjust(sample.cpu_percent, limits.cpu_percent)) this.#unthrottle(state);
    }
    if (!over && state.throttle === null) state.over.delete('cpu');
  }

  #exceeded(agent: AgentRecord, resource: 'memory' | 'cpu', action: string, used: number, limit: number, unit: string): void {
    const verb = action === 'kill' ? 'killed' : action === 'throttle' ? 'throttled' : 'left running (policy "warn")';
    const reason = `agent ${agent.id} uses ${used} of its ${limit} limit (${unit}); it is ${verb}`;
    this.#log.warn({ audit: 'resource_limit', agent_id: agent.id, resource, used, limit, action }, 'resource limit exceeded');
    this.#bus.emit('QUOTA_EXCEEDED', { agent_id: agent.id, op: null, resource, action, used, limit, reason }, agent.id);
  }

  #kill(state: Enforced, sample: ProcessSample): void {
    state.killed = true;
    this.#unthrottle(state);
    signalAgent(sample, 'SIGKILL');
  }

  #unthrottle(state: Enforced): void {
    state.throttle?.stop();
    state.throttle = null;
  }

  #forget(agentId: number): void {
    const state = this.#agents.get(agentId);
    if (!state) return;
    this.#unthrottle(state);
    this.#agents.delete(agentId);
  }
}

/**
 * Signal everything the agent runs: each process group one of its processes leads (the
 * root's, when it was started detached, and, inside bwrap, the agent's own: bwrap's new
 * session puts it in a group of its own, which bwrap's group does not reach), and each
 * process sampled in a group led from elsewhere, so the kernel's own group is never hit.
 */
function signalAgent(sample: ProcessSample, signal: NodeJS.Signals): void {
  for (const target of sample.targets) {
    try {
      process.kill(target, signal);
    } catch {
      // Gone already.
    }
  }
}
