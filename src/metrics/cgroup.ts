/**
 * METRICS_CGROUP's figures, from the kernel's own cgroup or an agent's, on cgroup v2 or
 * v1 (or both: a hybrid machine mounts v1 controllers beside a `unified` v2 tree). Each
 * controller is read where it is mounted; one that is not is reported under
 * `unavailable` with the reason, never as zeros.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CgroupFigures } from '../protocol/schemas/metrics.js';
import { type CgroupMount, parseMountinfo, parseProcCgroup } from '../sandbox/cgroup-detect.js';

/** Where a process's groups are: the v2 directory, and one directory per v1 controller. */
export interface CgroupDirs {
  v2: string | null;
  v1: Partial<Record<'memory' | 'cpu' | 'cpuacct' | 'pids', string>>;
}

const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;

function dirIn(mount: CgroupMount, path: string): string {
  const relative = mount.root !== '/' && (path === mount.root || path.startsWith(`${mount.root}/`)) ? path.slice(mount.root.length) : path;
  return resolve(mount.mountPoint, `.${relative}`);
}

/** The groups `/proc/<pid>/cgroup` names, as directories under this machine's mounts. */
export function cgroupDirs(procCgroup: string, mounts: readonly CgroupMount[]): CgroupDirs {
  const entries = parseProcCgroup(procCgroup);
  const dirs: CgroupDirs = { v2: null, v1: {} };
  const unified = mounts.find((mount) => mount.fstype === 'cgroup2');
  const v2Entry = entries.find((entry) => entry.id === '0' && entry.controllers.length === 0);
  if (unified && v2Entry) dirs.v2 = dirIn(unified, v2Entry.path);
  for (const controller of V1_CONTROLLERS) {
    const mount = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes(controller));
    const entry = entries.find((e) => e.id !== '0' && e.controllers.includes(controller));
    if (mount && entry) dirs.v1[controller] = dirIn(mount, entry.path);
  }
  return dirs;
}

let mountsOnce: Promise<CgroupMount[]> | undefined;
function mounts(): Promise<CgroupMount[]> {
  mountsOnce ??= readFile('/proc/self/mountinfo', 'utf8').then(parseMountinfo, () => []);
  return mountsOnce;
}

/** The groups process `pid` is in (`self` for the kernel); null when it is gone. */
export async function cgroupDirsOf(pid: number | 'self'): Promise<CgroupDirs | null> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => null);
  return text === null ? null : cgroupDirs(text, await mounts());
}

/**
 * The groups an agent has of its own: those of its process that differ from the
 * kernel's (the sandbox puts an agent with `limits` in a group below the kernel's).
 */
export function ownDirs(agent: CgroupDirs, kernel: CgroupDirs): CgroupDirs | null {
  const own: CgroupDirs = { v2: agent.v2 !== null && agent.v2 !== kernel.v2 ? agent.v2 : null, v1: {} };
  for (const controller of V1_CONTROLLERS) {
    const dir = agent.v1[controller];
    if (dir !== undefined && dir !== kernel.v1[controller]) own.v1[controller] = dir;
  }
  return own.v2 !== null || Object.keys(own.v1).length > 0 ? own : null;
}

const read = (dir: string, file: string) =>
  readFile(`${dir}/${file}`, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );

function num(text: string | undefined): number | null {
  if (text === undefined || text === '' || text === 'max') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** `key value` lines (cpu.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && Number.isFinite(Number(value))) out.set(key, Number(value));
  }
  return out;
}

/** v1 writes "no limit" as a page-rounded 2^63-1. */
const V1_UNLIMITED = 2 ** 62;

