/**
 * Question: what do 10,000 in-process agents cost to start and to keep? This process is
 * a fresh kernel host (`startKernel()` here; run with --expose-gc). An idle XState
 * machine is started 10,000 times, all at once, two ways:
 *
 *   floor   `createActor(idle).start()`, 10,000 times (a bare actor: no record, no
 *           supervisor, no events)
 *   kernel  `Promise.all` of 10,000 `kernel.spawn(idle, { name, restart: 'temporary' })`,
 *           each resolving once its AGENT_SPAWNED is out (the agent is running)
 *
 * Memory is the heap in use after a full GC, before and after, divided by the count;
 * RSS likewise (information: V8 keeps freed pages). A small warm-up of both runs first
 * so neither side pays for the JIT alone. The floor's actors are stopped (and collected)
 * before the kernel's are started. Finally, `kernel.stop()` with the 10,000 running.
 *
 * Usage: node --expose-gc --import tsx bench/many-actors.ts [--count 10000]
 * Prints one JSON result line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type AnyActorRef, createActor, createMachine } from 'xstate';
import type { AgentHandle } from '../src/agents/code-api.js';
import { startKernel } from '../src/kernel/kernel.js';
import { parseArgs, report } from './lib/agnt.js';
import { round } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 10_000);
const WARMUP = 200;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** An agent that starts and then waits: one state, nothing scheduled. */
const idle = createMachine({ id: 'idle', initial: 'idle', states: { idle: {} } });

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
async function heap(): Promise<{ heap: number; rss: number }> {
  await settle();
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

interface Side {
  count: number;
  ms: number;
  heap_kb_per_agent: number;
  rss_kb_per_agent: number;
  heap_delta_mb: number;
  rss_delta_mb: number;
}

function side(count: number, ms: number, before: { heap: number; rss: number }, after: { heap: number; rss: number }): Side {
  return {
    count,
    ms: round(ms),
    heap_kb_per_agent: round((after.heap - before.heap) / count / 1024, 2),
    rss_kb_per_agent: round((after.rss - before.rss) / count / 1024, 2),
    heap_delta_mb: round((after.heap - before.heap) / 1048576),
    rss_delta_mb: round((after.rss - before.rss) / 1048576),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'agentos-actors-'));
const kernel = await startKernel({
  socketPath: join(dir, 'kernel.sock'),
  dataDir: join(dir, 'data'),
  httpPort: null,
  logLevel: 'warn',
});

function bare(count: number): AnyActorRef[] {
  const actors: AnyActorRef[] = new Array(count);
  for (let i = 0; i < count; i++) actors[i] = createActor(idle).start();
  return actors;
}

let next = 0;
function spawnAll(count: number): Promise<AgentHandle[]> {
  return Promise.all(Array.from({ length: count }, () => kernel.spawn(idle, { name: `idle-${++next}`, restart: 'temporary' })));
}

try {
  // Warm-up, both sides, then gone.
  for (const actor of bare(WARMUP)) actor.stop();
  await Promise.all((await spawnAll(WARMUP)).map((handle) => handle.stop()));

  let before = await heap();
  let t0 = performance.now();
  let actors: AnyActorRef[] | undefined = bare(COUNT);
  const floorMs = performance.now() - t0;
  const floor = side(COUNT, floorMs, before, await heap());
  for (const actor of actors) actor.stop();
  actors = undefined;

  before = await heap();
  t0 = performance.now();
  const handles = await spawnAll(COUNT);
  const kernelMs = performance.now() - t0;
  const kernelSide = side(COUNT, kernelMs, before, await heap());
  const running = kernel.agents().filter((agent) => agent.kind === 'actor').length;

  t0 = performance.now();
  await kernel.stop();
  const stopMs = performance.now() - t0;
  report({
    count: COUNT,
    calls: 0,
    elapsed_ms: 0,
    floor,
    kernel: { ...kernelSide, running, handles: handles.length },
    kernel_stop_ms: round(stopMs),
    memory_after: process.memoryUsage(),
  });
} finally {
  await kernel.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
