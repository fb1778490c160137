/** Metrics and quotas (docs/protocol.md, Metrics and quotas): METRICS, METRICS_ALL, SET_QUOTA, METRICS_SYSTEM, METRICS_CGROUP. */
import { Op } from '../../protocol/opcodes.js';
import type {
  CgroupMetricsReply,
  MetricsAllReply,
  MetricsReply,
  QuotaSpec,
  SetQuotaReply,
  SystemMetricsReply,
} from '../../protocol/schemas/metrics.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const metricsMethods = ({ call }: Context) => ({
  /**
   * METRICS: this agent's metrics, or another's when this agent spawned it (or an
   * ancestor did) or holds the admin token. Rejects with NOT_FOUND or PERMISSION_DENIED.
   */
  metrics(agentId?: number): Promise<Reply<typeof MetricsReply>> {
    return call(Op.METRICS, agentId === undefined ? {} : { agent_id: agentId });
  },

  /** METRICS_ALL: every agent's metrics and the kernel's totals. Admin only (PERMISSION_DENIED). */
  metricsAll(): Promise<Reply<typeof MetricsAllReply>> {
    return call(Op.METRICS_ALL, {});
  },

  /**
   * SET_QUOTA: per-window quotas of an agent, merged into its own (`null` removes one).
   * Admin only (PERMISSION_DENIED); INVALID_REQUEST naming a bad field; NOT_FOUND.
   */
  setQuota(agentId: number, quota: Request<typeof QuotaSpec>): Promise<Reply<typeof SetQuotaReply>> {
    return call(Op.SET_QUOTA, { agent_id: agentId, quota });
  },

  /** METRICS_SYSTEM: the machine's CPU, memory, load, disk and network, and the kernel process. */
  systemMetrics(): Promise<Reply<typeof SystemMetricsReply>> {
    return call(Op.METRICS_SYSTEM, {});
  },

  /** METRICS_CGROUP: the kernel's cgroup figures, or an agent's (reachable as for `metrics`). */
  cgroupMetrics(agentId?: number): Promise<Reply<typeof CgroupMetricsReply>> {
    return call(Op.METRICS_CGROUP, agentId === undefined ? {} : { agent_id: agentId });
  },
});
