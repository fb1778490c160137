/**
 * Questions (issue 7 item 8), against a kernel host with a fresh data directory:
 *
 *   1. Throughput: how many subtasks per second go through the whole task path with
 *      `--workers` worker agents? The creator makes tasks of `--subtasks-per-task`
 *      subtasks (role "bench"), `--in-flight` tasks at a time; the kernel assigns them by
 *      role dispatch and delivers each to a worker's mailbox; the worker RECVs and
 *      TASK_COMPLETEs it; the creator learns of the task's completion through TASK_STATUS
 *      (long polls with since_version, re-polled at most every `--poll-gap-ms`, as an
 *      orchestrator watching progress would). Floor, in the same run, alternating: the
 *      same number of plain messages through the kernel's IPC: creator SEND → worker RECV
 *      → worker SEND → collector RECV, with the same batches and window.
 *   2. Round trip of one subtask: TASK_ASSIGN (creator) → RECV (worker, already waiting)
 *      → TASK_COMPLETE (worker) → TASK_STATUS (creator), sequential; the task is created
 *      untimed before each sample. Floor: NOOP, NOOP, NOOP on the same two connections
 *      (creator, worker, creator), alternating with the samples.
 *
 * Every agent is a connection of this one process (raw AGNT frames, lib/agnt.ts), not a
 * child process: the kernel host is the process under test.
 *
 * Usage: --socket PATH [--workers 8] [--subtasks N (10000 per series)] [--subtasks-per-task 100]
 *        [--in-flight 8] [--poll-gap-ms 5] [--rounds 3] [--samples 2000] [--warmup 200]
 * Prints one JSON result line.
 */
import { performance } from 'node:perf_hooks';
import { Op } from '../src/protocol/opcodes.js';
import { need, noopFrame, parseArgs, report } from './lib/agnt.js';
import { type LatencySummary, round, Samples } from './lib/stats.js';
import { JsonConn, type Reply } from './tasks-conn.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const WORKERS = Number(args.workers ?? 8);
const PER_TASK = Number(args['subtasks-per-task'] ?? 100);
const TASKS = Math.max(1, Math.round(Number(args.subtasks ?? 10_000) / PER_TASK));
const IN_FLIGHT = Number(args['in-flight'] ?? 8);
const POLL_GAP_MS = Number(args['poll-gap-ms'] ?? 5);
const ROUNDS = Number(args.rounds ?? 3);
const SAMPLES = Number(args.samples ?? 2000);
const WARMUP = Number(args.warmup ?? 200);
const ROLE = 'bench';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Series {
  subtasks: number;
  elapsed_ms: number;
  per_s: number;
}
interface Message {
  from: number;
  message: { type?: string; task_id?: string; subtask_id?: string; batch?: number };
}

async function hello(name: string): Promise<{ conn: JsonConn; id: number }> {
  const conn = await JsonConn.open(socketPath);
  const reply = await conn.call(Op.HELLO, { name });
  return { conn, id: reply.agent_id as number };
}

const creator = await hello('bench-creator');
const collector = await hello('bench-collector');
const workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => hello(`bench-worker-${i}`)));
for (const worker of workers) await worker.conn.call(Op.REGISTER, { role: ROLE });
/** One long-poll connection per task in flight: a waiting TASK_STATUS holds its connection's later replies. */
const watchers = await Promise.all(Array.from({ length: IN_FLIGHT }, () => JsonConn.open(socketPath)));

/** Runs `loop` on every worker until `stop()`; each pass takes what RECV brings (up to 1000). */
function runWorkers(onMessages: (worker: (typeof workers)[number], messages: Message[]) => Promise<unknown>) {
  let stopping = false;
  const loops = workers.map(async (worker) => {
    while (!stopping) {
      const { messages } = (await worker.conn.call(Op.RECV, { max: 1000, wait_ms: 100 })) as Reply & { messages: Message[] };
      if (messages.length > 0) await onMessages(worker, messages);
    }
  });
  return async () => {
    stopping = true;
    await Promise.all(loops);
  };
}

/** `TASKS` batches of `PER_TASK`, `IN_FLIGHT` at a time; `batch(i)` resolves when batch i is done. */
async function windowed(batch: (i: number, slot: number) => Promise<void>): Promise<Series> {
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, slot) => {
      while (next < TASKS) await batch(next++, slot);
    }),
  );
  const elapsed = performance.now() - began;
  return { subtasks: TASKS * PER_TASK, elapsed_ms: round(elapsed), per_s: Math.round((TASKS * PER_TASK) / (elapsed / 1000)) };
}

/** The floor: SEND → RECV → SEND → RECV per subtask, the same batches and window. */
async function ipcFloor(): Promise<Series> {
  const stopWorkers = runWorkers((worker, messages) => {
    worker.conn.socket.cork();
    const sends = messages.map((m) => worker.conn.call(Op.SEND, { to: collector.id, message: { batch: m.message.batch } }));
    worker.conn.socket.uncork();
    return Promise.all(sends);
  });
  const waiting = new Map<number, { left: number; done: () => void }>();
  let collecting = true;
  const collectorLoop = (async () => {
    while (collecting) {
      const { messages } = (await collector.conn.call(Op.RECV, { max: 1000, wait_ms: 100 })) as Reply & { messages: Message[] };
      for (const m of messages) {
        const entry = waiting.get(m.message.batch as number);
        if (entry && --entry.left === 0) entry.done();
      }
    }
  })();
  const series = await windowed(async (i) => {
    const done = new Promise<void>((resolve) => waiting.set(i, { left: PER_TASK, done: resolve }));
    creator.conn.socket.cork();
    const sends: Promise<Reply>[] = [];
    for (let j = 0; j < PER_TASK; j++) {
      sends.push(
        creator.conn.call(Op.SEND, { to: (workers[(i * PER_TASK + j) % WORKERS] as (typeof workers)[number]).id, message: { batch: i } }),
      );
    }
    creator.conn.socket.uncork();
    await Promise.all(sends);
    await done;
    waiting.delete(i);
  });
  collecting = false;
  await Promise.all([stopWorkers(), collectorLoop]);
  return series;
}

