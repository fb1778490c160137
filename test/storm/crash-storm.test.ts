/**
 * The crash storm of the issue: 50 process agents crashing in a loop for 20 s while a
 * separate client measures NOOP latency; afterwards no zombie child, no surviving
 * process of any agent's group and no leaked file descriptor in the kernel.
 *
 * The kernel runs in a child process (a tiny host script written at run time), so its
 * pid, /proc/PID/fd and its children are its own and not the test runner's.
 *
 * Every agent restarts with restart_policy "always" and the supervisor's default backoff
 * (100 ms doubling to 30 s), so one agent's crash rate falls fast: after a few restarts it
 * waits seconds. To keep the storm a storm for its whole length, an agent that has
 * restarted RECYCLE_AT times is KILLed and replaced by a fresh one (a new name, a new
 * backoff), which also exercises KILL and SPAWN under load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Op } from '../../src/protocol/opcodes.js';
import type { AgentInfo } from '../../src/protocol/schemas/agents.js';
import { RawClient } from '../helpers/kernel.js';

const AGENTS = 50;
const STORM_MS = 20_000;
/** Restarts after which an agent is replaced (its next backoff would be 1.6 s and growing). */
const RECYCLE_AT = 4;
/** A generous bound for a loaded 2-core machine; the benchmark target is 5 ms. */
const P99_BOUND_MS = 50;
const FD_SLACK = 10;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KERNEL_ENTRY = pathToFileURL(join(ROOT, 'src/kernel/index.ts')).href;

/** Crashes after 50 ms; half of them first leave a `sleep 30` behind, which must not outlive the agent. */
const AGENT_SCRIPT = `#!/bin/sh
bg=0
if [ "$STORM_ORPHAN" = 1 ]; then
  sleep 30 &
  bg=$!
fi
echo "$$ $bg" >> "$STORM_PIDS"
echo "crashing on purpose" >&2
sleep 0.05
exit 1
`;

const HOST_SCRIPT = `import { startKernel } from ${JSON.stringify(KERNEL_ENTRY)};
const [socketPath, dataDir] = process.argv.slice(2);
const kernel = await startKernel({ socketPath, dataDir, httpPort: null, defaultLevel: 'unrestricted', logLevel: 'warn' });
process.stdout.write('kernel ready pid=' + process.pid + '\\n');
process.on('SIGTERM', () => {
  kernel.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
`;

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
}

/** Every process in /proc, as "pid (comm) state ppid pgrp ..." says (comm may hold spaces and parentheses). */
function processes(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended while we looked
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(entry), state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]) });
  }
  return out;
}

/** Live processes whose environment carries `mark` (every agent and whatever it started). */
function markedProcesses(mark: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(mark)) found.push(Number(entry));
    } catch {
      // ended, or not ours to read
    }
  }
  return found;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What each open descriptor is (`socket:[123]`, `pipe:[456]`, `anon_inode:[eventfd]`, a path), by kind and count. */