/** The figures of the groups in `dirs`; never throws. */
export async function readCgroupFigures(dirs: CgroupDirs): Promise<CgroupFigures> {
  const figures: CgroupFigures = { version: 'v2', paths: {}, memory: null, cpu: null, pids: null, unavailable: {} };
  const used = new Set<'v1' | 'v2'>();
  const v2 = dirs.v2;
  const v2Files = async (file: string) => (v2 === null ? undefined : read(v2, file));

  // memory
  const v2Memory = await v2Files('memory.current');
  if (v2Memory !== undefined && v2 !== null) {
    used.add('v2');
    figures.paths.memory = v2;
    const events = parseFlatKeyed(await read(v2, 'memory.events'));
    figures.memory = {
      current_bytes: num(v2Memory),
      max_bytes: num(await read(v2, 'memory.max')),
      peak_bytes: num(await read(v2, 'memory.peak')),
      oom_kills: events.get('oom_kill') ?? null,
    };
    if (figures.memory.max_bytes === null) figures.unavailable['memory.max_bytes'] = 'no memory limit (memory.max is "max")';
    if (figures.memory.peak_bytes === null) figures.unavailable['memory.peak_bytes'] = 'memory.peak needs Linux 5.19';
  } else if (dirs.v1.memory !== undefined) {
    const dir = dirs.v1.memory;
    const current = num(await read(dir, 'memory.usage_in_bytes'));
    if (current !== null) {
      used.add('v1');
      figures.paths.memory = dir;
      const limit = num(await read(dir, 'memory.limit_in_bytes'));
      figures.memory = {
        current_bytes: current,
        max_bytes: limit !== null && limit < V1_UNLIMITED ? limit : null,
        peak_bytes: num(await read(dir, 'memory.max_usage_in_bytes')),
        oom_kills: parseFlatKeyed(await read(dir, 'memory.oom_control')).get('oom_kill') ?? null,
      };
      if (figures.memory.max_bytes === null) figures.unavailable['memory.max_bytes'] = 'no memory limit';
      if (figures.memory.oom_kills === null)
        figures.unavailable['memory.oom_kills'] = 'memory.oom_control has no oom_kill count (Linux < 4.13)';
    } else figures.unavailable.memory = `the memory controller's files cannot be read in ${dir}`;
  } else figures.unavailable.memory = 'no cgroup memory controller is mounted for this group';

  // cpu
  const v2Cpu = parseFlatKeyed(await v2Files('cpu.stat'));
  const v2CpuMax = await v2Files('cpu.max');
  if (v2Cpu.has('usage_usec') && v2 !== null && v2CpuMax !== undefined) {
    used.add('v2');
    figures.paths.cpu = v2;
    const [quota, period] = v2CpuMax.split(/\s+/);
    figures.cpu = {
      usage_usec: v2Cpu.get('usage_usec') ?? null,
      user_usec: v2Cpu.get('user_usec') ?? null,
      system_usec: v2Cpu.get('system_usec') ?? null,
      quota_usec: num(quota),
      period_usec: num(period),
      nr_periods: v2Cpu.get('nr_periods') ?? null,
      nr_throttled: v2Cpu.get('nr_throttled') ?? null,
      throttled_usec: v2Cpu.get('throttled_usec') ?? null,
    };
  } else if (dirs.v1.cpu !== undefined || dirs.v1.cpuacct !== undefined || v2Cpu.has('usage_usec')) {
    // v1 splits accounting (cpuacct) from limits (cpu); v2's cpu.stat may count usage without the cpu controller.
    const acct = dirs.v1.cpuacct;
    const limitDir = dirs.v1.cpu;
    const usageNs = acct === undefined ? null : num(await read(acct, 'cpuacct.usage'));
    const ticks = parseFlatKeyed(acct === undefined ? undefined : await read(acct, 'cpuacct.stat'));
    const stat = parseFlatKeyed(limitDir === undefined ? undefined : await read(limitDir, 'cpu.stat'));
    const quota = limitDir === undefined ? null : num(await read(limitDir, 'cpu.cfs_quota_us'));
    const tickUsec = 1_000_000 / 100;
    figures.cpu = {
      usage_usec: usageNs !== null ? Math.round(usageNs / 1000) : (v2Cpu.get('usage_usec') ?? null),
      user_usec: ticks.has('user') ? (ticks.get('user') as number) * tickUsec : (v2Cpu.get('user_usec') ?? null),
      system_usec: ticks.has('system') ? (ticks.get('system') as number) * tickUsec : (v2Cpu.get('system_usec') ?? null),
      quota_usec: quota !== null && quota > 0 ? quota : null,
      period_usec: limitDir === undefined ? null : num(await read(limitDir, 'cpu.cfs_period_us')),
      nr_periods: stat.get('nr_periods') ?? null,
      nr_throttled: stat.get('nr_throttled') ?? null,
      throttled_usec: stat.has('throttled_time') ? Math.round((stat.get('throttled_time') as number) / 1000) : null,
    };
    if (acct !== undefined) {
      used.add('v1');
      figures.paths.cpuacct = acct;
    } else if (v2 !== null) {
      used.add('v2');
      figures.paths.cpuacct = v2;
    }
    if (limitDir !== undefined) {
      used.add('v1');
      figures.paths.cpu = limitDir;
      if (figures.cpu.quota_usec === null) figures.unavailable['cpu.quota_usec'] = 'no CPU quota (cpu.cfs_quota_us is -1)';
    } else figures.unavailable['cpu.quota_usec'] = 'no cgroup cpu controller is mounted for this group (no CPU limit can apply)';
  } else figures.unavailable.cpu = 'no cgroup cpu or cpuacct controller is mounted for this group';

  // pids
  const pidsDir = (await v2Files('pids.current')) !== undefined ? v2 : dirs.v1.pids;
  const pidsCurrent = pidsDir == null ? undefined : await read(pidsDir, 'pids.current');
  if (pidsDir != null && pidsCurrent !== undefined) {
    used.add(pidsDir === v2 ? 'v2' : 'v1');
    figures.paths.pids = pidsDir;
    figures.pids = { current: num(pidsCurrent), max: num(await read(pidsDir, 'pids.max')) };
    if (figures.pids.max === null) figures.unavailable['pids.max'] = 'no process limit (pids.max is "max")';
  } else if (dirs.v1.pids !== undefined) {
    figures.unavailable.pids = `${dirs.v1.pids} has no pids.current (a hierarchy's root group counts nothing)`;
  } else figures.unavailable.pids = 'no cgroup pids controller is mounted for this group';

  figures.version = used.size === 2 ? 'hybrid' : used.has('v1') ? 'v1' : 'v2';
  return figures;
}