/** The question: TASK_CREATE → role dispatch → RECV → TASK_COMPLETE → TASK_STATUS sees it completed. */
async function taskPath(label: string): Promise<Series> {
  const stopWorkers = runWorkers((worker, messages) => {
    worker.conn.socket.cork();
    const completes = messages
      .filter((m) => m.message.type === 'task.assigned')
      .map((m) => worker.conn.call(Op.TASK_COMPLETE, { task_id: m.message.task_id, subtask_id: m.message.subtask_id, result: 1 }));
    worker.conn.socket.uncork();
    return Promise.all(completes);
  });
  const subtasks = Array.from({ length: PER_TASK }, (_, j) => ({ key: `s${j}`, role: ROLE }));
  const series = await windowed(async (i, slot) => {
    const { task_id } = await creator.conn.call(Op.TASK_CREATE, { description: `${label} ${i}`, subtasks });
    const watcher = watchers[slot] as JsonConn;
    let version = 0;
    for (;;) {
      const { task } = (await watcher.call(Op.TASK_STATUS, { task_id, wait_ms: 10_000, since_version: version })) as Reply & {
        task: { status: string; version: number; error: string | null };
      };
      if (task.status === 'completed') return;
      if (task.status !== 'pending' && task.status !== 'running') throw new Error(`${task_id} ${task.status}: ${task.error}`);
      version = task.version;
      await sleep(POLL_GAP_MS);
    }
  });
  await stopWorkers();
  return series;
}

/** One subtask's round trip, and the NOOP floor on the same connections, alternating. */
async function roundTrip(): Promise<{ kernel: LatencySummary; floor: LatencySummary }> {
  const kernel = new Samples(SAMPLES);
  const floor = new Samples(SAMPLES);
  const worker = workers[0] as (typeof workers)[number];
  const noop = noopFrame(0);
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const { task_id } = await creator.conn.call(Op.TASK_CREATE, { description: `round trip ${i}` });
    const recv = worker.conn.call(Op.RECV, { max: 1, wait_ms: 5000 }) as Promise<Reply & { messages: Message[] }>;
    const t0 = performance.now();
    await creator.conn.call(Op.TASK_ASSIGN, { task_id, agent_id: worker.id });
    const { messages } = await recv;
    const delivered = messages[0]?.message;
    if (delivered?.type !== 'task.assigned') throw new Error(`round trip ${i}: expected task.assigned, got ${JSON.stringify(messages)}`);
    await worker.conn.call(Op.TASK_COMPLETE, { task_id, subtask_id: delivered.subtask_id, result: 1 });
    const { task } = (await creator.conn.call(Op.TASK_STATUS, { task_id })) as Reply & { task: { status: string } };
    const t1 = performance.now();
    if (task.status !== 'completed') throw new Error(`round trip ${i}: ${task_id} is ${task.status} after TASK_COMPLETE`);
    const f0 = performance.now();
    await creator.conn.send(Op.NOOP, noop);
    await worker.conn.send(Op.NOOP, noop);
    await creator.conn.send(Op.NOOP, noop);
    const f1 = performance.now();
    if (i >= WARMUP) {
      kernel.add(t1 - t0);
      floor.add(f1 - f0);
    }
  }
  return { kernel: kernel.summary(), floor: floor.summary() };
}

// Warm-up: one small series of each (JIT, SQLite pages, the role registry).
await ipcFloor();
await taskPath('warm-up');
const rounds: { floor: Series; kernel: Series }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Floor first in even rounds, the kernel first in odd ones, so drift favours neither.
  const floorFirst = r % 2 === 0;
  const first = floorFirst ? await ipcFloor() : await taskPath(`round ${r}`);
  const second = floorFirst ? await taskPath(`round ${r}`) : await ipcFloor();
  const pair = floorFirst ? { floor: first, kernel: second } : { floor: second, kernel: first };
  process.stderr.write(`tasks round ${r + 1}/${ROUNDS}: floor ${pair.floor.per_s}/s, kernel ${pair.kernel.per_s}/s\n`);
  rounds.push(pair);
}
// The round pair whose kernel / floor ratio is the median (as run.ts's medianPair): floor, kernel and ratio from one pair.
const pairs = rounds
  .map((r) => ({ floor_per_s: r.floor.per_s, kernel_per_s: r.kernel.per_s, ratio: round(r.kernel.per_s / r.floor.per_s, 2) }))
  .sort((a, b) => a.ratio - b.ratio);
const trip = await roundTrip();
report({
  workers: WORKERS,
  subtasks_per_task: PER_TASK,
  in_flight: IN_FLIGHT,
  poll_gap_ms: POLL_GAP_MS,
  rounds,
  median: pairs[(pairs.length - 1) >> 1],
  round_trip: { samples: SAMPLES, ...trip },
});
for (const conn of [creator.conn, collector.conn, ...workers.map((w) => w.conn), ...watchers]) conn.close();
