/**
 * `npm run bench`: the kernel against its floor, in one run, on this machine.
 *
 * Every number is measured here and now, floor and kernel back to back (alternating,
 * over several rounds), because these machines are noisy: read the ratios, not the
 * absolute values, and prefer CPU per call to calls/s when the machine is shared. The
 * floor (floor-echo-server.ts), the kernel (kernel-host.ts, kernel-cli.ts) and the load
 * generators (load-client.ts, exec-interference.ts, idle-connections.ts,
 * connection-churn.ts) are separate processes, so the measured process does only its
 * own work. The agent questions (spawn-latency.ts, restart-latency.ts, many-actors.ts,
 * crash-storm.ts) run after those two servers have stopped, each with a fresh kernel.
 * Then the coordination services, each against a fresh kernel host: messaging (ipc-load.ts
 * with the TS client raw and through the SDK, python/ipc_bench.py, ipc-wakeup.ts, against
 * the relay floor floor-relay-server.ts) and the state store (state-load.ts, against
 * floor-sqlite.ts), the latter once per stateDurability.
 *
 * Options: --duration-ms N (per throughput window, default 2000), --rounds N (default 3),
 * --calls N (default 20000), --trials N (start-up trials, default 5), --spawn-trials N
 * (default 10), --restarts N (default 50), --actors N (default 10000), --storm-ms N (the
 * SPAWN storm, default 15000), --host-storm-ms N (the storm without backoff, default 8000;
 * 0 skips it), --ipc-senders N (4), --ipc-receivers N (4), --ipc-window N (64 SENDs in
 * flight per sender), --py-senders N (2), --py-receivers N (2), --wake-samples N (2000),
 * --state-calls N (5000 per sequential STORE/FETCH series), --only a,b (only these
 * sections: startup, memory, latency, throughput, exec, spawn, restart, actors, storm,
 * ipc, state, http, perms, world, tasks, relay), --relay-samples N (2000 NOOPs per side), --relay-agents N (64),
 * --relay-window N (16 in flight per agent), --relay-reconnects N (5 relay restarts), --http-calls N (2000 sequential GETs per side and round),
 * --world-calls N (3000 READs or WRITEs per world series; see world-section.ts), --task-subtasks N (10000
 * subtasks per tasks series), --task-samples N (2000 subtask round trips; see tasks-load.ts), --markdown (also print the table as Markdown),
 * --cpu-prof (profile the kernel host; the directory is printed).
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
import { type RelaySectionResult, relayRows, runRelaySection } from './relay-section.js';
import { measureStartup, type StartupResult } from './startup.js';
import { runTasksSection, type TasksSectionResult, tasksRows } from './tasks-section.js';
import { runWorldSection, type WorldSectionResult, worldRows } from './world-section.js';

const args = parseArgs(process.argv.slice(2));
const DURATION_MS = Number(args['duration-ms'] ?? 2000);
const WARMUP_MS = 300;
const ROUNDS = Number(args.rounds ?? 3);
const CALLS = Number(args.calls ?? 20_000);
const TRIALS = Number(args.trials ?? 5);
const SPAWN_TRIALS = Number(args['spawn-trials'] ?? 10);
const RESTARTS = Number(args.restarts ?? 50);
const ACTORS = Number(args.actors ?? 10_000);
const STORM_AGENTS = 50;
const STORM_MS = Number(args['storm-ms'] ?? 15_000);
const HOST_STORM_MS = Number(args['host-storm-ms'] ?? 8000);
const IPC_SENDERS = Number(args['ipc-senders'] ?? 4);
const IPC_RECEIVERS = Number(args['ipc-receivers'] ?? 4);
const IPC_WINDOW = Number(args['ipc-window'] ?? 64);
const PY_SENDERS = Number(args['py-senders'] ?? 2);
const PY_RECEIVERS = Number(args['py-receivers'] ?? 2);
const WAKE_SAMPLES = Number(args['wake-samples'] ?? 2000);
const STATE_CALLS = Number(args['state-calls'] ?? 5000);
const HTTP_CALLS = Number(args['http-calls'] ?? 2000);
const WORLD_CALLS = Number(args['world-calls'] ?? 3000);
const TASK_SUBTASKS = Number(args['task-subtasks'] ?? 10_000);
const TASK_SAMPLES = Number(args['task-samples'] ?? 2000);
const RELAY_SAMPLES = Number(args['relay-samples'] ?? 2000);
const RELAY_AGENTS = Number(args['relay-agents'] ?? 64);
const RELAY_WINDOW = Number(args['relay-window'] ?? 16);
const RELAY_RECONNECTS = Number(args['relay-reconnects'] ?? 5);
const PERMS_CONNECTIONS = 16;
const DURABILITIES = ['process', 'power'] as const;
const LEVELS = [1, 4, 16, 64] as const;
const IDLE_CONNECTIONS = 1000;
const SETTLE_MS = 2000;

const SECTIONS = [
  'startup',
  'memory',
  'latency',
  'throughput',
  'exec',
  'spawn',
  'restart',
  'actors',
  'storm',
  'ipc',
  'state',
  'http',
  'perms',
  'world',
  'tasks',
  'relay',
] as const;
type Section = (typeof SECTIONS)[number];
const only = args.only === undefined ? [...SECTIONS] : args.only.split(',').map((name) => name.trim());
for (const name of only) {
  if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: no section "${name}" (sections: ${SECTIONS.join(', ')})`);
}
const wants = (section: Section) => only.includes(section);

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

// What the agent questions' scripts report (see each script).
interface SpawnSide {
  trials: Record<string, number>[];
  median_first_syscall_ms: number;
  median_started_ms: number;
}
interface SpawnLatencyResult {
  trials: number;
  python3: string;
  interpreters: Record<string, { floor: SpawnSide; kernel: SpawnSide; overhead_ms: number; median_spawn_reply_ms: number }>;
}
interface RestartResult {
  restarts: number;
  actor: { summary: LatencySummary; wall_ms: number };
  process: { summary: LatencySummary; wall_ms: number };
  floors: { actor: LatencySummary; process: LatencySummary };
}
interface ActorsSide {
  count: number;
  ms: number;
  heap_kb_per_agent: number;
  rss_kb_per_agent: number;
  heap_delta_mb: number;
  rss_delta_mb: number;
}
interface ActorsResult {
  count: number;
  floor: ActorsSide;
  kernel: ActorsSide & { running: number };
  kernel_stop_ms: number;
}
interface StormClientResult extends ClientResult {
  agents: number;
  baseline: { calls: number; latency: LatencySummary };
  storm: LatencySummary;
  restarts: number;
  restarts_per_s: number;
  killed: number;
  agents_left: number;
  after: LatencySummary;
  after_calls: number;
  host_storm?: { calls: number; storm: LatencySummary; restarts: number; restarts_per_s: number; agents_left: number; after_calls: number };
}
// What the coordination-service scripts report (see each script).
interface IpcLoadResult extends ClientResult {
  senders: number;
  receivers: number;
  window: number;
  messages_per_s: number;
  sends_acked_per_s: number;
  refused: number;
  messages_per_recv_reply: number;
}
interface WakeResult extends ClientResult {
  latency: LatencySummary;
}
/** Every series in ROUNDS rounds, floor and kernel back to back; `sdk` is the kernel through the SDK, in the same rounds. */
interface IpcResult {
  rounds: Record<Side, Measured<IpcLoadResult>[]>;
  sdk_rounds: Measured<IpcLoadResult>[];
  python_rounds: Record<Side, Measured<IpcLoadResult>[]>;
  wakeup_rounds: Record<Side, Measured<WakeResult>[]>;
  idle_noop_rounds: Record<Side, Measured<WakeResult>[]>;
}
interface SqliteFloorResult {
  synchronous: string;
  sequential: LatencySummary;
  upserts_per_s: number;
  batch: number;
  batched_upserts_per_s: number;
}
interface StateClientResult extends ClientResult {
  keys: number;
  noop: LatencySummary;
  store: LatencySummary;
  store_new_keys: LatencySummary;
  fetch: LatencySummary;
  pipelined: { connections: number; window: number; writes_per_s: number; latency: LatencySummary };
}
/** What http-overhead.ts reports: direct fetch and HTTP syscall to the same loopback server, per round. */
interface HttpPair {
  direct: LatencySummary;
  kernel: LatencySummary;
  added_p50_us: number;
}
interface HttpResult extends ClientResult {
  rounds: HttpPair[];
  median: HttpPair;
}
/** Per durability, ROUNDS rounds of bare SQLite then a fresh kernel (or the other way round). */
type StateResult = Record<(typeof DURABILITIES)[number], { floor: SqliteFloorResult[]; kernel: Measured<StateClientResult>[] }>;
interface StormResult {
  result: StormClientResult;
  wire: { eld: EldReading; cpu: CpuWindow };
  host: { eld: EldReading; cpu: CpuWindow } | undefined;
}

