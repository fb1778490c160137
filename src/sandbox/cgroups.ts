/**
 * A cgroup per agent: created under `<kernel's own cgroup>/agentos/`, limits written,
 * processes joined, removed when the agent is gone. Async fs only: cgroupfs writes can
 * stall under memory pressure and must not stall the kernel's event loop.
 */
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CgroupSupport, type Controller, cgroupSupport, unavailableReason } from './cgroup-detect.js';
import type { NotApplied } from './isolation.js';
import { type LimitName, type Limits, requestedLimits } from './limits.js';

export { type CgroupSupport, detectCgroups } from './cgroup-detect.js';

const CONTROLLER_OF: Record<LimitName, Controller> = { memory_bytes: 'memory', max_pids: 'pids', cpu_percent: 'cpu' };
const CPU_PERIOD_US = 100_000;

export interface CgroupRemoval {
  removed: boolean;
  /** Groups that still held processes after the wait. */
  busy: { dir: string; pids: number[] }[];
  message: string;
}

export interface AgentCgroup {
  /** The agent's group directories (one on v2, one per hierarchy on v1); empty when nothing applied. */
  readonly dirs: readonly string[];
  readonly applied: string[];
  readonly notApplied: NotApplied[];
  /** The limits some group enforces. */
  readonly appliedLimits: LimitName[];
  /** Move a process (all its threads) into every group. A process that already exited is not an error. */
  addPid(pid: number): Promise<void>;
  /** rmdir the groups; processes still inside make it report busy instead (after waiting up to `waitMs`). */
  remove(options?: { waitMs?: number }): Promise<CgroupRemoval>;
}

export interface CreateOptions {
  /** Detected support (tests inject one); defaults to this machine's. */
  support?: CgroupSupport;
  /** Name of the shared parent group. */
  parent?: string;
}

let sequence = 0;

/** A directory name from an agent name: unique per kernel and per spawn, safe as a path component. */
function leafName(agentName: string): string {
  const safe =
    agentName
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '')
      .slice(0, 64) || 'agent';
  sequence += 1;
  return `${safe}.${process.pid}.${sequence}`;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function createAgentCgroup(agentName: string, limits: Limits, options: CreateOptions = {}): Promise<AgentCgroup> {
  const wanted = requestedLimits(limits);
  const support = options.support ?? (await cgroupSupport());
  const parent = options.parent ?? 'agentos';
  const leaf = leafName(agentName);
  const applied: string[] = [];
  const notApplied: NotApplied[] = [];
  const appliedLimits: LimitName[] = [];
  /** Group directory → whether some limit was written there. */
  const groups = new Map<string, boolean>();

  const v2Wanted: Controller[] = support.v2
    ? wanted.map(([name]) => CONTROLLER_OF[name]).filter((c) => support.v2!.controllers.includes(c))
    : [];
  let v2Dir: string | undefined;
  let v2Problem: string | undefined;
  if (support.v2 && v2Wanted.length > 0) {
    try {
      v2Dir = await makeV2Group(support.v2.dir, parent, leaf, v2Wanted);
      groups.set(v2Dir, false);
    } catch (error) {
      v2Problem = `cgroup v2: ${describe(error)}`;
    }
  }

  for (const [name, value] of wanted) {
    const controller = CONTROLLER_OF[name];
    let dir: string;
    let version: 1 | 2;
    if (v2Dir && v2Wanted.includes(controller)) {
      dir = v2Dir;
      version = 2;
    } else if (support.v1[controller]) {
      dir = join(support.v1[controller], parent, leaf);
      version = 1;
      if (!groups.has(dir)) {
        try {
          await makeDirRetrying(dir);
          groups.set(dir, false);
        } catch (error) {
          notApplied.push({ what: name, why: `cannot create cgroup v1 ${controller} group ${dir}: ${describe(error)}` });
          continue;
        }
      }
    } else {
      notApplied.push({ what: name, why: v2Problem ?? unavailableReason(support, controller) });
      continue;
    }
    try {
      const how = version === 2 ? await writeV2(dir, name, value) : await writeV1(dir, name, value);
      applied.push(`${name}=${value} via ${how}`);
      appliedLimits.push(name);
      groups.set(dir, true);
    } catch (error) {
      notApplied.push({ what: name, why: `cgroup v${version}: ${describe(error)}` });
    }
  }

  // A group that enforces nothing would only be something to clean up.
  for (const [dir, used] of groups) {
    if (!used) {
      await rmdir(dir).catch(() => undefined);
      groups.delete(dir);
    }
  }
  const dirs = [...groups.keys()];
  return {
    dirs,
    applied,
    notApplied,
    appliedLimits,
    addPid: (pid) => addPid(dirs, pid),
    remove: (removeOptions) => removeGroups(dirs, removeOptions?.waitMs ?? 500),
  };
}

/** Create `<own>/<parent>/<leaf>` with `controllers` enabled for it (v2 only hands controllers down level by level). */
async function makeV2Group(own: string, parent: string, leaf: string, controllers: Controller[]): Promise<string> {
  try {
    await enableControllers(own, controllers);
  } catch (error) {
    if (errorCode(error) === 'EBUSY') {
      throw new Error(
        `cannot enable ${controllers.join(', ')} below ${own}: it holds processes (the v2 no-internal-process rule); run the kernel in a leaf of a delegated subtree`,
      );
    }
    throw new Error(`cannot enable ${controllers.join(', ')} below ${own}: ${describe(error)}`);
  }
  const parentDir = join(own, parent);
  const dir = join(parentDir, leaf);
  for (let attempt = 0; ; attempt++) {
    await mkdir(parentDir, { recursive: true });
    await enableControllers(parentDir, controllers);
    try {
      await mkdir(dir);
      return dir;
    } catch (error) {
      // Another agent's removal may have taken the (then empty) parent away in between.
      if (errorCode(error) !== 'ENOENT' || attempt >= 2) throw error;
    }
  }
}

