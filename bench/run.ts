/**
 * `npm run bench`: the kernel against its floor, in one run, on this machine.
 *
 * Every number is measured here and now, floor and kernel back to back (alternating,
 * over several rounds), because these machines are noisy: read the ratios, not the
 * absolute values, and prefer CPU per call to calls/s when the machine is shared. The
 * floor (floor-echo-server.ts), the kernel (kernel-host.ts, kernel-cli.ts) and the load
 * generators (load-client.ts, exec-interference.ts, idle-connections.ts,
 * connection-churn.ts) are separate processes, so the measured process does only its
 * own work.
 *
 * Options: --duration-ms N (per throughput window, default 2000), --rounds N (default 3),
 * --calls N (default 20000), --trials N (start-up trials, default 5), --markdown (also
 * print the table as Markdown), --cpu-prof (profile the kernel host; the directory is printed).
 * Prints the table on stdout, progress on stderr, and writes bench/results/<ISO time>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from './lib/agnt.js';
import { type CpuSnapshot, type CpuWindow, cpuWindow, snapshot } from './lib/cpu.js';
import type { EldReading, MemReading } from './lib/eld-channel.js';
import { BENCH_DIR, ROOT_DIR, rssMb, runClient, Server, sleep, spawnTs, waitForLine } from './lib/proc.js';
import type { LatencySummary } from './lib/stats.js';
import { formatMarkdown, formatTable, type Row, row } from './lib/table.js';
import { measureStartup, type StartupResult } from './startup.js';

const args = parseArgs(process.argv.slice(2));
const DURATION_MS = Number(args['duration-ms'] ?? 2000);
const WARMUP_MS = 300;
const ROUNDS = Number(args.rounds ?? 3);
const CALLS = Number(args.calls ?? 20_000);
const TRIALS = Number(args.trials ?? 5);
const LEVELS = [1, 4, 16, 64] as const;
const IDLE_CONNECTIONS = 1000;
const SETTLE_MS = 2000;

type Side = 'floor' | 'kernel';
const sides: Side[] = ['floor', 'kernel'];

interface ClientResult {
  calls: number;
  elapsed_ms: number;
}
interface LoadResult extends ClientResult {
  connections: number;
  calls_per_s: number;
  latency: LatencySummary;
}
interface ExecResult extends ClientResult {
  exec: Record<string, unknown>;
  latency: LatencySummary;
}
type Measured<T extends ClientResult = LoadResult> = T & { eld: EldReading; cpu: CpuWindow };

const began = performance.now();
const progress = (text: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1)}s] ${text}\n`);
const r1 = (value: number) => Math.round(value * 10) / 10;

/**
 * Run a client script against `server`: the server's event-loop histogram is reset when
 * the client's measured window opens and read when it closes, and CPU is sampled at both.
 */
async function measure<T extends ClientResult>(server: Server, script: string, clientArgs: string[]): Promise<Measured<T>> {
  let start: Promise<CpuSnapshot> | undefined;
  let end: Promise<[CpuSnapshot, EldReading]> | undefined;
  const result = await runClient<T>(script, clientArgs, (phase, clientCpuMs) => {
    if (phase === 'measure') {
      void server.eldReset();
      start = snapshot(server.pid, clientCpuMs);
    }
    if (phase === 'end') end = Promise.all([snapshot(server.pid, clientCpuMs), server.eldRead()]);
  });
  if (!start || !end) throw new Error(`${script} never reported its measured window`);
  const [stop, eld] = await end;
  return { ...result, eld, cpu: cpuWindow(await start, stop, result.calls) };
}

/** The round whose `key` is the median (the middle one of an odd count): a real run, not a blend. */
function medianRound<T>(rounds: T[], key: (value: T) => number): T {
  return [...rounds].sort((a, b) => key(a) - key(b))[(rounds.length - 1) >> 1] as T;
}

/**
 * The round pair (floor and kernel measured back to back) whose kernel / floor ratio is
 * the median over rounds: steadier than a ratio of medians when the machine's background
 * load comes and goes, and the floor, kernel and ratio shown all come from one pair.
 */
