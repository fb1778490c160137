/**
 * Question: what does an idle agent cost the server? Opens N connections, each makes
 * one HELLO, then holds them open and silent until its stdin closes (the orchestrator
 * reads the server's VmRSS in between).
 *
 * Usage: --socket PATH [--count 1000] [--batch 50]
 * Prints one JSON line `{"ready":true,...}` once every connection has had its HELLO reply.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { call, connect, jsonFrame, need, OP_HELLO, parseArgs, report } from './lib/agnt.js';
import { round } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const count = Number(args.count ?? 1000);
// Unix sockets refuse (EAGAIN) past the listen backlog, so connect in bounded batches.
const batch = Number(args.batch ?? 50);

const sockets: Socket[] = [];
const started = performance.now();
let failedHellos = 0;
for (let i = 0; i < count; i += batch) {
  const group = await Promise.all(
    Array.from({ length: Math.min(batch, count - i) }, async (_, k) => {
      const socket = await connect(socketPath);
      const reply = await call(socket, jsonFrame(OP_HELLO, { name: `idle-${i + k}`, client: 'agentos-bench' }));
      // The kernel answers {success: true, ...}; the floor echoes the request back.
      const body = JSON.parse(reply.payload.toString('utf8')) as { success?: boolean };
      if (reply.opcode !== OP_HELLO || body.success === false) failedHellos++;
      return socket;
    }),
  );
  sockets.push(...group);
}
report({ ready: true, connections: sockets.length, failed_hellos: failedHellos, open_ms: round(performance.now() - started) });

const finish = () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
};
process.stdin.on('end', finish);
process.stdin.on('close', finish);
process.stdin.resume();
process.on('SIGTERM', finish);
