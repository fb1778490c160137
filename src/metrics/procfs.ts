/**
 * What /proc says about a process tree: its processes, their resident memory and the
 * CPU time they used. Reads are asynchronous (libuv's threads do the I/O) and a process
 * that ends mid-read is simply left out: /proc changes under every reader.
 */
import { readdir, readFile } from 'node:fs/promises';

/** USER_HZ: the unit of /proc's CPU times, fixed at 100 by the Linux ABI whatever the kernel's HZ. */
export const CLOCK_TICKS_PER_SECOND = 100;
/** A tree larger than this is cut short: a fork bomb must not turn sampling into a scan of the machine. */
export const MAX_TREE_PROCESSES = 1024;

export interface ProcStat {
  pid: number;
  /** R, S, D, T (stopped), Z... */
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks in user and kernel mode, this process's own and its waited-for children's. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so fields are counted from the last ")". */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) cutime(16) cstime(17), numbered as in proc(5).
  const at = (n: number) => Number(fields[n - 3]);
  const stat = {
    pid: Number(text.slice(0, open).trim()),
    state: fields[0] ?? '?',
    ppid: at(4),
    pgrp: at(5),
    utime: at(14),
    stime: at(15),
    cutime: at(16),
    cstime: at(17),
  };
  return Number.isFinite(stat.pid) && Number.isFinite(stat.utime) ? stat : undefined;
}

/** `VmRSS` of `/proc/<pid>/status`, in bytes; 0 for a kernel thread or a zombie (they have none). */
export function parseStatusRss(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

/** The pids of `/proc/<pid>/task/<tid>/children` files (space separated). */
export function parseChildren(text: string): number[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** The process and its live descendants, breadth first, at most `MAX_TREE_PROCESSES`. */
export async function processTree(root: number): Promise<number[]> {
  const found = [root];
  const seen = new Set(found);
  for (let i = 0; i < found.length && found.length < MAX_TREE_PROCESSES; i++) {
    const pid = found[i] as number;
    // Any thread may have forked, so every task's children count.
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of parseChildren(text)) {
        if (seen.has(child) || found.length >= MAX_TREE_PROCESSES) continue;
        seen.add(child);
        found.push(child);
      }
    }
  }
  return found;
}

export interface TreeSample {
  /** The live processes of the tree (the root first when it lives). */
  pids: number[];
  /** Resident memory of them all. Shared pages count once per process, as `ps` shows them. */
  rssBytes: number;
  /** CPU time of them all, and of the children they waited for, in ms. */
  cpuTimeMs: number;
  /** Every process of the tree is stopped (SIGSTOP): a paused or throttled agent. */
  stopped: boolean;
  /** The root's process group (the root leads it when it was started detached). */
  pgrp: number;
  /**
   * kill(2) targets that reach every process of the tree without touching anyone else's:
   * `-pgid` for each group a process of the tree leads (the root's, when started detached;
   * a sandboxed agent's own, which bwrap's new session gives it), and the pid of each
   * process in a group led from outside the tree (such as the kernel's own).
   */
  targets: number[];
}

/** One reading of a process tree; undefined when its root is gone. */
export async function sampleTree(root: number): Promise<TreeSample | undefined> {
  const pids = await processTree(root);
  const sample: TreeSample = { pids: [], rssBytes: 0, cpuTimeMs: 0, stopped: true, pgrp: 0, targets: [] };
  const groupOf = new Map<number, number>();
  await Promise.all(
    pids.map(async (pid) => {
      const [statText, statusText] = await Promise.all([
        readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
        readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''),
      ]);
      const stat = parseStat(statText);
      if (!stat || stat.state === 'Z' || stat.state === 'X') return;
      sample.pids.push(pid);
      groupOf.set(pid, stat.pgrp);
      if (pid === root) sample.pgrp = stat.pgrp;
      sample.rssBytes += parseStatusRss(statusText);
      sample.cpuTimeMs += ((stat.utime + stat.stime + stat.cutime + stat.cstime) * 1000) / CLOCK_TICKS_PER_SECOND;
      if (stat.state !== 'T' && stat.state !== 't') sample.stopped = false;
    }),
  );
  if (!sample.pids.includes(root)) return undefined;
  sample.pids.sort((a, b) => (a === root ? -1 : b === root ? 1 : a - b));
  for (const pid of sample.pids) {
    const group = groupOf.get(pid) as number;
    if (group === pid) sample.targets.push(-pid);
    else if (groupOf.get(group) !== group) sample.targets.push(pid);
  }
  return sample;
}
