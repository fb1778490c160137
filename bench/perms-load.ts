/**
 * Question: what do the permission checks cost? Calls that are checked the most (READ
 * and WRITE: the opcode's flag, then the path resolved to its real path in the worker,
 * matched against the agent's globs and blocked list, and the opened descriptor checked
 * again), sequential on N connections for a fixed time, against a kernel with checks on
 * and one started with `permissionChecks: false` (the orchestrator runs both).
 *
 * Usage: --socket PATH --file PATH --op read|write [--connections N (16)] [--duration-ms T] [--warmup-ms W]
 * Each connection is a direct client at the kernel's default level (standard), which
 * may read and write under /tmp: `--file` must be there. Prints one JSON result line.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect, jsonFrame, need, parseArgs, ReplyReader, report } from './lib/agnt.js';
import { round, Samples } from './lib/stats.js';

const OP_READ = 0x03;
const OP_WRITE = 0x04;

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const file = need(args, 'file');
const op = need(args, 'op');
const connections = Number(args.connections ?? 16);
const durationMs = Number(args['duration-ms'] ?? 2000);
const warmupMs = Number(args['warmup-ms'] ?? 300);

const frame =
  op === 'read'
    ? jsonFrame(OP_READ, { path: file })
    : op === 'write'
      ? jsonFrame(OP_WRITE, { path: file, content: 'permission-check bench\n' })
      : (() => {
          throw new Error(`--op: expected read or write, got "${op}"`);
        })();

const samples = new Samples(1 << 17);
let measuring = false;
let stopping = false;
let completed = 0;

function loop(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    const reader = new ReplyReader((_opcode, payload) => {
      // `{"success":true`: byte 11 is the `t` of true; anything else is a failure to report.
      if (payload?.[11] !== 0x74) return reject(new Error(`${op} failed: ${payload?.subarray(0, 300).toString()}`));
      if (measuring) {
        samples.add(performance.now() - sentAt);
        completed++;
      }
      if (stopping) return resolve();
      sentAt = performance.now();
      socket.write(frame);
    }, true);
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        reject(error);
      }
    });
    socket.once('error', reject);
    sentAt = performance.now();
    socket.write(frame);
  });
}

const sockets: Socket[] = [];
for (let i = 0; i < connections; i++) sockets.push(await connect(socketPath));
const runs = sockets.map(loop);
await new Promise((resolve) => setTimeout(resolve, warmupMs));
measuring = true;
const start = performance.now();
await new Promise((resolve) => setTimeout(resolve, durationMs));
const elapsed = performance.now() - start;
measuring = false;
stopping = true;
await Promise.all(runs);
for (const socket of sockets) socket.destroy();

report({
  op,
  connections,
  calls: completed,
  elapsed_ms: round(elapsed),
  calls_per_s: round((completed / elapsed) * 1000),
  latency: samples.summary(),
});
