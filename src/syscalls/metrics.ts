/**
 * METRICS, METRICS_ALL, SET_QUOTA, METRICS_SYSTEM and METRICS_CGROUP (protocol.md §5).
 * An agent sees its own metrics and those of the agents it spawned (and theirs); the
 * admin token sees all. Quotas are set with the admin token only.
 */

import type { z } from 'zod';
import type { AgentRecord } from '../agents/registry.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import { cgroupDirsOf, ownDirs, readCgroupFigures } from '../metrics/cgroup.js';
import { effectiveLimits } from '../metrics/enforcer.js';
import { runningPid } from '../metrics/process-sampler.js';
import { KernelError } from '../protocol/errors.js';
import { opcodeByCode } from '../protocol/opcodes.js';
import { NoFields } from '../protocol/schemas/agents.js';
import {
  type AgentMetrics,
  type CgroupMetricsReply,
  CgroupMetricsRequest,
  type MetricsAllReply,
  type MetricsReply,
  MetricsRequest,
  type SetQuotaReply,
  SetQuotaRequest,
  type SystemMetricsReply,
} from '../protocol/schemas/metrics.js';
import { agentInfo } from './agent-views.js';
import { reachableAgent } from './reach.js';

/** One agent's metrics, as METRICS and METRICS_ALL report them. */
export async function agentMetrics(record: AgentRecord, kernel: KernelServices): Promise<AgentMetrics> {
  const info = agentInfo(record);
  const usage = kernel.metrics.usage(record.id);
  const sample = runningPid(record) === null ? undefined : await kernel.metrics.processSample(record.id);
  const byOp: Record<string, number> = {};
  for (const [code, count] of record.counters.byOp) byOp[opcodeByCode(code)?.name ?? String(code)] = count;
  const limits =
    record.kind === 'process'
      ? effectiveLimits(record, kernel.worlds.worldOf(record.id)?.memberLimits())
      : { memory_bytes: null, cpu_percent: null };
  const unavailable: Record<string, string> = {};
  if (!sample) {
    const why =
      record.kind === 'process'
        ? `agent ${record.id} is not running (${info.state}), so it has no processes to measure`
        : `agent ${record.id} is a ${record.kind} agent: memory and CPU are measured for process agents only (the others share the kernel's process)`;
    for (const field of ['memory_bytes', 'cpu_time_ms', 'cpu_percent']) unavailable[field] = why;
  } else if (sample.cpu_percent === null) {
    unavailable.cpu_percent = 'the run has been sampled once so far; the share needs two readings';
  }
  const throttleDuty = kernel.metrics.enforcer.throttleDuty(record.id);
  return {
    timestamp: Date.now(),
    agent_id: record.id,
    name: record.name,
    kind: record.kind,
    level: record.level,
    status: info.state,
    pid: info.pid,
    parent_id: record.parentId,
    restarts: info.restarts,
    uptime_ms: info.uptime_ms,
    sandboxed: record.permissions.sandboxed,
    syscall_count: record.counters.total,
    syscalls_denied: record.counters.denied,
    syscalls_failed: record.counters.failed,
    syscalls_by_op: byOp,
    ...usage,
    memory_bytes: sample?.memory_bytes ?? null,
    cpu_time_ms: sample?.cpu_time_ms ?? null,
    cpu_percent: sample?.cpu_percent ?? null,
    process: sample
      ? {
          pid: sample.pid,
          pgrp: sample.pgrp,
          processes: sample.pids.length,
          memory_source: sample.memory_source,
          rss_bytes: sample.rss_bytes,
          stopped: sample.stopped,
          throttled: throttleDuty !== undefined,
          throttle_duty: throttleDuty ?? null,
          sampled_at: sample.sampled_at,
        }
      : null,
    limits: {
      memory_bytes: limits.memory_bytes,
      cpu_percent: limits.cpu_percent,
      llm_calls_per_min: record.permissions.max_llm_calls_per_min,
    },
    quotas: kernel.quotas.view(record.id),
    // The original kernel grouped the counters so; its clients read them there.
    kernel_stats: {
      syscall_count: record.counters.total,
      llm_calls: usage.llm_calls,
      llm_tokens_used: usage.llm_tokens_used,
      bytes_read: usage.bytes_read,
      bytes_written: usage.bytes_written,
      network_bytes: usage.network_bytes,
    },
    unavailable,
  };
}

