/**
 * Question: what does a connection cost to open and close? One client loop connects,
 * makes one NOOP call, closes, and starts over, for --duration-ms. Run it with and
 * without other connections held open: a per-connection cost that grows with the number
 * of open connections shows up as fewer cycles per second.
 *
 * Usage: --socket PATH [--duration-ms 1500] [--warmup-ms 300]
 * Prints `{"phase":"measure",...}` / `{"phase":"end",...}` around the window, then a JSON result.
 */
import { performance } from 'node:perf_hooks';
import { call, connect, need, noopFrame, parseArgs, phase, report } from './lib/agnt.js';
import { round } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const durationMs = Number(args['duration-ms'] ?? 1500);
const warmupMs = Number(args['warmup-ms'] ?? 300);
const frame = noopFrame(16);

async function cycle(): Promise<void> {
  const socket = await connect(socketPath);
  await call(socket, frame);
  socket.destroy();
}

const warmupEnd = performance.now() + warmupMs;
while (performance.now() < warmupEnd) await cycle();
phase('measure');
const start = performance.now();
let cycles = 0;
while (performance.now() - start < durationMs) {
  await cycle();
  cycles++;
}
const elapsed = performance.now() - start;
phase('end');
report({ calls: cycles, elapsed_ms: round(elapsed), cycles_per_s: Math.round((cycles / elapsed) * 1000) });
process.exit(0);
