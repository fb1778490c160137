/**
 * CPU accounting from /proc, so a run on a shared machine can say how much CPU the
 * measured server spent per call (robust to contention) and how busy everything else
 * on the machine was during the window (what makes calls/s noisy).
 */
import { readFile } from 'node:fs/promises';

/** USER_HZ: /proc times are in clock ticks, 100 per second on Linux. */
const TICK_MS = 10;

/** User plus system CPU of a process, all its threads, in ms. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name "(...)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Busy CPU time of the whole machine (all cores), in ms. */
export async function machineBusyMs(): Promise<number> {
  const stat = await readFile('/proc/stat', 'utf8');
  const [user, nice, system, , , irq, softirq, steal] = (stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1) as string[]).map(
    Number,
  );
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_MS;
}

export interface CpuSnapshot {
  at: number;
  server: number;
  client: number;
  machine: number;
}

/** `clientCpuMs` is what the client reported of itself with the phase line (see lib/agnt.ts phase()). */
export async function snapshot(serverPid: number, clientCpuMs: number): Promise<CpuSnapshot> {
  const [server, machine] = await Promise.all([processCpuMs(serverPid), machineBusyMs()]);
  return { at: performance.now(), server, client: clientCpuMs, machine };
}

export interface CpuWindow {
  /** Cores' worth of CPU used by the server over the window (1.0 = one core flat out). */
  server_cores: number;
  client_cores: number;
  /** Everything else on the machine: other users' work, the orchestrator, the other idle server. */
  other_cores: number;
  /** Server CPU per completed call, in microseconds. */
  server_us_per_call: number;
}

export function cpuWindow(start: CpuSnapshot, end: CpuSnapshot, calls: number): CpuWindow {
  const ms = end.at - start.at;
  const server = end.server - start.server;
  const client = end.client - start.client;
  const other = Math.max(0, end.machine - start.machine - server - client);
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    server_cores: r(server / ms),
    client_cores: r(client / ms),
    other_cores: r(other / ms),
    server_us_per_call: Math.round((server / Math.max(1, calls)) * 1000 * 10) / 10,
  };
}