export const metrics = defineSyscall({
  name: 'METRICS',
  request: MetricsRequest,
  handle: async (request, session, kernel) => {
    const target = reachableAgent(session, kernel, request.agent_id, 'METRICS');
    return { success: true as const, metrics: await agentMetrics(target, kernel) } satisfies z.infer<typeof MetricsReply>;
  },
});

export const metricsAll = defineSyscall({
  name: 'METRICS_ALL',
  request: NoFields,
  handle: async (_request, _session, kernel) => {
    // One sampling round for all, rather than one per agent.
    await kernel.metrics.processes.tick();
    const agents = await Promise.all([...kernel.agents].map((record) => agentMetrics(record, kernel)));
    const totals = kernel.metrics.totals();
    return {
      success: true as const,
      agents,
      count: agents.length,
      kernel: {
        version: kernel.kernelVersion,
        pid: process.pid,
        uptime_ms: Date.now() - kernel.startedAt,
        agents: agents.length,
        syscall_count: totals.syscalls,
        syscalls_denied: totals.denied,
        syscalls_failed: totals.failed,
        llm_calls: totals.llm_calls,
        llm_tokens_used: totals.llm_tokens_used,
        bytes_read: totals.bytes_read,
        bytes_written: totals.bytes_written,
        network_bytes: totals.network_bytes,
        workers: kernel.pool.stats,
      },
    } satisfies z.infer<typeof MetricsAllReply>;
  },
});

export const setQuota = defineSyscall({
  name: 'SET_QUOTA',
  request: SetQuotaRequest,
  handle: (request, session, kernel) => {
    const target = kernel.agents.get(request.agent_id);
    if (!target) throw new KernelError('NOT_FOUND', `SET_QUOTA: agent ${request.agent_id} does not exist (or has ended)`);
    const quota = kernel.quotas.set(target.id, request.quota);
    kernel.log.info({ audit: 'quota_change', agent_id: target.id, by: session.agent.id, quota: request.quota }, 'quota changed');
    return { success: true as const, agent_id: target.id, quota } satisfies z.infer<typeof SetQuotaReply>;
  },
});

export const metricsSystem = defineSyscall({
  name: 'METRICS_SYSTEM',
  request: NoFields,
  handle: async (_request, _session, kernel) =>
    ({ success: true as const, metrics: await kernel.metrics.system.read() }) satisfies z.infer<typeof SystemMetricsReply>,
});

export const metricsCgroup = defineSyscall({
  name: 'METRICS_CGROUP',
  request: CgroupMetricsRequest,
  handle: async (request, session, kernel): Promise<z.infer<typeof CgroupMetricsReply>> => {
    const kernelDirs = await cgroupDirsOf('self');
    if (kernelDirs === null) throw new KernelError('UNAVAILABLE', 'METRICS_CGROUP: /proc/self/cgroup cannot be read (no cgroups here)');
    if (request.agent_id === undefined) {
      const figures = await readCgroupFigures(kernelDirs);
      return { success: true as const, scope: 'kernel' as const, agent_id: null, available: true, metrics: figures };
    }
    const target = reachableAgent(session, kernel, request.agent_id, 'METRICS_CGROUP');
    const pid = runningPid(target);
    const agentDirs = pid === null ? null : await cgroupDirsOf(pid);
    const own = agentDirs === null ? null : ownDirs(agentDirs, kernelDirs);
    if (own === null) {
      const reason =
        pid === null
          ? `agent ${target.id} has no running process (only running process agents can have a cgroup)`
          : `agent ${target.id} has no cgroup of its own: it runs in the kernel's (SPAWN "limits" give an agent one where a cgroup controller is available)`;
      return { success: true as const, scope: 'agent' as const, agent_id: target.id, available: false, reason, metrics: null };
    }
    return { success: true as const, scope: 'agent' as const, agent_id: target.id, available: true, metrics: await readCgroupFigures(own) };
  },
});