function medianPair(rounds: Record<Side, Measured[]>, key: (value: Measured) => number): { floor: number; kernel: number; ratio: number } {
  const pairs = rounds.kernel
    .map((k, i) => {
      const floor = key(rounds.floor[i] as Measured);
      const kernel = key(k);
      return { floor, kernel, ratio: kernel / floor };
    })
    .sort((a, b) => a.ratio - b.ratio);
  return pairs[(pairs.length - 1) >> 1] as { floor: number; kernel: number; ratio: number };
}

/** Floor first in even rounds, kernel first in odd ones, so drift does not favour one side. */
const order = (round: number): Side[] => (round % 2 === 0 ? sides : [...sides].reverse());

function git(...gitArgs: string[]): string {
  const result = spawnSync('git', gitArgs, { cwd: ROOT_DIR, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

/** The newest modification time under `root` (ms), 0 when it does not exist. */
async function newestMtime(root: string): Promise<number> {
  let newest = 0;
  let names: string[];
  try {
    names = await readdir(root, { recursive: true });
  } catch {
    return 0;
  }
  for (const name of names) {
    // Others edit src/ while this runs: a file may vanish between readdir and stat.
    const info = await stat(join(root, name)).catch(() => undefined);
    if (info) newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

const loads = () => loadavg().map((v) => Math.round(v * 100) / 100);
const distBuilt = existsSync(join(ROOT_DIR, 'dist/cli/main.js'));
const machine = {
  nproc: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  loadavg_at_start: loads(),
  commit: git('rev-parse', '--short', 'HEAD'),
  // Others edit src/ concurrently: say whether the measured sources match the commit.
  src_dirty: git('status', '--porcelain', '--', 'src') !== '',
  dist_built: distBuilt,
  // bin/agentos runs dist/ when it exists; say when dist/ is older than the sources measured.
  dist_stale: distBuilt && (await newestMtime(join(ROOT_DIR, 'dist'))) < (await newestMtime(join(ROOT_DIR, 'src'))),
};

const dir = await mkdtemp(join(tmpdir(), 'agentos-bench-'));
const floorSocket = join(dir, 'floor.sock');
const kernelSocket = join(dir, 'kernel.sock');
const kernelData = join(dir, 'data');
const cliArgs = ['kernel', '--socket', kernelSocket, '--data-dir', kernelData, '--http-port', '0', '--log-level', 'warn'];
const resultsDir = join(BENCH_DIR, 'results');

// 6. Spawn to accepting connections, and the idle RSS of each process as started.
progress(`start-up: ${TRIALS} trials per command (+1 warm-up)`);
let startup: Record<'floor' | 'kernel' | 'floor_plain' | 'dist', StartupResult | null>;
try {
  startup = {
    floor: await measureStartup(
      ['--import', 'tsx', `${BENCH_DIR}floor-echo-server.ts`, '--socket', floorSocket],
      floorSocket,
      TRIALS,
      SETTLE_MS,
    ),
    kernel: await measureStartup(['--import', 'tsx', `${BENCH_DIR}kernel-cli.ts`, ...cliArgs], kernelSocket, TRIALS, SETTLE_MS),
    // What users run once built: plain Node against bin/agentos (which prefers dist/). Information only.
    floor_plain: distBuilt
      ? await measureStartup([`${BENCH_DIR}floor-plain-listener.mjs`, '--socket', floorSocket], floorSocket, TRIALS, SETTLE_MS)
      : null,
    dist: distBuilt ? await measureStartup([join(ROOT_DIR, 'bin/agentos'), ...cliArgs], kernelSocket, TRIALS, SETTLE_MS) : null,
  };
} catch (error) {
  await rm(dir, { recursive: true, force: true });
  throw error;
}

progress('starting the floor and the kernel host');
// Profiles go to a temp directory (printed at the end), not into the repository.
const profileDir = args['cpu-prof'] ? await mkdtemp(join(tmpdir(), 'agentos-bench-prof-')) : undefined;
const kernelFlags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
const servers: Record<Side, Server> = {
  floor: await Server.start('floor', 'floor-echo-server.ts', ['--socket', floorSocket], floorSocket),
  kernel: await Server.start('kernel', 'kernel-host.ts', ['--socket', kernelSocket, '--data-dir', kernelData], kernelSocket, kernelFlags),
};

try {
  await sleep(SETTLE_MS);

  // 5. Idle memory; then 1,000 idle connections that each made one HELLO; then
  // connection churn with those 1,000 held open, and again without them.
  interface Memory {
    idle_rss_mb: number;
    idle_mem: MemReading;
    with_idle_conns_rss_mb: number;
    with_idle_conns_mem: MemReading;
    delta_mb: number;
    open_ms: number;
    failed_hellos: number;
    churn_with_idle_conns: Measured<ClientResult & { cycles_per_s: number }>;
    churn_alone: Measured<ClientResult & { cycles_per_s: number }>;
  }
  const memory = {} as Record<Side, Memory>;
  for (const side of sides) {
    progress(`${side}: idle memory, ${IDLE_CONNECTIONS} idle connections, connection churn`);
    const server = servers[side];
    const idleRss = await rssMb(server.pid);
    const idleMem = await server.mem();
    const holder = spawnTs('idle-connections.ts', ['--socket', server.socketPath, '--count', String(IDLE_CONNECTIONS)], { stdin: true });
    const ready = JSON.parse(await waitForLine(holder, (line) => line.startsWith('{"ready"'), 60_000)) as {
      open_ms: number;
      failed_hellos: number;
    };
    await sleep(1500);
    const loadedRss = await rssMb(server.pid);
    const loadedMem = await server.mem();
    const churnArgs = ['--socket', server.socketPath, '--duration-ms', '1500'];
    const churnWith = await measure<ClientResult & { cycles_per_s: number }>(server, 'connection-churn.ts', churnArgs);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.stdin?.end();
    await exited;
    await sleep(500);
    const churnAlone = await measure<ClientResult & { cycles_per_s: number }>(server, 'connection-churn.ts', churnArgs);
    memory[side] = {
      idle_rss_mb: idleRss,
      idle_mem: idleMem,
      with_idle_conns_rss_mb: loadedRss,
      with_idle_conns_mem: loadedMem,
      delta_mb: r1(loadedRss - idleRss),
      open_ms: ready.open_ms,
      failed_hellos: ready.failed_hellos,
      churn_with_idle_conns: churnWith,
      churn_alone: churnAlone,
    };
  }

  // 1. Sequential latency on one connection, ROUNDS rounds.
  const latencyRounds: Record<Side, Measured[]> = { floor: [], kernel: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of order(round)) {
      progress(`${side}: ${CALLS} sequential NOOPs on one connection (round ${round + 1}/${ROUNDS})`);
      const server = servers[side];
      const clientArgs = ['--socket', server.socketPath, '--connections', '1', '--calls', String(CALLS), '--warmup-calls', '5000'];
      latencyRounds[side].push(await measure<LoadResult>(server, 'load-client.ts', clientArgs));
    }
  }
  const latency: Record<Side, Measured> = {
    floor: medianRound(latencyRounds.floor, (m) => m.latency.p50_us),
    kernel: medianRound(latencyRounds.kernel, (m) => m.latency.p50_us),
  };

  // 2 and 4. Throughput by connection count, with the server's event-loop delay and CPU over each window.
  const throughputRounds: Record<string, Record<Side, Measured[]>> = {};
  const throughput: Record<string, Record<Side, Measured>> = {};
  for (const connections of LEVELS) {
    const rounds: Record<Side, Measured[]> = { floor: [], kernel: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of order(round)) {
        progress(`${side}: ${connections} connection(s) for ${DURATION_MS} ms (round ${round + 1}/${ROUNDS})`);
        const server = servers[side];
        const clientArgs = ['--socket', server.socketPath, '--connections', String(connections)];
        clientArgs.push('--duration-ms', String(DURATION_MS), '--warmup-ms', String(WARMUP_MS));
        rounds[side].push(await measure<LoadResult>(server, 'load-client.ts', clientArgs));
      }
    }
    throughputRounds[connections] = rounds;
    throughput[connections] = {
      floor: medianRound(rounds.floor, (m) => m.calls_per_s),
      kernel: medianRound(rounds.kernel, (m) => m.calls_per_s),
    };
  }

  // 3. NOOP latency on one connection while another runs EXEC `sleep 2`.
  const interference = {} as Record<Side, Measured<ExecResult>>;
  for (const side of sides) {
    progress(`${side}: NOOPs beside EXEC sleep 2`);
    const server = servers[side];
    interference[side] = await measure<ExecResult>(server, 'exec-interference.ts', ['--socket', server.socketPath, '--command', 'sleep 2']);
  }

  // The table.
  const at = (n: number, side: Side) => (throughput[n] as Record<Side, Measured>)[side];
  const rows: Row[] = [];
  const p50 = medianPair(latencyRounds, (m) => m.latency.p50_us);
  rows.push(
    row(`NOOP p50, 1 conn, ${CALLS / 1000}k sequential`, 'us', p50.floor, p50.kernel, '<= 1.5x floor', p50.ratio <= 1.5, p50.ratio),
  );
  const p99 = medianPair(latencyRounds, (m) => m.latency.p99_us);
  rows.push(row(`NOOP p99, 1 conn, ${CALLS / 1000}k sequential`, 'us', p99.floor, p99.kernel, '-', null, p99.ratio));
  const cpu1 = medianPair(latencyRounds, (m) => m.cpu.server_us_per_call);
  rows.push(row('server CPU per call, 1 conn', 'us', cpu1.floor, cpu1.kernel, '-', null, cpu1.ratio));
  for (const n of LEVELS) {
    const pair = medianPair(throughputRounds[n] as Record<Side, Measured[]>, (m) => m.calls_per_s);
    const target = n === 16 ? '>= 0.8x floor' : '-';
    const name = `calls/s, ${n} conn${n > 1 ? 's' : ''}`;
    rows.push(row(name, 'calls/s', pair.floor, pair.kernel, target, n === 16 ? pair.ratio >= 0.8 : null, pair.ratio));
  }
  const p99At16 = medianPair(throughputRounds[16] as Record<Side, Measured[]>, (m) => m.latency.p99_us);
  rows.push(row('NOOP p99, 16 conns', 'us', p99At16.floor, p99At16.kernel, '-', null, p99At16.ratio));
  for (const n of [16, 64]) {
    const pair = medianPair(throughputRounds[n] as Record<Side, Measured[]>, (m) => m.cpu.server_us_per_call);
    rows.push(row(`server CPU per call, ${n} conns`, 'us', pair.floor, pair.kernel, '-', null, pair.ratio));
  }
  const others = LEVELS.flatMap((n) =>
    sides.flatMap((side) => (throughputRounds[n] as Record<Side, Measured[]>)[side].map((m) => m.cpu.other_cores)),
  );
  const busiest = Math.max(...others);
  const meanOther = Math.round((others.reduce((sum, v) => sum + v, 0) / others.length) * 100) / 100;
  const kx = interference.kernel.latency.p99_us;
  rows.push(row('NOOP p99 beside EXEC sleep 2', 'us', interference.floor.latency.p99_us, kx, '<= 2 ms', kx <= 2000));
  rows.push(row('event-loop delay p99, 16 conns', 'ms', at(16, 'floor').eld.p99_ms, at(16, 'kernel').eld.p99_ms, '-', null));
  rows.push(row('event-loop delay p99, 64 conns', 'ms', at(64, 'floor').eld.p99_ms, at(64, 'kernel').eld.p99_ms, '-', null));
  rows.push(row('event-loop delay p99, EXEC window', 'ms', interference.floor.eld.p99_ms, interference.kernel.eld.p99_ms, '-', null));
  const ks = startup.kernel as StartupResult;
  const fs = startup.floor as StartupResult;
  rows.push(row('RSS idle, CLI from src (tsx)', 'MB', fs.idle_rss_mb, ks.idle_rss_mb, '<= 80 MB', ks.idle_rss_mb <= 80));
  rows.push(row('RSS idle, kernel host (tsx)', 'MB', memory.floor.idle_rss_mb, memory.kernel.idle_rss_mb, '-', null));
  const kd = memory.kernel.delta_mb;
  const idleOk = kd <= 50 && memory.kernel.failed_hellos === 0;
  rows.push(row(`RSS +${IDLE_CONNECTIONS} idle conns (HELLO each)`, 'MB', memory.floor.delta_mb, kd, '<= 50 MB', idleOk));
  const churn = (side: Side, key: 'churn_alone' | 'churn_with_idle_conns') => memory[side][key].cycles_per_s;
  rows.push(row('connect+NOOP+close/s, alone', '/s', churn('floor', 'churn_alone'), churn('kernel', 'churn_alone'), '-', null));
  rows.push(
    row(
      `connect+NOOP+close/s, ${IDLE_CONNECTIONS} open`,
      '/s',
      churn('floor', 'churn_with_idle_conns'),
      churn('kernel', 'churn_with_idle_conns'),
      '-',
      null,
    ),
  );
  rows.push(
    row(`spawn -> socket accepts, src (tsx)`, 'ms', fs.median_accept_ms, ks.median_accept_ms, '<= 500 ms', ks.median_accept_ms <= 500),
  );
  if (startup.dist && startup.floor_plain) {
    const note = machine.dist_stale ? ' (stale)' : '';
    rows.push(row(`spawn -> accepts, dist/${note}`, 'ms', startup.floor_plain.median_accept_ms, startup.dist.median_accept_ms, '-', null));
    rows.push(row(`RSS idle, dist/${note}`, 'MB', startup.floor_plain.idle_rss_mb, startup.dist.idle_rss_mb, '-', null));
  }

  const date = new Date();
  const results = {
    date: date.toISOString(),
    machine: { ...machine, loadavg_at_end: loads() },
    settings: {
      rounds: ROUNDS,
      duration_ms: DURATION_MS,
      warmup_ms: WARMUP_MS,
      calls: CALLS,
      trials: TRIALS,
      idle_connections: IDLE_CONNECTIONS,
      payload_bytes: 16,
    },
    rows,
    other_cores: { mean: meanOther, max: busiest },
    startup,
    memory,
    latency,
    latency_rounds: latencyRounds,
    throughput,
    throughput_rounds: throughputRounds,
    interference,
    total_s: Math.round((performance.now() - began) / 100) / 10,
  };
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${date.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);

  const dirty = machine.src_dirty ? ' + uncommitted src' : '';
  process.stdout.write(
    `\nAgentOS bench ${results.date}  (${machine.nproc} cores, ${machine.cpu}, Node ${machine.node}, ${machine.commit}${dirty})\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n\n`);
  process.stdout.write(
    `ratio = kernel / floor; rows measured in rounds show the back-to-back pair with the median ratio of ${ROUNDS} (every round is in the JSON)\n`,
  );
  process.stdout.write(`other processes on the machine during the throughput windows: mean ${meanOther} cores, max ${busiest} cores\n`);
  if (busiest > 0.25)
    process.stdout.write('note: the machine was shared, so calls/s are noisy; CPU per call and the paired ratios less so\n');
  if (args.markdown) process.stdout.write(`\n${formatMarkdown(rows)}\n\n`);
  process.stdout.write(`results: ${file}  (${results.total_s} s)\n`);
} finally {
  await Promise.all(sides.map((side) => servers[side].stop()));
  await rm(dir, { recursive: true, force: true });
  if (profileDir) process.stdout.write(`kernel host CPU profiles (main thread is *.0.001.cpuprofile): ${profileDir}\n`);
}
