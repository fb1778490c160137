/**
 * Question: how close to their scaled time do a world's scheduled events fire (target:
 * within 10 ms)? This process is the kernel host (`startKernel()` here), so the floor runs
 * on the same event loop as the world's scheduler:
 *
 *   kernel  a world at --time-scale (60) with --events offset events (`at: +Nms`, spread
 *           over --span-s world seconds, a third of them with a `duration`, so their heals
 *           count too) and three `every` events. After the span, WORLD_STATE's history gives
 *           each entry's `late_real_ms`: real ms between its planned world time (scaled)
 *           and when it fired.
 *   floor   a plain setTimeout per distinct planned moment of the same schedule, from the
 *           world's start (its clock read once, at the middle of a WORLD_STATE round trip),
 *           in this process: its lateness is what Node's timers alone give on this loop at
 *           the same moments.
 *
 * Usage: [--events N (300)] [--time-scale X (60)] [--span-s S (240)]   Prints one JSON result line.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startKernel } from '../src/kernel/kernel.js';
import { connect, OP_HELLO, parseArgs, report } from './lib/agnt.js';
import { round, summarize } from './lib/stats.js';
import { OP_WORLD_CREATE, OP_WORLD_DESTROY, OP_WORLD_STATE, request } from './world-common.js';

const args = parseArgs(process.argv.slice(2));
const EVENTS = Number(args.events ?? 300);
const TIME_SCALE = Number(args['time-scale'] ?? 60);
const SPAN_MS = Number(args['span-s'] ?? 240) * 1000;
const EVERY_MS = 20_000;
/** A fixed spread (a multiplicative hash of the index), so runs schedule the same moments. */
const offsetOf = (i: number) => Math.round((((i * 2_654_435_761) % 1_000_003) / 1_000_003) * SPAN_MS);

const events: Array<Record<string, unknown>> = [];
const planned: number[] = [];
for (let i = 0; i < EVENTS; i++) {
  const at = Math.max(1, offsetOf(i));
  const withDuration = i % 3 === 0;
  events.push({ at: `+${at}ms`, type: 'latency_spike', value: 1, ...(withDuration ? { duration: '5s' } : {}) });
  planned.push(at);
  if (withDuration) planned.push(at + 5000);
}
for (let i = 0; i < 3; i++) {
  const first = 1000 + i * 3000;
  events.push({ at: `+${first}ms`, type: 'cpu_spike', value: 50, every: `${EVERY_MS}ms` });
  for (let at = first; at <= SPAN_MS; at += EVERY_MS) planned.push(at);
}

const dir = await mkdtemp(join(tmpdir(), 'agentos-bench-world-sched-'));
const kernel = await startKernel({ socketPath: join(dir, 'k.sock'), dataDir: join(dir, 'data'), httpPort: 0, logLevel: 'warn' });
try {
  const socket = await connect(kernel.socketPath);
  const token = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
  await request(socket, OP_HELLO, { name: 'bench-world-scheduler', token });
  // Warm-up: the first world loads (and tsx compiles) the world modules, which stalls the loop once.
  const warm = await request<{ world_id: string }>(socket, OP_WORLD_CREATE, {
    config: { name: 'bench-warm-up', events: events.slice(0, 10) },
  });
  await request(socket, OP_WORLD_STATE, { world_id: warm.world_id });
  await request(socket, OP_WORLD_DESTROY, { world_id: warm.world_id });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const created = await request<{ world_id: string }>(socket, OP_WORLD_CREATE, {
    config: { name: 'bench-scheduler', time_scale: TIME_SCALE, events },
  });
  // The world's real start: its clock read by a WORLD_STATE, taken at the middle of that round trip.
  const realNow = () => performance.timeOrigin + performance.now();
  const asked = realNow();
  const first = await request<{ state: { clock: { world_ms: number } } }>(socket, OP_WORLD_STATE, { world_id: created.world_id });
  const startReal = (asked + realNow()) / 2 - first.state.clock.world_ms / TIME_SCALE;
  // The floor: one timer per distinct planned moment of the schedule, on the same start.
  const floorLate: number[] = [];
  const timers = [...new Set(planned.filter((at) => at <= SPAN_MS))].map((at) => {
    const due = startReal + at / TIME_SCALE;
    return new Promise<void>((resolve) =>
      setTimeout(
        () => {
          floorLate.push(Math.max(0, performance.timeOrigin + performance.now() - due));
          resolve();
        },
        due - (performance.timeOrigin + performance.now()),
      ),
    );
  });
  await Promise.all(timers);
  await new Promise((resolve) => setTimeout(resolve, 200));

  const state = await request<{ state: { history: Array<{ world_ms: number; late_real_ms: number; kind: string }> } }>(
    socket,
    OP_WORLD_STATE,
    { world_id: created.world_id },
  );
  await request(socket, OP_WORLD_DESTROY, { world_id: created.world_id });
  socket.destroy();
  const history = state.state.history.filter((entry) => entry.world_ms <= SPAN_MS);
  const worldLate = history.map((entry) => entry.late_real_ms);
  const within10 = worldLate.filter((late) => late <= 10).length;
  report({
    calls: history.length,
    elapsed_ms: round(SPAN_MS / TIME_SCALE),
    time_scale: TIME_SCALE,
    events: events.length,
    span_world_ms: SPAN_MS,
    history_entries: history.length,
    history_capped: state.state.history.length >= 1000,
    world: summarize(Float64Array.from(worldLate)),
    world_within_10ms: within10,
    floor_within_10ms: floorLate.filter((late) => late <= 10).length,
    floor: summarize(Float64Array.from(floorLate)),
  });
} finally {
  await kernel.stop();
  await rm(dir, { recursive: true, force: true });
}