function fdKinds(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const kind = target.replace(/\[\d+\]$/, '');
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `check` holds or `timeoutMs` passes; returns whether it held. */
async function settles(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** One request and its JSON reply; SPAWN answers once the agent runs, which can take a while under load. */
async function request<T>(client: RawClient, opcode: number, payload?: object): Promise<T> {
  client.send(opcode, payload);
  try {
    return await client.reply<T>(20_000);
  } catch (error) {
    throw new Error(`${opNames.get(opcode)} ${JSON.stringify(payload ?? {})}: ${String(error)}; the kernel said:\n${kernelOutput}`);
  }
}

/** One NOOP round trip, in milliseconds. */
async function noop(client: RawClient): Promise<number> {
  const start = process.hrtime.bigint();
  client.send(Op.NOOP);
  const frame = await client.frame(10_000);
  if (!frame) throw new Error('the kernel closed the NOOP connection');
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const opNames = new Map(Object.entries(Op).map(([name, code]) => [code as number, name]));
/** The tail of the kernel host's stdout and stderr (its log at level warn). */
let kernelOutput = '';
const dir = mkdtempSync(join(tmpdir(), 'agentos-storm-'));
const mark = `STORM_${process.pid}_${Date.now()}`;
const pidsFile = join(dir, 'pids');
const clients: RawClient[] = [];
let kernelProcess: ChildProcess | undefined;

function recordedGroups(): Set<number> {
  if (!existsSync(pidsFile)) return new Set();
  const groups = new Set<number>();
  for (const line of readFileSync(pidsFile, 'utf8').split('\n')) {
    const leader = Number(line.split(' ')[0]);
    if (leader > 0) groups.add(leader);
  }
  return groups;
}

afterAll(() => {
  for (const client of clients) client.close();
  if (kernelProcess && kernelProcess.exitCode === null && kernelProcess.signalCode === null) kernelProcess.kill('SIGKILL');
  // Whatever a failed run left behind, found by the storm's mark (never by a recorded pid, which may be reused).
  for (const pid of markedProcesses(mark)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('crash storm', () => {
  it(`${AGENTS} process agents crash in a loop for ${STORM_MS / 1000} s: NOOP stays fast, no zombie, no orphan, no fd leak`, async ({
    annotate,
  }) => {
    const socketPath = join(dir, 'agentos.sock');
    const script = join(dir, 'crash.sh');
    writeFileSync(script, AGENT_SCRIPT);
    chmodSync(script, 0o755);
    const host = join(dir, 'kernel-host.mjs');
    writeFileSync(host, HOST_SCRIPT);

    // The kernel, in its own process.
    const kernel = spawn(process.execPath, ['--import', 'tsx', host, socketPath, join(dir, 'data')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    kernelProcess = kernel;
    const keep = (chunk: Buffer) => {
      kernelOutput = (kernelOutput + chunk.toString('utf8')).slice(-8192);
    };
    kernel.stdout?.on('data', keep);
    kernel.stderr?.on('data', keep);
    const exited = once(kernel, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const ready = await settles(() => kernelOutput.includes('kernel ready'), 20_000);
    expect(ready, `the kernel host did not start:\n${kernelOutput}`).toBe(true);
    const kernelPid = kernel.pid as number;

    const control = await RawClient.connect(socketPath);
    const probe = await RawClient.connect(socketPath);
    clients.push(control, probe);
    await noop(probe);
    await request(control, Op.LIST);
    // The kernel is still finishing its start after "ready" (the worker pool's thread boots, with
    // its own loop, pipes and tsx's files): the baseline is the count once it held for a second.
    let fdsBefore = fdCount(kernelPid);
    for (let steady = 0, waited = 0; steady < 10 && waited < 100; waited++) {
      await sleep(100);
      const now = fdCount(kernelPid);
      steady = now === fdsBefore ? steady + 1 : 0;
      fdsBefore = now;
    }
    const kindsBefore = fdKinds(kernelPid);

    // The storm.
    let serial = 0;
    let spawned = 0;
    /** Live agents of ours and the highest restart count LIST showed for each. */
    const live = new Map<number, number>();
    let retiredRestarts = 0;
    const spawnAgent = async (): Promise<void> => {
      serial += 1;
      const reply = await request<{ success: boolean; agent_id?: number; error?: string }>(control, Op.SPAWN, {
        name: `storm-${serial}`,
        script,
        env: { STORM_PIDS: pidsFile, STORM_MARK: mark, STORM_ORPHAN: serial % 2 === 0 ? '1' : '0' },
        restart_policy: 'always',
        max_restarts: 1000,
        restart_window: 1,
      });
      expect(reply.success, `SPAWN failed: ${JSON.stringify(reply)}; the kernel said:\n${kernelOutput}`).toBe(true);
      live.set(reply.agent_id as number, 0);
      spawned += 1;
    };
    const ourRows = async (): Promise<AgentInfo[]> => {
      const rows = await request<AgentInfo[]>(control, Op.LIST);
      return rows.filter((row) => row.kind === 'process' && live.has(row.id));
    };
    const killAgent = async (id: number): Promise<void> => {
      const reply = await request<{ success: boolean }>(control, Op.KILL, { id, signal: 'SIGKILL', grace_ms: 0 });
      expect(reply.success, `KILL ${id} failed: ${JSON.stringify(reply)}`).toBe(true);
      retiredRestarts += live.get(id) ?? 0;
      live.delete(id);
    };

    const stormStart = Date.now();
    const stormEnd = stormStart + STORM_MS;
    const latencies: number[] = [];
    const probing = (async () => {
      while (Date.now() < stormEnd) latencies.push(await noop(probe));
    })();

    for (let i = 0; i < AGENTS; i++) await spawnAgent();
    let maxZombies = 0;
    let nextScan = 0;
    while (Date.now() < stormEnd) {
      for (const row of await ourRows()) {
        live.set(row.id, Math.max(live.get(row.id) ?? 0, row.restarts));
        if (row.restarts >= RECYCLE_AT && Date.now() < stormEnd) {
          await killAgent(row.id);
          await spawnAgent();
        }
      }
      if (Date.now() >= nextScan) {
        // Once a second: reading /proc blocks this process, which also times the NOOPs.
        nextScan = Date.now() + 1000;
        maxZombies = Math.max(maxZombies, processes().filter((p) => p.ppid === kernelPid && p.state === 'Z').length);
      }
      await sleep(100);
    }
    await probing;

    // The storm is over: end every agent.
    for (const row of await ourRows()) live.set(row.id, Math.max(live.get(row.id) ?? 0, row.restarts));
    for (const id of [...live.keys()]) await killAgent(id);
    const leftover = (await request<AgentInfo[]>(control, Op.LIST)).filter((row) => row.kind === 'process');
    expect(leftover, 'process agents still listed after KILL').toEqual([]);

    const runs = readFileSync(pidsFile, 'utf8').trim().split('\n').length;
    const restarts = retiredRestarts;
    const groups = recordedGroups();
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const max = sorted[sorted.length - 1] ?? Number.NaN;

    // Nothing of any agent outlives it: no zombie child of the kernel, no live member of an agent's group
    // (one that carries the storm's mark: pids wrap at 32768 here, and another test's process may reuse one).
    // Zombies parented to PID 1 are left out: this container's init may not reap orphans.
    const zombies = () => processes().filter((p) => p.ppid === kernelPid && p.state === 'Z');
    const survivors = () => {
      const marked = new Set(markedProcesses(mark));
      return processes().filter((p) => groups.has(p.pgrp) && p.state !== 'Z' && marked.has(p.pid));
    };
    const settled = await settles(() => zombies().length === 0 && survivors().length === 0 && markedProcesses(mark).length === 0, 5_000);
    // The output pipes of an agent are closed at the latest 2 s after it exits.
    const fdsSettled = await settles(() => fdCount(kernelPid) <= fdsBefore + FD_SLACK, 5_000);
    const fdsAfter = fdCount(kernelPid);
    const afterMs = await noop(probe);

    const summary =
      `${latencies.length} NOOPs: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms; ` +
      `${spawned} agents spawned, ${runs} runs, ${restarts} restarts (LIST), ${groups.size} process groups; ` +
      `kernel fds ${fdsBefore} before, ${fdsAfter} after; at most ${maxZombies} zombie children seen during the storm`;
    await annotate(summary);

    const sample = (list: ProcStat[]) => `${list.length} ${JSON.stringify(list.slice(0, 5))}`;
    expect(settled, `left behind: zombie children ${sample(zombies())}; live group members ${sample(survivors())}`).toBe(true);
    expect(markedProcesses(mark), 'processes started by agents still alive').toEqual([]);
    expect(
      fdsSettled,
      `kernel fds grew from ${fdsBefore} ${JSON.stringify(kindsBefore)} to ${fdsAfter} ${JSON.stringify(fdKinds(kernelPid))}`,
    ).toBe(true);
    expect(restarts, summary).toBeGreaterThan(200);
    expect(runs, summary).toBeGreaterThanOrEqual(restarts);
    expect(latencies.length, summary).toBeGreaterThan(1000);
    expect(p99, summary).toBeLessThan(P99_BOUND_MS);
    expect(afterMs).toBeLessThan(1000);

    // A graceful stop still works after the storm.
    kernel.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }, kernelOutput).toEqual({ code: 0, signal: null });
    expect(markedProcesses(mark), 'processes started by agents alive after the kernel stopped').toEqual([]);
  }, 60_000);
});