const began = performance.now();
const progress = (text: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1)}s] ${text}\n`);
const r1 = (value: number) => Math.round(value * 10) / 10;

/**
 * Run a client script against `server`: the server's event-loop histogram is reset when
 * the client's measured window opens and read when it closes, and CPU is sampled at both.
 */
async function measure<T extends ClientResult>(
  server: Server,
  script: string,
  clientArgs: string[],
  options: { python?: boolean } = {},
): Promise<Measured<T>> {
  let start: Promise<CpuSnapshot> | undefined;
  let end: Promise<[CpuSnapshot, EldReading]> | undefined;
  const onPhase = (phase: string, clientCpuMs: number) => {
    if (phase === 'measure') {
      void server.eldReset();
      start = snapshot(server.pid, clientCpuMs);
    }
    if (phase === 'end') end = Promise.all([snapshot(server.pid, clientCpuMs), server.eldRead()]);
  };
  const result = await runClient<T>(script, clientArgs, onPhase, options);
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
function medianPair<T extends ClientResult = LoadResult>(
  rounds: Record<Side, Measured<T>[]>,
  key: (value: Measured<T>) => number,
): { floor: number; kernel: number; ratio: number } {
  const pairs = rounds.kernel
    .map((k, i) => {
      const floor = key(rounds.floor[i] as Measured<T>);
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
// The start-up and idle-memory targets are about what users run (`npm start`: dist/), so
// build it first when it is missing or older than the sources.
if (wants('startup')) {
  const missing = !existsSync(join(ROOT_DIR, 'dist/cli/main.js'));
  if (missing || (await newestMtime(join(ROOT_DIR, 'dist'))) < (await newestMtime(join(ROOT_DIR, 'src')))) {
    progress('building dist/ (npm run build) for the start-up rows');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT_DIR, stdio: 'ignore' });
    if (built.status !== 0) progress('npm run build failed: the dist/ rows measure what is there');
  }
}
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
let startup: Record<'floor' | 'kernel' | 'floor_plain' | 'dist', StartupResult | null> | undefined;
if (wants('startup')) {
  progress(`start-up: ${TRIALS} trials per command (+1 warm-up)`);
  try {
    startup = {
      floor: await measureStartup(
        ['--import', 'tsx', `${BENCH_DIR}floor-echo-server.ts`, '--socket', floorSocket],
        floorSocket,
        TRIALS,
        SETTLE_MS,
      ),
      kernel: await measureStartup(['--import', 'tsx', `${BENCH_DIR}kernel-cli.ts`, ...cliArgs], kernelSocket, TRIALS, SETTLE_MS),
      // What users run once built: plain Node against bin/agentos (which prefers dist/). The targets apply here.
      floor_plain: distBuilt
        ? await measureStartup([`${BENCH_DIR}floor-plain-listener.mjs`, '--socket', floorSocket], floorSocket, TRIALS, SETTLE_MS)
        : null,
      dist: distBuilt ? await measureStartup([join(ROOT_DIR, 'bin/agentos'), ...cliArgs], kernelSocket, TRIALS, SETTLE_MS) : null,
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

// Profiles go to a temp directory (printed at the end), not into the repository.
const profileDir = args['cpu-prof'] ? await mkdtemp(join(tmpdir(), 'agentos-bench-prof-')) : undefined;
const kernelFlags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
// Questions 1-5 share one floor and one kernel host, started once for all of them.
const noopSections = (['memory', 'latency', 'throughput', 'exec'] as const).filter(wants);
let servers: Record<Side, Server> | undefined;
/** Kernel hosts started for one agent question, stopped when it is done (or in `finally`). */
const agentHosts = new Set<Server>();

try {
  if (noopSections.length > 0) {
    progress('starting the floor and the kernel host');
    servers = {
      floor: await Server.start('floor', 'floor-echo-server.ts', ['--socket', floorSocket], floorSocket),
      kernel: await Server.start(
        'kernel',
        'kernel-host.ts',
        ['--socket', kernelSocket, '--data-dir', kernelData],
        kernelSocket,
        kernelFlags,
      ),
    };
    await sleep(SETTLE_MS);
  }

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
  let memory: Record<Side, Memory> | undefined;
  if (servers && wants('memory')) {
    memory = {} as Record<Side, Memory>;
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
  }

  // 1. Sequential latency on one connection, ROUNDS rounds.
  let latencyRounds: Record<Side, Measured[]> | undefined;
  let latency: Record<Side, Measured> | undefined;
  if (servers && wants('latency')) {
    latencyRounds = { floor: [], kernel: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of order(round)) {
        progress(`${side}: ${CALLS} sequential NOOPs on one connection (round ${round + 1}/${ROUNDS})`);
        const server = servers[side];
        const clientArgs = ['--socket', server.socketPath, '--connections', '1', '--calls', String(CALLS), '--warmup-calls', '5000'];
        latencyRounds[side].push(await measure<LoadResult>(server, 'load-client.ts', clientArgs));
      }
    }
    latency = {
      floor: medianRound(latencyRounds.floor, (m) => m.latency.p50_us),
      kernel: medianRound(latencyRounds.kernel, (m) => m.latency.p50_us),
    };
  }

  // 2 and 4. Throughput by connection count, with the server's event-loop delay and CPU over each window.
  let throughputRounds: Record<string, Record<Side, Measured[]>> | undefined;
  let throughput: Record<string, Record<Side, Measured>> | undefined;
  if (servers && wants('throughput')) {
    throughputRounds = {};
    throughput = {};
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
  }

  // 3. NOOP latency on one connection while another runs EXEC `sleep 2`.
  let interference: Record<Side, Measured<ExecResult>> | undefined;
  if (servers && wants('exec')) {
    interference = {} as Record<Side, Measured<ExecResult>>;
    for (const side of sides) {
      progress(`${side}: NOOPs beside EXEC sleep 2`);
      const server = servers[side];
      interference[side] = await measure<ExecResult>(server, 'exec-interference.ts', [
        '--socket',
        server.socketPath,
        '--command',
        'sleep 2',
      ]);
    }
  }

  // The agent questions run alone: the floor and the kernel host of questions 1-5 stop first.
  if (servers) {
    const running = servers;
    servers = undefined;
    await Promise.all(sides.map((side) => running[side].stop()));
  }

  // 7. Spawn to first syscall, node and python, against the bare interpreter.
  let spawnLatency: SpawnLatencyResult | undefined;
  if (wants('spawn')) {
    progress(`spawn -> first syscall: ${SPAWN_TRIALS} trials per interpreter and side (+1 warm-up)`);
    const host = await agentHost('spawn', kernelFlags);
    spawnLatency = await runClient<SpawnLatencyResult>('spawn-latency.ts', [
      '--socket',
      host.socketPath,
      '--data-dir',
      join(dir, 'spawn-data'),
      '--trials',
      String(SPAWN_TRIALS),
    ]);
    await stopHost(host);
  }

  // 8. Crash to running again, without backoff (the script is its own kernel host).
  let restart: RestartResult | undefined;
  if (wants('restart')) {
    progress(`crash -> running: ${RESTARTS} restarts of an in-kernel actor, then of a process`);
    restart = await runClient<RestartResult>('restart-latency.ts', ['--restarts', String(RESTARTS)], undefined, { nodeFlags: kernelFlags });
  }

  // 9. 10,000 in-process agents (a fresh kernel host of its own, with --expose-gc).
  let actors: ActorsResult | undefined;
  if (wants('actors')) {
    progress(`${ACTORS} in-process agents: bare actors, then kernel.spawn`);
    actors = await runClient<ActorsResult>('many-actors.ts', ['--count', String(ACTORS)], undefined, {
      nodeFlags: ['--expose-gc', ...kernelFlags],
    });
  }

  // 10. NOOP latency during crash storms: over SPAWN (default backoff), then without backoff.
  let storm: StormResult | undefined;
  if (wants('storm')) {
    progress(
      `crash storm: ${STORM_AGENTS} agents, ${STORM_MS} ms over SPAWN${HOST_STORM_MS > 0 ? `, ${HOST_STORM_MS} ms without backoff` : ''}`,
    );
    const host = await agentHost('storm', kernelFlags);
    storm = await crashStorm(host);
    await stopHost(host);
  }

  // 11-12. Messaging: SEND -> RECV end to end (TS raw, TS SDK, Python) and RECV's wake-up,
  // against the relay floor; both servers fresh, nothing else running.
  let ipc: IpcResult | undefined;
  if (wants('ipc')) {
    const relaySocket = join(dir, 'relay.sock');
    const relay = await Server.start('floor', 'floor-relay-server.ts', ['--socket', relaySocket], relaySocket);
    agentHosts.add(relay);
    const host = await agentHost('ipc', kernelFlags);
    const pair: Record<Side, Server> = { floor: relay, kernel: host };
    const loadArgs = (server: Server) => [
      '--socket',
      server.socketPath,
      '--senders',
      String(IPC_SENDERS),
      '--receivers',
      String(IPC_RECEIVERS),
      '--window',
      String(IPC_WINDOW),
      '--duration-ms',
      String(DURATION_MS),
      '--warmup-ms',
      '500',
    ];
    const pyArgs = (server: Server) => [
      '--socket',
      server.socketPath,
      '--senders',
      String(PY_SENDERS),
      '--receivers',
      String(PY_RECEIVERS),
      '--window',
      String(IPC_WINDOW),
      '--duration-ms',
      String(DURATION_MS),
    ];
    const both = <T extends ClientResult>(): Record<Side, Measured<T>[]> => ({ floor: [], kernel: [] });
    ipc = { rounds: both(), sdk_rounds: [], python_rounds: both(), wakeup_rounds: both(), idle_noop_rounds: both() };
    const flows = `${IPC_SENDERS} senders -> ${IPC_RECEIVERS} receivers`;
    for (let round = 0; round < ROUNDS; round++) {
      const of = `(round ${round + 1}/${ROUNDS})`;
      for (const side of order(round)) {
        progress(`${side}: SEND -> RECV, ${flows}, TS raw ${of}`);
        ipc.rounds[side].push(await measure<IpcLoadResult>(pair[side], 'ipc-load.ts', loadArgs(pair[side])));
        if (side === 'kernel') {
          progress(`kernel: SEND -> RECV, ${flows}, TS SDK (AgentOSClient) ${of}`);
          ipc.sdk_rounds.push(await measure<IpcLoadResult>(host, 'ipc-load.ts', [...loadArgs(host), '--mode', 'sdk']));
        }
      }
      for (const side of order(round)) {
        progress(`${side}: SEND -> RECV, Python client, ${PY_SENDERS} -> ${PY_RECEIVERS} processes ${of}`);
        ipc.python_rounds[side].push(await measure<IpcLoadResult>(pair[side], 'python/ipc_bench.py', pyArgs(pair[side]), { python: true }));
      }
      for (const side of order(round)) {
        progress(`${side}: RECV wake-up after SEND, then NOOP after the same idle pause, ${WAKE_SAMPLES} samples each ${of}`);
        const wakeArgs = ['--socket', pair[side].socketPath, '--samples', String(WAKE_SAMPLES)];
        ipc.wakeup_rounds[side].push(await measure<WakeResult>(pair[side], 'ipc-wakeup.ts', wakeArgs));
        ipc.idle_noop_rounds[side].push(await measure<WakeResult>(pair[side], 'ipc-wakeup.ts', [...wakeArgs, '--shape', 'noop']));
      }
    }
    await stopHost(relay);
    await stopHost(host);
  }

  // 13. The state store: better-sqlite3 alone, then STORE and FETCH through a fresh kernel,
  // for each stateDurability.
  let state: StateResult | undefined;
  if (wants('state')) {
    state = { process: { floor: [], kernel: [] }, power: { floor: [], kernel: [] } };
    for (const durability of DURABILITIES) {
      const synchronous = durability === 'power' ? 'FULL' : 'NORMAL';
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of order(round)) {
          const name = `state-${durability}-${round}`;
          progress(`${side}: state, ${durability} (synchronous=${synchronous}) (round ${round + 1}/${ROUNDS})`);
          if (side === 'floor') {
            const sqliteArgs = ['--dir', join(dir, `sqlite-${name}`), '--synchronous', synchronous, '--calls', String(STATE_CALLS)];
            state[durability].floor.push(
              await runClient<SqliteFloorResult>('floor-sqlite.ts', [...sqliteArgs, '--duration-ms', String(DURATION_MS)]),
            );
            continue;
          }
          // A fresh kernel and state.db each round: the new-key series starts from the same count.
          const host = await agentHost(name, kernelFlags, ['--state-durability', durability]);
          const stateArgs = ['--socket', host.socketPath, '--calls', String(STATE_CALLS), '--duration-ms', String(DURATION_MS)];
          state[durability].kernel.push(await measure<StateClientResult>(host, 'state-load.ts', stateArgs));
          await stopHost(host);
        }
      }
    }
  }

  // 14. HTTP: the same GET to a loopback server, fetched directly and through the HTTP syscall.
  let http: HttpResult | undefined;
  if (wants('http')) {
    progress('http: direct fetch vs the HTTP syscall, same loopback server');
    const target = spawnTs('http-target.ts', []);
    try {
      const ready = await waitForLine(target, (line) => line.includes('http target ready'));
      const url = ready.slice(ready.indexOf('url=') + 4).trim();
      const host = await agentHost('http', kernelFlags);
      const hostArgs = ['--socket', host.socketPath, '--data-dir', join(dir, 'http-data'), '--url', url];
      http = await runClient<HttpResult>('http-overhead.ts', [...hostArgs, '--calls', String(HTTP_CALLS), '--rounds', String(ROUNDS)]);
      await stopHost(host);
    } finally {
      target.kill('SIGTERM');
    }
  }

  // 15. Permission checks: READ and WRITE (the most checked calls) against a kernel with
  // checks on and one with permissionChecks: false, alternating, one fresh pair per section.
  type PermsSide = 'on' | 'off';
  let perms: Record<'read' | 'write', Record<PermsSide, LoadResult[]>> | undefined;
  if (wants('perms')) {
    progress(`perms: READ and WRITE calls/s at ${PERMS_CONNECTIONS} connections, permission checks on vs off`);
    perms = { read: { on: [], off: [] }, write: { on: [], off: [] } };
    const hosts = {
      on: await agentHost('perms-on', kernelFlags),
      off: await agentHost('perms-off', kernelFlags, ['--permission-checks', 'off']),
    };
    const work = await mkdtemp(join('/tmp', 'agentos-bench-perms-'));
    try {
      const file = join(work, 'checked.txt');
      await writeFile(file, 'x'.repeat(512));
      // Unmeasured first: each kernel starts its worker threads (tsx compiles them) under load.
      for (const side of ['on', 'off'] as const) {
        await runClient<LoadResult>('perms-load.ts', [
          '--socket',
          hosts[side].socketPath,
          '--file',
          file,
          '--op',
          'read',
          '--duration-ms',
          '2000',
        ]);
      }
      for (let r = 0; r < ROUNDS; r++) {
        for (const op of ['read', 'write'] as const) {
          for (const side of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
            const clientArgs = ['--socket', hosts[side].socketPath, '--file', file, '--op', op];
            clientArgs.push('--connections', String(PERMS_CONNECTIONS), '--duration-ms', String(DURATION_MS));
            perms[op][side].push(await runClient<LoadResult>('perms-load.ts', clientArgs));
          }
        }
      }
    } finally {
      await Promise.all([stopHost(hosts.on), stopHost(hosts.off)]);
      await rm(work, { recursive: true, force: true });
    }
  }

  // 16. Worlds (world-section.ts): member READ/WRITE vs the host, creating, snapshotting and
  // restoring a world mirroring 10,000 files, and the chaos scheduler's lateness.
  let world: WorldSectionResult | undefined;
  if (wants('world')) {
    world = await runWorldSection({
      startHost: () => agentHost('world', kernelFlags),
      stopHost,
      dir,
      rounds: ROUNDS,
      calls: WORLD_CALLS,
      nodeFlags: kernelFlags,
      progress,
    });
  }

  // 17. Tasks (tasks-section.ts): subtasks/s through role dispatch with 8 workers vs the same
  // message chains over plain IPC, and one subtask's round trip vs 3 NOOPs.
  let tasks: TasksSectionResult | undefined;
  if (wants('tasks')) {
    tasks = await runTasksSection({
      startHost: () => agentHost('tasks', kernelFlags),
      stopHost,
      rounds: ROUNDS,
      subtasks: TASK_SUBTASKS,
      samples: TASK_SAMPLES,
      progress,
    });
  }

  // 18. Relay (relay-section.ts): the latency the relay path adds over the socket, 64 remote
  // agents through one relay against as many socket clients, and reconnects after a relay restart.
  let relayLink: RelaySectionResult | undefined;
  if (wants('relay')) {
    relayLink = await runRelaySection({
      startHost: (hostArgs) => agentHost('relay-kernel', kernelFlags, hostArgs),
      stopHost,
      dir,
      samples: RELAY_SAMPLES,
      agents: RELAY_AGENTS,
      window: RELAY_WINDOW,
      durationMs: DURATION_MS,
      rounds: ROUNDS,
      reconnects: RELAY_RECONNECTS,
      progress,
    });
  }

  // The table.
  const rows: Row[] = [];
  if (latencyRounds) {
    const p50 = medianPair(latencyRounds, (m) => m.latency.p50_us);
    rows.push(
      row(`NOOP p50, 1 conn, ${CALLS / 1000}k sequential`, 'us', p50.floor, p50.kernel, '<= 1.5x floor', p50.ratio <= 1.5, p50.ratio),
    );
    const p99 = medianPair(latencyRounds, (m) => m.latency.p99_us);
    rows.push(row(`NOOP p99, 1 conn, ${CALLS / 1000}k sequential`, 'us', p99.floor, p99.kernel, '-', null, p99.ratio));
    const cpu1 = medianPair(latencyRounds, (m) => m.cpu.server_us_per_call);
    rows.push(row('server CPU per call, 1 conn', 'us', cpu1.floor, cpu1.kernel, '-', null, cpu1.ratio));
  }
  let meanOther: number | undefined;
  let busiest: number | undefined;
  if (throughputRounds && throughput) {
    const at = (n: number, side: Side) => ((throughput as Record<string, Record<Side, Measured>>)[n] as Record<Side, Measured>)[side];
    const roundsAt = (n: number) => (throughputRounds as Record<string, Record<Side, Measured[]>>)[n] as Record<Side, Measured[]>;
    for (const n of LEVELS) {
      const pair = medianPair(roundsAt(n), (m) => m.calls_per_s);
      const target = n === 16 ? '>= 0.8x floor' : '-';
      const name = `calls/s, ${n} conn${n > 1 ? 's' : ''}`;
      rows.push(row(name, 'calls/s', pair.floor, pair.kernel, target, n === 16 ? pair.ratio >= 0.8 : null, pair.ratio));
    }
    const p99At16 = medianPair(roundsAt(16), (m) => m.latency.p99_us);
    rows.push(row('NOOP p99, 16 conns', 'us', p99At16.floor, p99At16.kernel, '-', null, p99At16.ratio));
    for (const n of [16, 64]) {
      const pair = medianPair(roundsAt(n), (m) => m.cpu.server_us_per_call);
      rows.push(row(`server CPU per call, ${n} conns`, 'us', pair.floor, pair.kernel, '-', null, pair.ratio));
    }
    const others = LEVELS.flatMap((n) => sides.flatMap((side) => roundsAt(n)[side].map((m) => m.cpu.other_cores)));
    busiest = Math.max(...others);
    meanOther = Math.round((others.reduce((sum, v) => sum + v, 0) / others.length) * 100) / 100;
    if (interference) pushInterference(rows, interference);
    rows.push(row('event-loop delay p99, 16 conns', 'ms', at(16, 'floor').eld.p99_ms, at(16, 'kernel').eld.p99_ms, '-', null));
    rows.push(row('event-loop delay p99, 64 conns', 'ms', at(64, 'floor').eld.p99_ms, at(64, 'kernel').eld.p99_ms, '-', null));
  } else if (interference) {
    pushInterference(rows, interference);
  }
  if (interference) {
    rows.push(row('event-loop delay p99, EXEC window', 'ms', interference.floor.eld.p99_ms, interference.kernel.eld.p99_ms, '-', null));
  }
  if (startup) {
    const ks = startup.kernel as StartupResult;
    const fs = startup.floor as StartupResult;
    rows.push(row('RSS idle, CLI from src (tsx)', 'MB', fs.idle_rss_mb, ks.idle_rss_mb, '-', null));
  }
  if (memory) {
    rows.push(row('RSS idle, kernel host (tsx)', 'MB', memory.floor.idle_rss_mb, memory.kernel.idle_rss_mb, '-', null));
    const kd = memory.kernel.delta_mb;
    const idleOk = kd <= 50 && memory.kernel.failed_hellos === 0;
    rows.push(row(`RSS +${IDLE_CONNECTIONS} idle conns (HELLO each)`, 'MB', memory.floor.delta_mb, kd, '<= 50 MB', idleOk));
    const mem = memory;
    const churn = (side: Side, key: 'churn_alone' | 'churn_with_idle_conns') => mem[side][key].cycles_per_s;
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
  }
  if (startup) {
    const ks = startup.kernel as StartupResult;
    const fs = startup.floor as StartupResult;
    rows.push(row(`spawn -> socket accepts, src (tsx)`, 'ms', fs.median_accept_ms, ks.median_accept_ms, '-', null));
    if (startup.dist && startup.floor_plain) {
      const note = machine.dist_stale ? ' (stale)' : '';
      const { dist, floor_plain: plain } = startup;
      rows.push(
        row(
          `spawn -> accepts, dist/${note}`,
          'ms',
          plain.median_accept_ms,
          dist.median_accept_ms,
          '<= 500 ms',
          dist.median_accept_ms <= 500,
        ),
      );
      rows.push(row(`RSS idle, dist/${note}`, 'MB', plain.idle_rss_mb, dist.idle_rss_mb, '<= 80 MB', dist.idle_rss_mb <= 80));
    }
  }
  if (spawnLatency) {
    for (const [interpreter, result] of Object.entries(spawnLatency.interpreters)) {
      const floor = result.floor.median_first_syscall_ms;
      const kernel = result.kernel.median_first_syscall_ms;
      rows.push(row(`spawn -> first syscall, ${interpreter}`, 'ms', floor, kernel, '-', null));
      rows.push(row(`  overhead over bare ${interpreter}`, 'ms', null, result.overhead_ms, '<= 20 ms', result.overhead_ms <= 20));
      rows.push(row(`  SPAWN -> reply (${interpreter} running)`, 'ms', null, result.median_spawn_reply_ms, '-', null));
    }
  }
  if (restart) {
    // Floors: createActor().start() of the same machine; spawn() of the same command until 'spawn'.
    for (const kind of ['actor', 'process'] as const) {
      const kernel = restart[kind].summary;
      const floor = restart.floors[kind];
      const what = kind === 'actor' ? 'in-kernel actor' : 'process (sh)';
      rows.push(row(`crash -> running p50, ${what}`, 'us', floor.p50_us, kernel.p50_us, '<= 50 ms', kernel.p50_us <= 50_000));
      rows.push(row(`crash -> running p99, ${what}`, 'us', floor.p99_us, kernel.p99_us, '-', null));
    }
  }
  if (actors) {
    const k = actors.kernel;
    const f = actors.floor;
    const allRunning = k.running === actors.count;
    rows.push(row(`${actors.count / 1000}k in-process agents, start all`, 'ms', f.ms, k.ms, '<= 2 s', k.ms <= 2000 && allRunning));
    rows.push(
      row('heap per in-process agent (after GC)', 'KB', f.heap_kb_per_agent, k.heap_kb_per_agent, '<= 20 KB', k.heap_kb_per_agent <= 20),
    );
    rows.push(row('RSS per in-process agent', 'KB', f.rss_kb_per_agent, k.rss_kb_per_agent, '-', null));
    rows.push(row(`kernel.stop() with ${actors.count / 1000}k agents`, 'ms', null, actors.kernel_stop_ms, '-', null));
  }
  if (storm) {
    const r = storm.result;
    // The kernel must still answer, with every storm agent gone, for the row to pass.
    const healthy = r.agents_left === 0 && r.killed === r.agents && r.after_calls > 0;
    const base = r.baseline.latency.p99_us;
    const stormOk = r.storm.p99_us <= 5000 && healthy;
    rows.push(row(`NOOP p99, SPAWN crash storm (${r.agents} agents)`, 'us', base, r.storm.p99_us, '<= 5 ms', stormOk));
    rows.push(row('restarts/s, SPAWN storm (default backoff)', '/s', null, r.restarts_per_s, '-', null));
    rows.push(row('event-loop delay p99, SPAWN storm', 'ms', null, storm.wire.eld.p99_ms, '-', null));
    rows.push(row('kernel CPU over the SPAWN storm window', 'cores', null, storm.wire.cpu.server_cores, '-', null));
    const h = r.host_storm;
    if (h && storm.host) {
      // The same target: a storm without backoff is the one the restart question is about.
      const hostOk = h.storm.p99_us <= 5000 && h.agents_left === 0 && h.after_calls > 0;
      rows.push(row(`NOOP p99, storm without backoff (${r.agents})`, 'us', base, h.storm.p99_us, '<= 5 ms', hostOk));
      rows.push(row('restarts/s, storm without backoff', '/s', null, h.restarts_per_s, '-', null));
      rows.push(row('event-loop delay p99, storm without backoff', 'ms', null, storm.host.eld.p99_ms, '-', null));
      rows.push(row('kernel CPU over the no-backoff window', 'cores', null, storm.host.cpu.server_cores, '-', null));
    }
  }

  if (ipc) {
    const tput = medianPair(ipc.rounds, (m) => m.messages_per_s);
    const label = `${IPC_SENDERS} -> ${IPC_RECEIVERS} conns`;
    rows.push(
      row(`messages/s SEND->RECV, TS raw, ${label}`, 'msg/s', tput.floor, tput.kernel, '>= 50,000/s', tput.kernel >= 50_000, tput.ratio),
    );
    const cpu = medianPair(ipc.rounds, (m) => m.cpu.server_us_per_call);
    rows.push(row('server CPU per message, TS raw', 'us', cpu.floor, cpu.kernel, '-', null, cpu.ratio));
    // The SDK run against the raw floor of the same round.
    const sdk = medianPair({ floor: ipc.rounds.floor, kernel: ipc.sdk_rounds }, (m) => m.messages_per_s);
    rows.push(
      row(`messages/s, TS SDK AgentOSClient, ${label}`, 'msg/s', sdk.floor, sdk.kernel, '>= 50,000/s', sdk.kernel >= 50_000, sdk.ratio),
    );
    const sdkCpu = medianPair({ floor: ipc.rounds.kernel, kernel: ipc.sdk_rounds }, (m) => m.cpu.client_cores);
    rows.push(row('  load process CPU, raw -> SDK', 'cores', sdkCpu.floor, sdkCpu.kernel, '-', null, sdkCpu.ratio));
    const py = medianPair(ipc.python_rounds, (m) => m.messages_per_s);
    const pyLabel = `${PY_SENDERS} -> ${PY_RECEIVERS} procs`;
    rows.push(row(`messages/s, Python client, ${pyLabel}`, 'msg/s', py.floor, py.kernel, '>= 50,000/s', py.kernel >= 50_000, py.ratio));
    const pyCpu = medianPair(ipc.python_rounds, (m) => m.cpu.server_us_per_call);
    rows.push(row('server CPU per message, Python', 'us', pyCpu.floor, pyCpu.kernel, '-', null, pyCpu.ratio));
    const pyClient = medianPair(ipc.python_rounds, (m) => m.cpu.client_cores);
    rows.push(row('  Python processes CPU', 'cores', pyClient.floor, pyClient.kernel, '-', null, pyClient.ratio));
    const kernelRuns = [...ipc.rounds.kernel, ...ipc.sdk_rounds, ...ipc.python_rounds.kernel];
    rows.push(
      row(
        'SENDs refused (mailbox full), kernel',
        '-',
        null,
        kernelRuns.reduce((sum, m) => sum + m.refused, 0),
        '-',
        null,
      ),
    );
    const wake50 = medianPair(ipc.wakeup_rounds, (m) => m.latency.p50_us);
    rows.push(row('RECV wake-up after SEND p50', 'us', wake50.floor, wake50.kernel, '-', null, wake50.ratio));
    const wake99 = medianPair(ipc.wakeup_rounds, (m) => m.latency.p99_us);
    rows.push(row('RECV wake-up after SEND p99', 'us', wake99.floor, wake99.kernel, '<= 1 ms', wake99.kernel <= 1000, wake99.ratio));
    const idle50 = medianPair(ipc.idle_noop_rounds, (m) => m.latency.p50_us);
    rows.push(row('  NOOP round trip after the same 1 ms idle p50', 'us', idle50.floor, idle50.kernel, '-', null, idle50.ratio));
    const idle99 = medianPair(ipc.idle_noop_rounds, (m) => m.latency.p99_us);
    rows.push(row('  NOOP round trip after the same 1 ms idle p99', 'us', idle99.floor, idle99.kernel, '-', null, idle99.ratio));
  }
  if (state) {
    /** The round whose `key` is the median: floor and kernel shown from that round. */
    const median = <T>(values: T[], key: (value: T) => number): number => {
      const order = values.map((value, i) => ({ i, v: key(value) })).sort((a, b) => a.v - b.v);
      return (order[(order.length - 1) >> 1] as { i: number }).i;
    };
    for (const durability of DURABILITIES) {
      const { floor: floors, kernel: kernels } = state[durability];
      const tag = durability === 'process' ? 'process (default)' : 'power';
      const targeted = durability === 'process';
      const at = (key: (k: Measured<StateClientResult>) => number) => kernels[median(kernels, key)] as Measured<StateClientResult>;
      // Floor of the latency rows: the NOOP round trip on the same socket, in the same run.
      const store = at((k) => k.store.p50_us);
      const storeOk = targeted ? store.store.p50_us <= 100 : null;
      rows.push(
        row(`STORE p50, 1 conn sequential, ${tag}`, 'us', store.noop.p50_us, store.store.p50_us, targeted ? '<= 100 us' : '-', storeOk),
      );
      const bare = floors[median(floors, (f) => f.sequential.p50_us)] as SqliteFloorResult;
      rows.push(row(`  bare SQLite upsert p50, synchronous=${bare.synchronous}`, 'us', bare.sequential.p50_us, null, '-', null));
      const p99 = at((k) => k.store.p99_us);
      rows.push(row(`STORE p99, ${tag}`, 'us', p99.noop.p99_us, p99.store.p99_us, '-', null));
      const fresh = at((k) => k.store_new_keys.p50_us);
      const grown = `${fresh.keys.toLocaleString('en-US')}->${(fresh.keys + STATE_CALLS).toLocaleString('en-US')} keys`;
      rows.push(row(`STORE p50, new key (${grown}), ${tag}`, 'us', fresh.noop.p50_us, fresh.store_new_keys.p50_us, '-', null));
      if (targeted) {
        const fetch50 = at((k) => k.fetch.p50_us);
        rows.push(row('FETCH p50, 1 conn sequential', 'us', fetch50.noop.p50_us, fetch50.fetch.p50_us, '-', null));
        const fetch99 = at((k) => k.fetch.p99_us);
        rows.push(row('FETCH p99', 'us', fetch99.noop.p99_us, fetch99.fetch.p99_us, '-', null));
      }
      // Writes/s: the round pair (bare SQLite, kernel) with the median ratio.
      const ratios = kernels.map((k, i) => k.pipelined.writes_per_s / (floors[i] as SqliteFloorResult).upserts_per_s);
      const w = median(ratios, (v) => v);
      const k = kernels[w] as Measured<StateClientResult>;
      const p = k.pipelined;
      const name = `STORE writes/s, ${p.connections} conns x ${p.window} pipelined, ${tag}`;
      rows.push(row(name, '/s', (floors[w] as SqliteFloorResult).upserts_per_s, p.writes_per_s, '-', null));
      const cpu = at((m) => m.cpu.server_us_per_call);
      rows.push(row(`server CPU per pipelined STORE, ${tag}`, 'us', null, cpu.cpu.server_us_per_call, '-', null));
      if (!targeted) {
        const batched = floors[median(floors, (f) => f.batched_upserts_per_s)] as SqliteFloorResult;
        rows.push(row(`  bare SQLite upserts/s, ${batched.batch} per commit, FULL`, '/s', batched.batched_upserts_per_s, null, '-', null));
      }
    }
  }
  if (http) {
    const { direct, kernel: k, added_p50_us: added } = http.median;
    rows.push(row('HTTP GET p50, loopback, 1 conn sequential', 'us', direct.p50_us, k.p50_us, '-', null));
    rows.push(row('  added by the HTTP syscall p50', 'us', null, added, '<= 1 ms', added <= 1000));
    rows.push(row('HTTP GET p99', 'us', direct.p99_us, k.p99_us, '-', null));
  }

  if (perms) {
    for (const op of ['read', 'write'] as const) {
      // The round whose off/on ratio is the median: the cost of the checks in calls/s.
      const ratios = perms[op].on.map((on, i) => (perms[op].off[i] as LoadResult).calls_per_s / on.calls_per_s);
      const at = ratios.indexOf(medianRound(ratios, (v) => v));
      const on = perms[op].on[at] as LoadResult;
      const off = perms[op].off[at] as LoadResult;
      const ratio = ratios[at] as number;
      const name = `${op.toUpperCase()} calls/s, ${PERMS_CONNECTIONS} conns, checks off (floor) vs on`;
      rows.push(row(name, '/s', off.calls_per_s, on.calls_per_s, 'off <= 1.1x on', ratio <= 1.1, ratio));
      rows.push(row(`  ${op.toUpperCase()} p50, checks off vs on`, 'us', off.latency.p50_us, on.latency.p50_us, '-', null));
    }
  }

  if (world) rows.push(...worldRows(world));
  if (tasks) rows.push(...tasksRows(tasks));
  if (relayLink) rows.push(...relayRows(relayLink));

  const date = new Date();
  const results = {
    date: date.toISOString(),
    machine: { ...machine, loadavg_at_end: loads() },
    sections: only,
    settings: {
      rounds: ROUNDS,
      duration_ms: DURATION_MS,
      warmup_ms: WARMUP_MS,
      calls: CALLS,
      trials: TRIALS,
      idle_connections: IDLE_CONNECTIONS,
      payload_bytes: 16,
      spawn_trials: SPAWN_TRIALS,
      restarts: RESTARTS,
      actors: ACTORS,
      storm_agents: STORM_AGENTS,
      storm_ms: STORM_MS,
      host_storm_ms: HOST_STORM_MS,
      ipc_senders: IPC_SENDERS,
      ipc_receivers: IPC_RECEIVERS,
      ipc_window: IPC_WINDOW,
      py_senders: PY_SENDERS,
      py_receivers: PY_RECEIVERS,
      wake_samples: WAKE_SAMPLES,
      state_calls: STATE_CALLS,
      http_calls: HTTP_CALLS,
      world_calls: WORLD_CALLS,
      task_subtasks: TASK_SUBTASKS,
      task_samples: TASK_SAMPLES,
      relay_samples: RELAY_SAMPLES,
      relay_agents: RELAY_AGENTS,
      relay_window: RELAY_WINDOW,
      relay_reconnects: RELAY_RECONNECTS,
    },
    rows,
    other_cores: meanOther === undefined ? undefined : { mean: meanOther, max: busiest },
    startup,
    memory,
    latency,
    latency_rounds: latencyRounds,
    throughput,
    throughput_rounds: throughputRounds,
    interference,
    spawn_latency: spawnLatency,
    restart_latency: restart,
    many_actors: actors,
    crash_storm: storm,
    ipc,
    state,
    http,
    perms,
    world,
    tasks,
    relay: relayLink,
    total_s: Math.round((performance.now() - began) / 100) / 10,
  };
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${date.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);

  const dirty = machine.src_dirty ? ' + uncommitted src' : '';
  process.stdout.write(
    `\nAgentOS bench ${results.date}  (${machine.nproc} cores, ${machine.cpu}, Node ${machine.node}, ${machine.commit}${dirty})\n`,
  );
  process.stdout.write(
    `load average: ${machine.loadavg_at_start.join(' ')} at start, ${results.machine.loadavg_at_end.join(' ')} at end\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n\n`);
  process.stdout.write(
    `ratio = kernel / floor; rows measured in rounds show the back-to-back pair with the median ratio of ${ROUNDS} (every round is in the JSON)\n`,
  );
  if (meanOther !== undefined && busiest !== undefined) {
    process.stdout.write(`other processes on the machine during the throughput windows: mean ${meanOther} cores, max ${busiest} cores\n`);
    if (busiest > 0.25)
      process.stdout.write('note: the machine was shared, so calls/s are noisy; CPU per call and the paired ratios less so\n');
  }
  if (args.markdown) process.stdout.write(`\n${formatMarkdown(rows)}\n\n`);
  process.stdout.write(`results: ${file}  (${results.total_s} s)\n`);
} finally {
  const running = servers;
  if (running) await Promise.all(sides.map((side) => running[side].stop()));
  await Promise.all([...agentHosts].map((host) => host.stop()));
  await rm(dir, { recursive: true, force: true });
  if (profileDir) process.stdout.write(`kernel host CPU profiles (main thread is *.0.001.cpuprofile): ${profileDir}\n`);
}

function pushInterference(rows: Row[], interference: Record<Side, Measured<ExecResult>>): void {
  const kx = interference.kernel.latency.p99_us;
  rows.push(row('NOOP p99 beside EXEC sleep 2', 'us', interference.floor.latency.p99_us, kx, '<= 2 ms', kx <= 2000));
}

/** A fresh kernel host for one question, with its own socket and data directory in `dir` (and `hostArgs`). */
async function agentHost(name: string, flags: string[], hostArgs: string[] = []): Promise<Server> {
  const socket = join(dir, `${name}.sock`);
  const hostArgv = ['--socket', socket, '--data-dir', join(dir, `${name}-data`), ...hostArgs];
  const host = await Server.start('kernel', 'kernel-host.ts', hostArgv, socket, flags);
  agentHosts.add(host);
  await sleep(500);
  return host;
}

async function stopHost(host: Server): Promise<void> {
  agentHosts.delete(host);
  await host.stop();
}

/**
 * crash-storm.ts against `host`: the kernel's event-loop delay and CPU over the SPAWN
 * storm (its measure/end phases) and over the storm without backoff, which the client
 * asks for (host-storm.start/stop) and this process starts and stops through the
 * host's side channel.
 */
async function crashStorm(host: Server): Promise<StormResult> {
  type Window = { start?: Promise<CpuSnapshot>; end?: Promise<[CpuSnapshot, EldReading]> };
  const wire: Window = {};
  const hosted: Window = {};
  const clientArgs = ['--socket', host.socketPath, '--data-dir', join(dir, 'storm-data'), '--agents', String(STORM_AGENTS)];
  clientArgs.push('--storm-ms', String(STORM_MS), '--host-storm-ms', String(HOST_STORM_MS));
  const result = await runClient<StormClientResult>(
    'crash-storm.ts',
    clientArgs,
    (phase, clientCpuMs) => {
      switch (phase) {
        case 'measure':
          void host.eldReset();
          wire.start = snapshot(host.pid, clientCpuMs);
          return undefined;
        case 'end':
          wire.end = Promise.all([snapshot(host.pid, clientCpuMs), host.eldRead()]);
          return undefined;
        // The two the client asks about (ask()): answered on its stdin.
        case 'host-storm.start':
          return (async () => {
            const started = await host.request<Record<string, unknown>>('storm.start', {
              agents: STORM_AGENTS,
              script: join(BENCH_DIR, 'agents/crash.sh'),
            });
            await host.eldReset();
            hosted.start = snapshot(host.pid, clientCpuMs);
            return started;
          })();
        case 'host-storm.stop':
          return (async () => {
            hosted.end = Promise.all([snapshot(host.pid, clientCpuMs), host.eldRead()]);
            await hosted.end;
            return host.request('storm.stop');
          })();
        default:
          return undefined;
      }
    },
    { stdin: true },
  );
  const window = async (w: Window, calls: number) => {
    if (!w.start || !w.end) return undefined;
    const [stop, eld] = await w.end;
    return { eld, cpu: cpuWindow(await w.start, stop, calls) };
  };
  const wireWindow = await window(wire, result.calls);
  if (!wireWindow) throw new Error('crash-storm.ts never reported its storm window');
  return { result, wire: wireWindow, host: await window(hosted, result.host_storm?.calls ?? 0) };
}
