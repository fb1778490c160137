/**
 * Question: with no backoff (`backoff: { initial_ms: 0 }`), how long from an agent's
 * crash to its running again? This process is the kernel host: `startKernel()` here,
 * and the kernel's event bus read in-process. For each restart, the clock runs from the
 * AGENT_EXITED event to the same agent's next AGENT_SPAWNED (listener times from
 * performance.now(); the bus calls listeners synchronously at the source). Two agents,
 * one after the other:
 *
 *   actor    `kernel.spawn()` of an XState machine whose action throws 0 ms after it
 *            starts (its own window: maxRestarts 100,000 within 1 s, so it never escalates)
 *   process  `kernel.supervise()` with one `process` child, agents/exit1.sh under sh,
 *            which exits 1 at once (supervisor intensity 100,000 within 1 s)
 *
 * Floors, in this same process: `createActor(machine).start()` of the same machine, and
 * child_process.spawn() of the same `sh exit1.sh` until its 'spawn' event (the part of a
 * process restart no supervisor can avoid).
 *
 * Usage: [--restarts 50] [--warmup 5]   Prints one JSON result line.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createActor, setup } from 'xstate';
import type { AgentHandle } from '../src/agents/code-api.js';
import { startKernel } from '../src/kernel/kernel.js';
import { parseArgs, report } from './lib/agnt.js';
import { BENCH_DIR } from './lib/proc.js';
import { type LatencySummary, summarize } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const RESTARTS = Number(args.restarts ?? 50);
const WARMUP = Number(args.warmup ?? 5);
const EXIT1 = join(BENCH_DIR, 'agents/exit1.sh');
/** High enough that neither the agent's window nor the subtree's intensity escalates. */
const INTENSITY = 100_000;

/** Crashes 0 ms after it starts: an action that throws fails the actor (a crash, restarted). */
const crasher = setup({
  actions: {
    crash: () => {
      throw new Error('bench crash');
    },
  },
}).createMachine({ id: 'crasher', initial: 'up', states: { up: { after: { 0: { actions: 'crash' } } } } });

const dir = await mkdtemp(join(tmpdir(), 'agentos-restart-'));
const kernel = await startKernel({
  socketPath: join(dir, 'kernel.sock'),
  dataDir: join(dir, 'data'),
  httpPort: null,
  logLevel: 'warn',
});

interface Watch {
  samples: number[];
  done: Promise<void>;
}

/**
 * Crash-to-running times of the agent `isTarget` picks, until `WARMUP + RESTARTS` restarts
 * have been seen (the first WARMUP are dropped: the JIT, the page cache).
 */
function watchRestarts(isTarget: (agentId: number, kind: unknown) => boolean): Watch & { stop: () => void } {
  const samples: number[] = [];
  const exitedAt = new Map<number, number>();
  let seen = 0;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const off = kernel.events.on((event) => {
    const now = performance.now();
    const id = event.source_agent_id;
    if (id === null) return;
    if (event.type === 'AGENT_EXITED' && !exitedAt.has(id)) {
      if (isTarget(id, kernel.agents().find((a) => a.id === id)?.kind)) exitedAt.set(id, now);
    } else if (event.type === 'AGENT_SPAWNED') {
      const at = exitedAt.get(id);
      if (at === undefined) return;
      exitedAt.delete(id);
      if (++seen > WARMUP) samples.push(now - at);
      if (seen >= WARMUP + RESTARTS) resolve();
    }
  });
  return { samples, done, stop: off };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function measure(start: () => Promise<AgentHandle>, kind: string): Promise<{ summary: LatencySummary; wall_ms: number }> {
  const watch = watchRestarts((_, agentKind) => agentKind === kind);
  const began = performance.now();
  const handle = await start();
  try {
    await withTimeout(watch.done, 60_000, `${kind} restarts`);
  } finally {
    watch.stop();
    await handle.stop({ signal: 'SIGKILL', graceMs: 0 });
  }
  return { summary: summarize(Float64Array.from(watch.samples)), wall_ms: Math.round(performance.now() - began) };
}

/** The same machine, bare: createActor().start() until it is running (ms per actor). */
function actorFloor(count: number): LatencySummary {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + count; i++) {
    const t0 = performance.now();
    const actor = createActor(crasher);
    actor.subscribe({ error: () => {} });
    actor.start();
    const t1 = performance.now();
    actor.stop();
    if (i >= WARMUP) samples.push(t1 - t0);
  }
  return summarize(Float64Array.from(samples));
}

/** spawn() of `sh exit1.sh` until its 'spawn' event, one at a time. */
async function processFloor(count: number): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + count; i++) {
    const t0 = performance.now();
    const child = spawn('sh', [EXIT1], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => child.once('close', resolve));
    await new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    if (i >= WARMUP) samples.push(performance.now() - t0);
    await closed;
  }
  return summarize(Float64Array.from(samples));
}

try {
  const actor = await measure(
    () =>
      kernel.spawn(crasher, {
        name: 'bench-crasher',
        restart: 'permanent',
        maxRestarts: INTENSITY,
        restartWindow: 1,
        backoff: { initial_ms: 0 },
      }),
    'actor',
  );
  const proc = await measure(
    () =>
      kernel.supervise({
        name: 'bench-crash-sup',
        strategy: 'one_for_one',
        intensity: INTENSITY,
        period: 1,
        backoff: { initial_ms: 0 },
        children: [{ id: 'exit1', restart: 'permanent', process: { script: EXIT1, interpreter: 'sh' } }],
      }),
    'process',
  );
  const floors = { actor: actorFloor(RESTARTS), process: await processFloor(RESTARTS) };
  report({ restarts: RESTARTS, warmup: WARMUP, calls: 0, elapsed_ms: 0, actor, process: proc, floors });
} finally {
  await kernel.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
