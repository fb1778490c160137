/**
 * Question: does a crash storm slow everyone else's syscalls? One connection makes
 * sequential NOOPs (16-byte payload) the whole time; the same client measures:
 *
 *   floor   its NOOP latency with no storm (the first --baseline-ms)
 *   kernel  its NOOP latency while --agents process agents crash in a loop (--storm-ms):
 *           agents/crash.sh under sh (`sleep 0.05; exit 1`), SPAWNed over the socket
 *           with restart_policy always, max_restarts 1000 (the most SPAWN allows),
 *           restart_window 1
 *
 * SPAWN carries no backoff, so these restarts get the supervisor's default (100 ms,
 * doubling to 30 s, ±20%): the storm is as hard as a client over the wire can make it.
 * The restarts achieved are read from LIST before the agents are KILLed; then the
 * kernel must still answer NOOP and LIST, with none of the storm's agents left.
 *
 * With --host-storm-ms N, a second storm follows, without backoff: the orchestrator has
 * the kernel host start the same 50 agents under `kernel.supervise({ backoff:
 * { initial_ms: 0 } })` (kernel-host.ts's storm.start; the client asks with ask()), the
 * client measures N ms, then the host stops them and says how many restarts there were.
 *
 * Prints `{"phase":"measure"|"end"}` around the SPAWN storm and asks `host-storm.start`
 * and `host-storm.stop` around the second (the orchestrator reads the kernel's
 * event-loop delay and CPU over each), then one JSON result line.
 *
 * Usage: --socket PATH --data-dir DIR [--agents 50] [--storm-ms 15000] [--baseline-ms 5000]
 *        [--host-storm-ms 0]   (>0 needs the orchestrator's answers on stdin)
 */
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ask, call, connect, jsonFrame, need, noopFrame, OP_HELLO, OP_NOOP, parseArgs, phase, ReplyReader, report } from './lib/agnt.js';
import { BENCH_DIR } from './lib/proc.js';
import { type LatencySummary, round, Samples } from './lib/stats.js';

const OP_SPAWN = 0x10;
const OP_KILL = 0x11;
const OP_LIST = 0x12;

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const dataDir = need(args, 'data-dir');
const AGENTS = Number(args.agents ?? 50);
const STORM_MS = Number(args['storm-ms'] ?? 15_000);
const BASELINE_MS = Number(args['baseline-ms'] ?? 5000);
const HOST_STORM_MS = Number(args['host-storm-ms'] ?? 0);
const SCRIPT = join(BENCH_DIR, 'agents/crash.sh');

const frame = noopFrame(16);

/** Sequential NOOPs on `socket` for `ms` (after `warmupCalls`), one at a time. */
function noops(socket: Socket, ms: number, warmupCalls: number): Promise<{ calls: number; latency: LatencySummary }> {
  return new Promise((resolve, reject) => {
    const samples = new Samples(1 << 17);
    let done = 0;
    let sentAt = 0;
    let endAt = Number.POSITIVE_INFINITY;
    const reader = new ReplyReader((opcode) => {
      const at = performance.now();
      if (opcode !== OP_NOOP) return reject(new Error(`unexpected reply opcode ${opcode}`));
      if (++done > warmupCalls) samples.add(at - sentAt);
      if (done === warmupCalls) endAt = at + ms;
      if (at >= endAt) {
        socket.off('data', onData);
        return resolve({ calls: samples.length, latency: samples.summary() });
      }
      sentAt = performance.now();
      socket.write(frame);
    });
    const onData = (chunk: Buffer) => reader.push(chunk);
    socket.on('data', onData);
    if (warmupCalls === 0) endAt = performance.now() + ms;
    sentAt = performance.now();
    socket.write(frame);
  });
}

async function json<T>(socket: Socket, opcode: number, body: unknown): Promise<T> {
  const reply = await call(socket, jsonFrame(opcode, body));
  return JSON.parse(reply.payload.toString('utf8')) as T;
}

const admin = await connect(socketPath);
const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
const hello = await json<{ admin?: boolean }>(admin, OP_HELLO, { token, client: 'agentos-bench' });
if (hello.admin !== true) throw new Error('the admin token was refused');
const client = await connect(socketPath);

// Floor: no storm.
const baseline = await noops(client, BASELINE_MS, 5000);

// The storm: SPAWN answers once each agent runs, so they start one after another.
const spawnStart = performance.now();
const ids: number[] = [];
for (let i = 0; i < AGENTS; i++) {
  const reply = await json<{ success?: boolean; agent_id?: number; error?: string }>(admin, OP_SPAWN, {
    name: `storm-${i}`,
    script: SCRIPT,
    interpreter: 'sh',
    restart_policy: 'always',
    max_restarts: 1000,
    restart_window: 1,
  });
  if (reply.success !== true || reply.agent_id === undefined) throw new Error(`SPAWN storm-${i} failed: ${JSON.stringify(reply)}`);
  ids.push(reply.agent_id);
}
const spawnMs = performance.now() - spawnStart;
phase('measure');
const stormStart = performance.now();
const storm = await noops(client, STORM_MS, 0);
const stormMs = performance.now() - stormStart;
phase('end');

interface AgentInfo {
  id: number;
  name: string | null;
  kind: string;
  restarts: number;
  state: string;
}
const during = await json<AgentInfo[]>(admin, OP_LIST, {});
const ours = during.filter((agent) => ids.includes(agent.id));
const restarts = ours.reduce((sum, agent) => sum + agent.restarts, 0);

// Stop them all (SIGKILL, no grace), then the kernel must still answer.
const killStart = performance.now();
const kills = await Promise.all(
  ids.map((id) =>
    connect(socketPath).then(async (socket) => {
      await json(socket, OP_HELLO, { token, client: 'agentos-bench' });
      const reply = await json<{ success?: boolean }>(socket, OP_KILL, { id, signal: 'SIGKILL', grace_ms: 0 });
      socket.destroy();
      return reply.success === true;
    }),
  ),
);
const killMs = performance.now() - killStart;
const after = await noops(client, 1000, 0);
const left = (await json<AgentInfo[]>(admin, OP_LIST, {})).filter((agent) => ids.includes(agent.id)).length;

// The second storm, without backoff (in-kernel API, through the orchestrator).
let hostStorm: Record<string, unknown> | undefined;
if (HOST_STORM_MS > 0) {
  const started = await ask<{ agent_id: number; start_ms: number }>('host-storm.start');
  const t0 = performance.now();
  const during = await noops(client, HOST_STORM_MS, 0);
  const ms = performance.now() - t0;
  const stopped = await ask<{ restarts: number; restarts_per_s: number; stop_ms: number; agents_left: number }>('host-storm.stop');
  const afterHost = await noops(client, 1000, 0);
  const listed = await json<AgentInfo[]>(admin, OP_LIST, {});
  hostStorm = {
    ...started,
    ...stopped,
    calls: during.calls,
    elapsed_ms: round(ms),
    storm: during.latency,
    after: afterHost.latency,
    after_calls: afterHost.calls,
    listed_after: listed.length,
  };
}
admin.destroy();
client.destroy();

report({
  agents: AGENTS,
  calls: storm.calls,
  elapsed_ms: round(stormMs),
  spawn_ms: round(spawnMs),
  baseline,
  storm: storm.latency,
  restarts,
  restarts_per_s: round((restarts / (stormMs + spawnMs)) * 1000),
  agents_alive_at_end: ours.length,
  kill_ms: round(killMs),
  killed: kills.filter(Boolean).length,
  after: after.latency,
  after_calls: after.calls,
  agents_left: left,
  host_storm: hostStorm,
});
process.exit(0);
