/**
 * `GET /metrics`: the kernel's figures in the Prometheus text exposition format 0.0.4.
 * Kernel-wide counters (which never go down: ended agents' counts are kept), machine
 * gauges, and per-agent series labelled `agent_id`, `name` and `kind`.
 */
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { Quotas } from '../quotas/quotas.js';
import type { Metrics } from './index.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrometheusSource {
  registry: AgentRegistry;
  metrics: Metrics;
  quotas: Quotas;
  version: string;
  startedAt: number;
  workers: () => { threads: number; queued: number; completed: number };
}

/** A label value: backslash, double quote and line feed escaped, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

type Labels = Record<string, string | number>;

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabelValue(String(value))}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** Numbers as the format writes them (NaN and infinities spelled its way). */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** Collects families; each family's HELP and TYPE are written once, before its samples. */
class Exposition {
  readonly #families = new Map<string, { help: string; type: 'counter' | 'gauge'; samples: string[] }>();

  add(name: string, type: 'counter' | 'gauge', help: string, value: number | null | undefined, labels?: Labels): void {
    let family = this.#families.get(name);
    if (!family) {
      family = { help, type, samples: [] };
      this.#families.set(name, family);
    }
    // A figure that cannot be read is left out, never written as 0.
    if (value === null || value === undefined) return;
    family.samples.push(`${name}${labelText(labels)} ${valueText(value)}`);
  }

  toString(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      if (family.samples.length === 0) continue;
      lines.push(`# HELP ${name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${family.type}`);
      lines.push(...family.samples);
    }
    return `${lines.join('\n')}\n`;
  }
}

function agentLabels(agent: AgentRecord): Labels {
  return { agent_id: agent.id, name: agent.name ?? '', kind: agent.kind };
}

