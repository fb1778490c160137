/**
 * Question: what does the HTTP syscall add to a request? The same GET to the same
 * loopback server (http-target.ts), sequential on one connection, in alternating rounds:
 *
 *   direct: undici's fetch from this process, with a keep-alive dispatcher (what an agent
 *           with network access would do itself);
 *   kernel: HTTP (0x50) over the AGNT socket: the router, the URL and address checks,
 *           the worker thread, the same fetch there, and the reply back.
 *
 * The agent is this client's connection: HELLO with the admin token, then SET_PERMS
 * gives it can_network and allowed_domains ["127.0.0.1"] (loopback must be named).
 *
 * Usage: --socket PATH --data-dir DIR --url URL [--calls N (2000)] [--warmup N (200)] [--rounds N (3)]
 * Prints one JSON result line.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, fetch } from 'undici';
import { call, connect, encodeFrameBuffer, jsonFrame, need, OP_HELLO, parseArgs, report } from './lib/agnt.js';
import { sequential } from './lib/sequential.js';
import { type LatencySummary, round, Samples } from './lib/stats.js';

const OP_SET_PERMS = 0x41;
const OP_HTTP = 0x50;

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const dataDir = need(args, 'data-dir');
const url = need(args, 'url');
const CALLS = Number(args.calls ?? 2000);
const WARMUP = Number(args.warmup ?? 200);
const ROUNDS = Number(args.rounds ?? 3);

async function direct(calls: number): Promise<LatencySummary> {
  const samples = new Samples(calls);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const response = await fetch(url, { dispatcher });
    await response.text();
    samples.add(performance.now() - started);
    if (response.status !== 200) throw new Error(`direct GET answered ${response.status}`);
  }
  return samples.summary();
}

async function throughKernel(socket: Socket, calls: number): Promise<LatencySummary> {
  return (await sequential(socket, encodeFrameBuffer(0, OP_HTTP, JSON.stringify({ url })), calls)).latency;
}

const dispatcher = new Agent({ connections: 1 });
const socket = await connect(socketPath);
const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
await call(socket, jsonFrame(OP_HELLO, { name: 'bench-http', token }));
const granted = await call(socket, jsonFrame(OP_SET_PERMS, { permissions: { can_network: true, allowed_domains: ['127.0.0.1'] } }));
if (!granted.payload.toString().startsWith('{"success":true')) throw new Error(`SET_PERMS failed: ${granted.payload.toString()}`);

await direct(WARMUP);
await throughKernel(socket, WARMUP);
const rounds: { direct: LatencySummary; kernel: LatencySummary; added_p50_us: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const d = await direct(CALLS);
  const k = await throughKernel(socket, CALLS);
  rounds.push({ direct: d, kernel: k, added_p50_us: round(k.p50_us - d.p50_us) });
}
// The round with the median added time, so direct and kernel stay a back-to-back pair.
const sorted = [...rounds].sort((a, b) => a.added_p50_us - b.added_p50_us);
const median = sorted[sorted.length >> 1] as (typeof rounds)[number];
socket.destroy();
await dispatcher.close();
report({ calls: CALLS * ROUNDS * 2, elapsed_ms: 0, url, rounds, median });
