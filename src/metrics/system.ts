/**
 * METRICS_SYSTEM: the machine as /proc shows it (CPU use since the previous reading,
 * memory, load, network), the data directory's file system (statfs), and the kernel's
 * own process. A figure that cannot be read is null and explained under `unavailable`.
 */
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { InterfaceCounters, SystemMetrics } from '../protocol/schemas/metrics.js';

export interface CpuTimes {
  total: number;
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat: all jiffies, and idle + iowait. */
export function parseProcStatCpu(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait };
}

/** /proc/meminfo in bytes, by key (`MemTotal`, `MemAvailable`...). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (match) out.set(match[1] as string, Number(match[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return out;
}

/** /proc/net/dev, one entry per interface. */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const v = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    out.push({
      name: line.slice(0, colon).trim(),
      rx_bytes: v[0] ?? 0,
      rx_packets: v[1] ?? 0,
      rx_errors: v[2] ?? 0,
      tx_bytes: v[8] ?? 0,
      tx_packets: v[9] ?? 0,
      tx_errors: v[10] ?? 0,
    });
  }
  return out;
}

const readText = (path: string) => readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => error);

const MAX_INTERFACES = 64;

export class SystemSampler {
  readonly #dataDir: string;
  readonly #startedAt: number;
  #previous: (CpuTimes & { at: number }) | undefined;

  constructor(deps: { dataDir: string; startedAt: number }) {
    this.#dataDir = deps.dataDir;
    this.#startedAt = deps.startedAt;
  }

  async read(): Promise<SystemMetrics> {
    const unavailable: Record<string, string> = {};
    const [stat, loadavg, meminfo, netdev, fsStats] = await Promise.all([
      readText('/proc/stat'),
      readText('/proc/loadavg'),
      readText('/proc/meminfo'),
      readText('/proc/net/dev'),
      statfs(this.#dataDir).catch((error: NodeJS.ErrnoException) => error),
    ]);
    const now = Date.now();

    const cpu: SystemMetrics['cpu'] = { percent: null, interval_ms: null, count: availableParallelism(), load_avg: null };
    const times = typeof stat === 'string' ? parseProcStatCpu(stat) : undefined;
    if (times) {
      const before = this.#previous;
      const total = times.total - (before?.total ?? 0);
      const idle = times.idle - (before?.idle ?? 0);
      if (total > 0) cpu.percent = round1((1 - idle / total) * 100);
      else unavailable['cpu.percent'] = 'no CPU time passed since the previous reading';
      cpu.interval_ms = before ? now - before.at : null;
      this.#previous = { ...times, at: now };
    } else unavailable['cpu.percent'] = reason('/proc/stat', stat);
    const loads = typeof loadavg === 'string' ? loadavg.trim().split(/\s+/).slice(0, 3).map(Number) : [];
    if (loads.length === 3 && loads.every(Number.isFinite)) cpu.load_avg = loads as [number, number, number];
    else unavailable['cpu.load_avg'] = reason('/proc/loadavg', loadavg);

    const mem = typeof meminfo === 'string' ? parseMeminfo(meminfo) : new Map<string, number>();
    const total = mem.get('MemTotal') ?? null;
    const available = mem.get('MemAvailable') ?? null;
    const swapTotal = mem.get('SwapTotal') ?? null;
    const swapFree = mem.get('SwapFree') ?? null;
    const memory: SystemMetrics['memory'] = {
      total_bytes: total,
      available_bytes: available,
      used_bytes: total !== null && available !== null ? total - available : null,
      percent: total && available !== null ? round1(((total - available) / total) * 100) : null,
      buffers_bytes: mem.get('Buffers') ?? null,
      cached_bytes: mem.get('Cached') ?? null,
      swap_total_bytes: swapTotal,
      swap_used_bytes: swapTotal !== null && swapFree !== null ? swapTotal - swapFree : null,
    };
    if (typeof meminfo !== 'string') unavailable.memory = reason('/proc/meminfo', meminfo);
    else if (available === null) unavailable['memory.available_bytes'] = '/proc/meminfo has no MemAvailable (Linux < 3.14)';

    const disk: SystemMetrics['disk'] = {
      path: this.#dataDir,
      total_bytes: null,
      free_bytes: null,
      available_bytes: null,
      used_bytes: null,
      percent: null,
    };
    if (fsStats instanceof Error) unavailable.disk = `statfs ${this.#dataDir}: ${fsStats.message}`;
    else {
      disk.total_bytes = fsStats.blocks * fsStats.bsize;
      disk.free_bytes = fsStats.bfree * fsStats.bsize;
      disk.available_bytes = fsStats.bavail * fsStats.bsize;
      disk.used_bytes = disk.total_bytes - disk.free_bytes;
      disk.percent = disk.total_bytes > 0 ? round1((disk.used_bytes / disk.total_bytes) * 100) : null;
    }

    const network: SystemMetrics['network'] = {
      rx_bytes: null,
      tx_bytes: null,
      rx_packets: null,
      tx_packets: null,
      rx_errors: null,
      tx_errors: null,
      interfaces: [],
    };
    if (typeof netdev === 'string') {
      const interfaces = parseNetDev(netdev);
      network.interfaces = interfaces.slice(0, MAX_INTERFACES);
      const external = interfaces.filter((i) => i.name !== 'lo');
      const sum = (key: keyof Omit<InterfaceCounters, 'name'>) => external.reduce((n, i) => n + i[key], 0);
      network.rx_bytes = sum('rx_bytes');
      network.tx_bytes = sum('tx_bytes');
      network.rx_packets = sum('rx_packets');
      network.tx_packets = sum('tx_packets');
      network.rx_errors = sum('rx_errors');
      network.tx_errors = sum('tx_errors');
    } else unavailable.network = reason('/proc/net/dev', netdev);

    const usage = process.cpuUsage();
    const memoryUsage = process.memoryUsage();
    return {
      timestamp: now,
      cpu,
      memory,
      disk,
      network,
      kernel: {
        pid: process.pid,
        uptime_ms: now - this.#startedAt,
        rss_bytes: memoryUsage.rss,
        heap_used_bytes: memoryUsage.heapUsed,
        cpu_user_ms: Math.round(usage.user / 1000),
        cpu_system_ms: Math.round(usage.system / 1000),
      },
      unavailable,
    };
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function reason(path: string, result: string | Error): string {
  return result instanceof Error ? `${path}: ${result.message}` : `${path} has no such figure`;
}