export async function renderPrometheus(source: PrometheusSource): Promise<string> {
  const out = new Exposition();
  const { metrics } = source;
  const [system] = await Promise.all([metrics.system.read(), metrics.processes.tick()]);

  out.add('agentos_info', 'gauge', 'The kernel version (always 1).', 1, { version: source.version });
  out.add('agentos_uptime_seconds', 'gauge', 'Seconds since the kernel started.', (Date.now() - source.startedAt) / 1000);
  const byKind = new Map<string, number>();
  for (const agent of source.registry) byKind.set(agent.kind, (byKind.get(agent.kind) ?? 0) + 1);
  for (const [kind, count] of byKind) out.add('agentos_agents', 'gauge', 'Live agents by kind.', count, { kind });

  const totals = metrics.totals();
  out.add('agentos_syscalls_total', 'counter', 'Syscalls made by every agent since start.', totals.syscalls);
  out.add('agentos_syscalls_denied_total', 'counter', 'Syscalls refused with PERMISSION_DENIED.', totals.denied);
  out.add('agentos_syscalls_failed_total', 'counter', 'Syscalls that failed otherwise.', totals.failed);
  out.add('agentos_llm_calls_total', 'counter', 'LLM calls made by every agent.', totals.llm_calls);
  out.add('agentos_llm_tokens_total', 'counter', 'LLM tokens used by every agent.', totals.llm_tokens_used);
  out.add('agentos_read_bytes_total', 'counter', 'Bytes agents read with READ.', totals.bytes_read);
  out.add('agentos_written_bytes_total', 'counter', 'Bytes agents wrote with WRITE.', totals.bytes_written);
  out.add('agentos_network_bytes_total', 'counter', 'Bytes agents moved with HTTP and DOWNLOAD.', totals.network_bytes);

  const workers = source.workers();
  out.add('agentos_worker_threads', 'gauge', 'Worker threads of the pool.', workers.threads);
  out.add('agentos_worker_queued_tasks', 'gauge', 'Tasks waiting for a worker thread.', workers.queued);
  out.add('agentos_worker_completed_tasks_total', 'counter', 'Tasks the pool has completed.', workers.completed);

  const { kernel } = system;
  out.add('agentos_kernel_resident_memory_bytes', 'gauge', "The kernel process's resident memory.", kernel.rss_bytes);
  out.add('agentos_kernel_heap_used_bytes', 'gauge', "The kernel's V8 heap in use.", kernel.heap_used_bytes);
  out.add(
    'agentos_kernel_cpu_seconds_total',
    'counter',
    'CPU time of the kernel process.',
    (kernel.cpu_user_ms + kernel.cpu_system_ms) / 1000,
  );

  out.add('agentos_system_cpu_percent', 'gauge', 'Busy share of all cores since the previous reading.', system.cpu.percent);
  out.add('agentos_system_cpus', 'gauge', 'Cores available.', system.cpu.count);
  if (system.cpu.load_avg) {
    const [one, five, fifteen] = system.cpu.load_avg;
    out.add('agentos_system_load', 'gauge', 'Load average.', one, { period: '1m' });
    out.add('agentos_system_load', 'gauge', 'Load average.', five, { period: '5m' });
    out.add('agentos_system_load', 'gauge', 'Load average.', fifteen, { period: '15m' });
  }
  out.add('agentos_system_memory_total_bytes', 'gauge', "The machine's memory.", system.memory.total_bytes);
  out.add('agentos_system_memory_available_bytes', 'gauge', 'Memory available for new work.', system.memory.available_bytes);
  out.add('agentos_system_disk_total_bytes', 'gauge', "Size of the data directory's file system.", system.disk.total_bytes);
  out.add(
    'agentos_system_disk_available_bytes',
    'gauge',
    "Space available on the data directory's file system.",
    system.disk.available_bytes,
  );
  out.add(
    'agentos_system_network_receive_bytes_total',
    'counter',
    'Bytes received by every interface but loopback.',
    system.network.rx_bytes,
  );
  out.add('agentos_system_network_transmit_bytes_total', 'counter', 'Bytes sent by every interface but loopback.', system.network.tx_bytes);

  for (const agent of source.registry) {
    const labels = agentLabels(agent);
    const usage = metrics.usage(agent.id);
    out.add('agentos_agent_syscalls_total', 'counter', 'Syscalls the agent made.', agent.counters.total, labels);
    out.add(
      'agentos_agent_syscalls_denied_total',
      'counter',
      'Syscalls of the agent refused with PERMISSION_DENIED.',
      agent.counters.denied,
      labels,
    );
    out.add(
      'agentos_agent_syscalls_failed_total',
      'counter',
      'Syscalls of the agent that failed otherwise.',
      agent.counters.failed,
      labels,
    );
    out.add('agentos_agent_llm_calls_total', 'counter', 'LLM calls of the agent.', usage.llm_calls, labels);
    out.add('agentos_agent_llm_tokens_total', 'counter', 'LLM tokens the agent used.', usage.llm_tokens_used, labels);
    out.add('agentos_agent_read_bytes_total', 'counter', 'Bytes the agent read with READ.', usage.bytes_read, labels);
    out.add('agentos_agent_written_bytes_total', 'counter', 'Bytes the agent wrote with WRITE.', usage.bytes_written, labels);
    out.add('agentos_agent_network_bytes_total', 'counter', 'Bytes the agent moved with HTTP and DOWNLOAD.', usage.network_bytes, labels);
    const sample = metrics.processes.last(agent.id);
    if (sample) {
      out.add(
        'agentos_agent_memory_bytes',
        'gauge',
        "A process agent's memory (its cgroup's, else its processes' RSS).",
        sample.memory_bytes,
        labels,
      );
      out.add(
        'agentos_agent_cpu_seconds_total',
        'counter',
        "CPU time of a process agent's current run.",
        sample.cpu_time_ms / 1000,
        labels,
      );
      out.add(
        'agentos_agent_cpu_percent',
        'gauge',
        'Percent of one core a process agent used over the last interval.',
        sample.cpu_percent,
        labels,
      );
      out.add('agentos_agent_processes', 'gauge', "Processes in a process agent's tree.", sample.pids.length, labels);
    }
    for (const [resource, quota] of Object.entries(source.quotas.view(agent.id))) {
      out.add('agentos_agent_quota_used', 'gauge', 'Use of a quota in its current window.', quota.used, { ...labels, resource });
      out.add('agentos_agent_quota_limit', 'gauge', 'The limit of a quota per window.', quota.limit, { ...labels, resource });
    }
  }
  return out.toString();
}
