/**
 * RESOURCE_WARNING (protocol.md §7): emitted once when an agent's use of a bounded
 * resource reaches 80 % of its limit, so the agent can act before the limit refuses it
 * (QUOTA_EXCEEDED). It is not repeated while the use stays high; it re-arms once the use
 * falls below half the limit, so a resource hovering around 80 % does not flood
 * subscribers.
 *
 * Sources report every change of use (`observe`); the cost is one map lookup.
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { QuotaResource } from '../protocol/schemas/metrics.js';

/** The share of a limit at which the warning is emitted. */
export const WARNING_RATIO = 0.8;
/** The share below which a warned resource may warn again. */
export const REARM_RATIO = 0.5;

/**
 * What is watched: a mailbox's waiting messages, an event subscription's queued events,
 * an agent's state-store keys; the use of each quota in its window (src/quotas) and
 * the LLM calls of this minute (permissions.max_llm_calls_per_min); a process agent's
 * memory and CPU share against its limits (src/metrics/enforcer.ts).
 */
export type WatchedResource = 'mailbox' | 'event_queue' | 'state_keys' | QuotaResource | 'llm_calls_per_min' | 'memory' | 'cpu';

export class ResourceWarnings {
  readonly #bus: EventBus;
  /** Agent id → the resources warned about and not yet re-armed. */
  readonly #warned = new Map<number, Set<WatchedResource>>();

  constructor(deps: { bus: EventBus; registry: AgentRegistry }) {
    this.#bus = deps.bus;
    deps.registry.onRemove((record) => this.#warned.delete(record.id));
  }

  /** `used` of `limit` units of `resource` are now in use by `agentId`. */
  observe(agentId: number, resource: WatchedResource, used: number, limit: number): void {
    if (!(limit > 0)) return;
    const warned = this.#warned.get(agentId);
    if (used >= limit * WARNING_RATIO) {
      if (warned?.has(resource)) return;
      if (warned) warned.add(resource);
      else this.#warned.set(agentId, new Set([resource]));
      const data = { agent_id: agentId, resource, used, limit, percent: Math.floor((used / limit) * 100) };
      // A source may be in the middle of routing another event (an event queue filling
      // up): emitting from there would nest one event's delivery inside another's.
      queueMicrotask(() => this.#bus.emit('RESOURCE_WARNING', data, agentId));
    } else if (warned !== undefined && used < limit * REARM_RATIO && warned.delete(resource) && warned.size === 0) {
      this.#warned.delete(agentId);
    }
  }

  /** Agents with a warning outstanding (for tests: nothing outlives its agent). */
  get size(): number {
    return this.#warned.size;
  }
}
