/**
 * Question: how many sequential NOOP round trips per second does a server sustain over
 * N connections, and at what latency? Each connection sends one request, waits for its
 * reply, and sends the next (no pipelining). Runs in its own process so the server's
 * process measures only itself.
 *
 * Two modes:
 *   --calls K [--warmup-calls W]                 K measured calls per connection (Q1: one connection, 20k)
 *   --duration-ms T [--warmup-ms W]              as many calls as fit in T ms (Q2: calls/s)
 * Common: --socket PATH --connections N [--payload BYTES]
 *
 * Prints `{"phase":"measure",...}` and `{"phase":"end",...}` (with its own CPU time) around the measured window (the orchestrator resets
 * and reads the server's event-loop histogram then), and one JSON result line at the end.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect, need, noopFrame, OP_NOOP, parseArgs, phase, ReplyReader, report } from './lib/agnt.js';
import { round, Samples } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const connections = Number(args.connections ?? 1);
const payloadSize = Number(args.payload ?? 16);
const callsPerConnection = args.calls === undefined ? undefined : Number(args.calls);
const warmupCalls = Number(args['warmup-calls'] ?? 2000);
const durationMs = Number(args['duration-ms'] ?? 3000);
const warmupMs = Number(args['warmup-ms'] ?? 500);

const frame = noopFrame(payloadSize);
const samples = new Samples(1 << 17);
let measuring = false;
let stopping = false;
let completed = 0;
let windowStart = 0;
let windowEnd = 0;

/** One connection's sequential loop; resolves when it stops (count reached or stop flag). */
function loop(socket: Socket, measuredCalls: number | undefined, warmup: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    let done = 0;
    const reader = new ReplyReader((opcode) => {
      const now = performance.now();
      if (opcode !== OP_NOOP) return reject(new Error(`unexpected reply opcode ${opcode}`));
      if (measuredCalls === undefined) {
        if (measuring) {
          samples.add(now - sentAt);
          completed++;
        }
        if (stopping) return resolve();
      } else {
        done++;
        if (done > warmup) {
          samples.add(now - sentAt);
          completed++;
        }
        if (done === warmup) startWindow();
        if (done >= warmup + measuredCalls) return resolve();
      }
      sentAt = performance.now();
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed mid-run')));
    sentAt = performance.now();
    socket.write(frame);
  });
}

function startWindow(): void {
  if (measuring) return;
  samples.clear();
  completed = 0;
  measuring = true;
  windowStart = performance.now();
  phase('measure');
}

const sockets: Socket[] = [];
for (let i = 0; i < connections; i++) sockets.push(await connect(socketPath));

let runs: Promise<void>[];
if (callsPerConnection !== undefined) {
  if (connections !== 1) throw new Error('--calls mode is for one connection');
  if (warmupCalls === 0) startWindow();
  runs = sockets.map((socket) => loop(socket, callsPerConnection, warmupCalls));
  await Promise.all(runs);
  windowEnd = performance.now();
  phase('end');
} else {
  runs = sockets.map((socket) => loop(socket, undefined, 0));
  await new Promise((r) => setTimeout(r, warmupMs));
  startWindow();
  await new Promise((r) => setTimeout(r, durationMs));
  // Replies that land after this instant are not counted; the loops then stop.
  windowEnd = performance.now();
  measuring = false;
  stopping = true;
  phase('end');
  await Promise.all(runs);
}
for (const socket of sockets) socket.destroy();

const elapsedMs = windowEnd - windowStart;
report({
  connections,
  payload: payloadSize,
  calls: completed,
  elapsed_ms: round(elapsedMs),
  calls_per_s: Math.round((completed / elapsedMs) * 1000),
  latency: samples.summary(),
});
process.exit(0);
