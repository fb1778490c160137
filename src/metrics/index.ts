/**
 * The kernel's metrics, assembled: usage counters that sources add to, process samples
 * of process agents and the enforcement of their memory and CPU limits, and readings of
 * the machine. Handlers and the Prometheus endpoint read from here.
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { ResourceWarnings } from '../resources/warnings.js';
import { type CpuPolicy, type MemoryPolicy, type OuterLimits, ResourceEnforcer } from './enforcer.js';
import { type ProcessSample, ProcessSampler } from './process-sampler.js';
import { SystemSampler } from './system.js';
import { type AgentMetrics, type Usage, type UsageCounter, UsageCounters } from './usage.js';

export { USAGE_COUNTERS } from './usage.js';
export type { AgentMetrics, ProcessSample, Usage, UsageCounter };

export interface MetricsOptions {
  registry: AgentRegistry;
  bus: EventBus;
  warnings: ResourceWarnings;
  log: Logger;
  dataDir: string;
  startedAt: number;
  sampleIntervalMs: number;
  memoryPolicy: MemoryPolicy;
  cpuPolicy: CpuPolicy;
  /** Limits from outside an agent's own (its world's), read at each sample. */
  outerLimits?: OuterLimits | undefined;
}

/** Syscall counts of agents that have ended, so kernel-wide totals never go down. */
interface Retired {
  syscalls: number;
  denied: number;
  failed: number;
}

export class Metrics implements AgentMetrics {
  readonly #usage: UsageCounters;
  readonly processes: ProcessSampler;
  readonly enforcer: ResourceEnforcer;
  readonly system: SystemSampler;
  readonly #registry: AgentRegistry;
  readonly #retired: Retired = { syscalls: 0, denied: 0, failed: 0 };

  constructor(options: MetricsOptions) {
    this.#registry = options.registry;
    this.#usage = new UsageCounters({ registry: options.registry });
    this.processes = new ProcessSampler({ registry: options.registry, log: options.log, intervalMs: options.sampleIntervalMs });
    this.enforcer = new ResourceEnforcer({
      sampler: this.processes,
      registry: options.registry,
      bus: options.bus,
      warnings: options.warnings,
      log: options.log,
      memoryPolicy: options.memoryPolicy,
      cpuPolicy: options.cpuPolicy,
      outerLimits: options.outerLimits,
    });
    this.system = new SystemSampler({ dataDir: options.dataDir, startedAt: options.startedAt });
    options.registry.onRemove((record) => {
      this.#retired.syscalls += record.counters.total;
      this.#retired.denied += record.counters.denied;
      this.#retired.failed += record.counters.failed;
    });
  }

  /**
   * `n` more units used by an agent: `llm_calls` and `llm_tokens_used` (THINK),
   * `bytes_read` and `bytes_written` (READ, WRITE), `network_bytes` (HTTP, DOWNLOAD).
   * Counting only: a source bounded by a quota asks `kernel.quotas` too.
   */
  add(agentId: number, counter: UsageCounter, n: number): void {
    this.#usage.add(agentId, counter, n);
  }

  usage(agentId: number): Usage {
    return this.#usage.usage(agentId);
  }

  /** Kernel-wide totals since start, ended agents included. */
  totals(): Usage & Retired {
    const live = { syscalls: 0, denied: 0, failed: 0 };
    for (const agent of this.#registry) {
      live.syscalls += agent.counters.total;
      live.denied += agent.counters.denied;
      live.failed += agent.counters.failed;
    }
    return {
      ...this.#usage.totals(),
      syscalls: this.#retired.syscalls + live.syscalls,
      denied: this.#retired.denied + live.denied,
      failed: this.#retired.failed + live.failed,
    };
  }

  /** The agent's process sample, read now when the last one is older than the sampling interval. */
  async processSample(agentId: number): Promise<ProcessSample | undefined> {
    const last = this.processes.last(agentId);
    if (last && Date.now() - last.sampled_at < this.processes.intervalMs) return last;
    await this.processes.tick();
    return this.processes.last(agentId);
  }

  start(): void {
    this.processes.start();
  }

  close(): void {
    this.enforcer.close();
    this.processes.close();
  }
}