async function enableControllers(dir: string, controllers: Controller[]): Promise<void> {
  const file = join(dir, 'cgroup.subtree_control');
  const current = await readFile(file, 'utf8').then(
    (text): string[] => text.split(/\s+/),
    (error: unknown): string[] => {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    },
  );
  for (const controller of controllers) {
    if (!current.includes(controller)) await writeFile(file, `+${controller}`);
  }
}

async function makeDirRetrying(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(dir, { recursive: true });
      return;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || attempt >= 2) throw error;
    }
  }
}

/** Write one interface file; the error names the file and the value. */
async function put(dir: string, file: string, value: string): Promise<void> {
  try {
    await writeFile(join(dir, file), value);
  } catch (error) {
    throw new Error(`writing ${value} to ${join(dir, file)}: ${errorCode(error) ?? describe(error)}`);
  }
}

async function tryPut(dir: string, file: string, value: string): Promise<boolean> {
  return put(dir, file, value).then(
    () => true,
    () => false,
  );
}

/** Returns how the limit was applied, for the report. */
async function writeV2(dir: string, name: LimitName, value: number): Promise<string> {
  switch (name) {
    case 'memory_bytes': {
      await put(dir, 'memory.max', String(value));
      // Without swap.max the limit only bounds RAM and the agent can keep growing into swap.
      const noSwap = await tryPut(dir, 'memory.swap.max', '0');
      return `cgroup v2 memory.max${noSwap ? ' (swap.max=0)' : ''}`;
    }
    case 'max_pids':
      await put(dir, 'pids.max', String(value));
      return 'cgroup v2 pids.max';
    case 'cpu_percent':
      await put(dir, 'cpu.max', `${cpuQuota(value, CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
      return 'cgroup v2 cpu.max';
  }
}

async function writeV1(dir: string, name: LimitName, value: number): Promise<string> {
  switch (name) {
    case 'memory_bytes': {
      await put(dir, 'memory.limit_in_bytes', String(value));
      // memsw (memory + swap) exists only with swap accounting; it must be set after the memory limit.
      const withSwap = await tryPut(dir, 'memory.memsw.limit_in_bytes', String(value));
      return `cgroup v1 memory.limit_in_bytes${withSwap ? ' (+ memsw, swap included)' : ''}`;
    }
    case 'max_pids':
      await put(dir, 'pids.max', String(value));
      return 'cgroup v1 pids.max';
    case 'cpu_percent': {
      const period = await readFile(join(dir, 'cpu.cfs_period_us'), 'utf8').then(
        (text) => Number.parseInt(text, 10) || CPU_PERIOD_US,
        () => CPU_PERIOD_US,
      );
      await put(dir, 'cpu.cfs_quota_us', String(cpuQuota(value, period)));
      return 'cgroup v1 cpu.cfs_quota_us';
    }
  }
}

/** Microseconds of CPU per period for a percentage of one core (the kernel's minimum is 1 ms). */
export function cpuQuota(percent: number, periodUs: number): number {
  return Math.max(1000, Math.round((percent / 100) * periodUs));
}

async function addPid(dirs: readonly string[], pid: number): Promise<void> {
  for (const dir of dirs) {
    try {
      await writeFile(join(dir, 'cgroup.procs'), String(pid));
    } catch (error) {
      if (errorCode(error) === 'ESRCH') return;
      throw new Error(`cannot move pid ${pid} into ${dir}: ${errorCode(error) ?? describe(error)}`);
    }
  }
}

async function pidsIn(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

async function removeGroups(dirs: readonly string[], waitMs: number): Promise<CgroupRemoval> {
  const busy: CgroupRemoval['busy'] = [];
  for (const dir of dirs) {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') break;
        // A killed process leaves its group a moment after the signal: wait a little.
        if (code === 'EBUSY' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          continue;
        }
        busy.push({ dir, pids: await pidsIn(dir) });
        break;
      }
    }
    // The shared parent goes when it is empty, so nothing lingers in the kernel's own
    // cgroup; another agent's group in it (ENOTEMPTY/EBUSY) keeps it, which is fine.
    await rmdir(join(dir, '..')).catch(() => undefined);
  }
  if (busy.length === 0) return { removed: true, busy, message: dirs.length ? `removed ${dirs.join(', ')}` : 'no cgroup to remove' };
  const detail = busy.map((b) => `${b.dir} (pids ${b.pids.join(', ') || 'none listed'})`).join('; ');
  return { removed: false, busy, message: `cgroup still holds processes: ${detail}; stop them, then call remove() again` };
}

/**
 * The constant script that makes a launch join its groups before it execs: node's
 * spawn has no pre-exec hook, and attaching after spawn is a race the agent can win
 * (bwrap forks the agent at once, and children forked before the move stay outside).
 * All values travel as positional arguments, never inside the script text.
 */
const JOIN_SCRIPT =
  'for f do shift; if [ "$f" = -- ]; then break; fi; echo $$ > "$f" || { echo "agentos: cannot join cgroup $f" >&2; exit 125; }; done; exec "$@"';

/** argv that runs `command args` already inside the groups whose cgroup.procs files are given. */
export function joinCgroupsArgv(dirs: readonly string[], command: string, args: readonly string[]): string[] {
  if (dirs.length === 0) return [command, ...args];
  return ['/bin/sh', '-c', JOIN_SCRIPT, 'agentos-cgroup-join', ...dirs.map((dir) => join(dir, 'cgroup.procs')), '--', command, ...args];
}
