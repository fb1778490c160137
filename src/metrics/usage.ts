/**
 * Per-agent usage counters that only their sources know: LLM calls and tokens (THINK),
 * bytes read and written (READ, WRITE), bytes on the network (HTTP, DOWNLOAD). Syscall
 * counts live on the AgentRecord (the router keeps them) and process samples in
 * ProcessSampler. Kernel-wide totals outlive the agents, so Prometheus counters never
 * go down when an agent ends.
 *
 * Counting is not limiting: a source that must respect a quota asks `kernel.quotas`.
 */
import type { AgentRegistry } from '../agents/registry.js';

export const USAGE_COUNTERS = ['llm_calls', 'llm_tokens_used', 'bytes_read', 'bytes_written', 'network_bytes'] as const;
export type UsageCounter = (typeof USAGE_COUNTERS)[number];
export type Usage = Record<UsageCounter, number>;

/** What a source needs to count its use: `kernel.metrics` (src/metrics/index.ts) is one. */
export interface AgentMetrics {
  add(agentId: number, counter: UsageCounter, n: number): void;
  /** What the agent has used since it started. */
  usage(agentId: number): Usage;
}

const zero = (): Usage => ({ llm_calls: 0, llm_tokens_used: 0, bytes_read: 0, bytes_written: 0, network_bytes: 0 });

export class UsageCounters implements AgentMetrics {
  readonly #byAgent = new Map<number, Usage>();
  readonly #totals = zero();

  constructor(deps: { registry: AgentRegistry }) {
    deps.registry.onRemove((record) => this.#byAgent.delete(record.id));
  }

  /** `n` more units of `counter` used by `agentId` (a negative or non-finite `n` is ignored). */
  add(agentId: number, counter: UsageCounter, n: number): void {
    if (!(n > 0) || !Number.isFinite(n)) return;
    let usage = this.#byAgent.get(agentId);
    if (usage === undefined) {
      usage = zero();
      this.#byAgent.set(agentId, usage);
    }
    usage[counter] += n;
    this.#totals[counter] += n;
  }

  /** What the agent has used since it started (zeros for one that used nothing). */
  usage(agentId: number): Usage {
    const usage = this.#byAgent.get(agentId);
    return usage ? { ...usage } : zero();
  }

  /** Everything every agent has used since the kernel started, ended agents included. */
  totals(): Usage {
    return { ...this.#totals };
  }
}
