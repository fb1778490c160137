/**
 * METRICS, METRICS_ALL, SET_QUOTA, METRICS_SYSTEM and METRICS_CGROUP (protocol.md §5).
 *
 * A quota bounds how much of one resource an agent may use in a fixed window of time:
 * `{ limit, window_s, on_exceed }`. The window starts when the quota is set and restarts
 * every `window_s` seconds; what was used in it is forgotten at each restart.
 */
import { z } from 'zod';

/** What a quota can bound: calls and tokens of THINK, syscalls, and bytes moved. */
export const QUOTA_RESOURCES = ['llm_calls', 'llm_tokens', 'syscalls', 'bytes_read', 'bytes_written', 'network_bytes'] as const;
export const QuotaResource = z.enum(QUOTA_RESOURCES, { error: `expected a quota resource: ${QUOTA_RESOURCES.join(', ')}` });
export type QuotaResource = z.infer<typeof QuotaResource>;

/** A day: a longer window would hold a suspended agent longer than anyone waits for. */
export const MAX_WINDOW_S = 86_400;

export const OnExceed = z.enum(['refuse', 'suspend'], { error: 'expected on_exceed "refuse" or "suspend"' });
export type OnExceed = z.infer<typeof OnExceed>;

export const QuotaRule = z.strictObject(
  {
    limit: z
      .number({ error: 'expected a limit (a number)' })
      .int('expected a whole-number limit')
      .positive('expected a positive limit')
      .max(Number.MAX_SAFE_INTEGER, 'expected a limit below 2^53'),
    window_s: z
      .number({ error: 'expected window_s (a number of seconds)' })
      .int('expected a whole number of seconds')
      .positive('expected a positive window_s')
      .max(MAX_WINDOW_S, `expected a window_s of at most ${MAX_WINDOW_S} seconds (a day)`)
      .default(60),
    /** `refuse`: the call fails with QUOTA_EXCEEDED. `suspend`: the agent waits until the window restarts. */
    on_exceed: OnExceed.default('refuse'),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected a quota { limit, window_s, on_exceed } or null (remove it)' : undefined) },
);
export type QuotaRule = z.infer<typeof QuotaRule>;

/** SET_QUOTA's `quota`: a rule per resource; null removes that resource's quota; absent ones stay as they were. */
export const QuotaSpec = z.strictObject(
  Object.fromEntries(QUOTA_RESOURCES.map((resource) => [resource, QuotaRule.nullable().optional()])) as Record<
    QuotaResource,
    z.ZodOptional<z.ZodNullable<typeof QuotaRule>>
  >,
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown quota resource ${issue.keys.map((k) => `"${k}"`).join(', ')}: expected ${QUOTA_RESOURCES.join(', ')}`;
      }
      if (issue.code === 'invalid_type') return `expected an object of quotas by resource (${QUOTA_RESOURCES.join(', ')})`;
      return undefined;
    },
  },
);
export type QuotaSpec = z.infer<typeof QuotaSpec>;

const agentId = z
  .number({ error: 'expected an agent id (a number)' })
  .int('expected a whole-number agent id')
  .positive('expected a positive agent id');

export const SetQuotaRequest = z.object({ agent_id: agentId, quota: QuotaSpec });
export type SetQuotaRequest = z.infer<typeof SetQuotaRequest>;

/** METRICS: one's own metrics, or those of a descendant (any agent with the admin token). */
export const MetricsRequest = z.object({ agent_id: agentId.optional() });

/** METRICS_CGROUP: the kernel's own cgroup, or an agent's. */
export const CgroupMetricsRequest = z.object({ agent_id: agentId.optional() });

// Replies. The kernel builds them (src/metrics, src/syscalls/metrics.ts); the SDK's types come from here.

const count = z.number().int().nonnegative();
const maybe = z.number().nullable();
/** Figure → why it is null. */
const Unavailable = z.record(z.string(), z.string());

export const QuotaView = QuotaRule.extend({ used: z.number(), resets_at: z.number() });
export type QuotaView = z.infer<typeof QuotaView>;

export const AgentMetrics = z.object({
  timestamp: z.number(),
  agent_id: z.number(),
  name: z.string().nullable(),
  kind: z.string(),
  level: z.string(),
  status: z.string(),
  pid: z.number().nullable(),
  parent_id: z.number().nullable(),
  restarts: count,
  uptime_ms: z.number(),
  sandboxed: z.boolean(),
  syscall_count: count,
  syscalls_denied: count,
  syscalls_failed: count,
  syscalls_by_op: z.record(z.string(), count),
  llm_calls: count,
  llm_tokens_used: count,
  bytes_read: count,
  bytes_written: count,
  network_bytes: count,
  memory_bytes: maybe,
  cpu_time_ms: maybe,
  cpu_percent: maybe,
  process: z
    .object({
      pid: z.number(),
      pgrp: z.number(),
      processes: count,
      memory_source: z.enum(['cgroup', 'proc']),
      rss_bytes: z.number(),
      stopped: z.boolean(),
      throttled: z.boolean(),
      throttle_duty: maybe,
      sampled_at: z.number(),
    })
    .nullable(),
  limits: z.object({ memory_bytes: maybe, cpu_percent: maybe, llm_calls_per_min: maybe }),
  quotas: z.record(z.string(), QuotaView),
  kernel_stats: z.object({
    syscall_count: count,
    llm_calls: count,
    llm_tokens_used: count,
    bytes_read: count,
    bytes_written: count,
    network_bytes: count,
  }),
  unavailable: Unavailable,
});
export type AgentMetrics = z.infer<typeof AgentMetrics>;

export const MetricsReply = z.object({ success: z.literal(true), metrics: AgentMetrics });

export const MetricsAllReply = z.object({
  success: z.literal(true),
  agents: z.array(AgentMetrics),
  count,
  kernel: z.object({
    version: z.string(),
    pid: z.number(),
    uptime_ms: z.number(),
    agents: count,
    syscall_count: count,
    syscalls_denied: count,
    syscalls_failed: count,
    llm_calls: count,
    llm_tokens_used: count,
    bytes_read: count,
    bytes_written: count,
    network_bytes: count,
    workers: z.object({ threads: count, queued: count, completed: count }),
  }),
});

export const SetQuotaReply = z.object({ success: z.literal(true), agent_id: z.number(), quota: z.record(z.string(), QuotaView) });

export const InterfaceCounters = z.object({
  name: z.string(),
  rx_bytes: z.number(),
  rx_packets: z.number(),
  rx_errors: z.number(),
  tx_bytes: z.number(),
  tx_packets: z.number(),
  tx_errors: z.number(),
});
export type InterfaceCounters = z.infer<typeof InterfaceCounters>;

export const SystemMetrics = z.object({
  timestamp: z.number(),
  cpu: z.object({
    /** Busy share of all cores since the previous reading (since boot on the first). */
    percent: maybe,
    /** The interval that percent covers, in ms (null: since boot). */
    interval_ms: maybe,
    count,
    load_avg: z.tuple([z.number(), z.number(), z.number()]).nullable(),
  }),
  memory: z.object({
    total_bytes: maybe,
    available_bytes: maybe,
    used_bytes: maybe,
    percent: maybe,
    buffers_bytes: maybe,
    cached_bytes: maybe,
    swap_total_bytes: maybe,
    swap_used_bytes: maybe,
  }),
  disk: z.object({
    /** The kernel's data directory: its file system is the one measured. */
    path: z.string(),
    total_bytes: maybe,
    free_bytes: maybe,
    available_bytes: maybe,
    used_bytes: maybe,
    percent: maybe,
  }),
  network: z.object({
    /** Totals over every interface but loopback, since boot. */
    rx_bytes: maybe,
    tx_bytes: maybe,
    rx_packets: maybe,
    tx_packets: maybe,
    rx_errors: maybe,
    tx_errors: maybe,
    interfaces: z.array(InterfaceCounters),
  }),
  kernel: z.object({
    pid: z.number(),
    uptime_ms: z.number(),
    rss_bytes: z.number(),
    heap_used_bytes: z.number(),
    cpu_user_ms: z.number(),
    cpu_system_ms: z.number(),
  }),
  unavailable: Unavailable,
});
export type SystemMetrics = z.infer<typeof SystemMetrics>;

export const SystemMetricsReply = z.object({ success: z.literal(true), metrics: SystemMetrics });

export const CgroupFigures = z.object({
  /** `hybrid` when the figures come from both hierarchies. */
  version: z.enum(['v1', 'v2', 'hybrid']),
  /** The directories read, by controller. */
  paths: z.record(z.string(), z.string()),
  memory: z.object({ current_bytes: maybe, max_bytes: maybe, peak_bytes: maybe, oom_kills: maybe }).nullable(),
  cpu: z
    .object({
      usage_usec: maybe,
      user_usec: maybe,
      system_usec: maybe,
      /** CPU time per period the group may use; null: no quota. */
      quota_usec: maybe,
      period_usec: maybe,
      nr_periods: maybe,
      nr_throttled: maybe,
      throttled_usec: maybe,
    })
    .nullable(),
  pids: z.object({ current: maybe, max: maybe }).nullable(),
  unavailable: Unavailable,
});
export type CgroupFigures = z.infer<typeof CgroupFigures>;

export const CgroupMetricsReply = z.object({
  success: z.literal(true),
  scope: z.enum(['kernel', 'agent']),
  agent_id: z.number().nullable(),
  available: z.boolean(),
  /** Why an agent has no figures of its own. */
  reason: z.string().optional(),
  metrics: CgroupFigures.nullable(),
});
