/**
 * Question: what do STORE and FETCH cost against the kernel's real state.db, and how many
 * STOREs per second does it take? Runs in its own process against a kernel host whose
 * data directory is fresh (the orchestrator starts one per durability setting).
 *
 *   1. NOOP, sequential on one connection (the socket's own round trip: the floor a STORE
 *      over this socket cannot beat);
 *   2. STORE, sequential on the same connection: global scope, `--keys` keys overwritten
 *      in turn (the warm-up creates them), each value different (`{"n":i,"pad":...}`:
 *      SQLite writes nothing for an unchanged row, which would measure no commit at all);
 *   3. STORE of new keys, sequential (each one also passes the key-count check);
 *   4. FETCH of those keys, sequential;
 *   5. STOREs pipelined over `--connections` connections (`--window` in flight each), for
 *      `--duration-ms`, overwriting the keys of step 2: writes/s, inside the phase lines
 *      (so the server's CPU is per write).
 *
 * Usage: --socket PATH [--calls N (5000)] [--warmup N (1000)] [--keys N (1000)]
 *        [--value-bytes B (64)] [--connections C (4)] [--window W (16)]
 *        [--duration-ms T (2000)] [--warmup-ms T (300)]
 * Prints one JSON result line.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  call,
  connect,
  encodeFrameBuffer,
  jsonFrame,
  need,
  noopFrame,
  OP_HELLO,
  parseArgs,
  phase,
  ReplyReader,
  report,
} from './lib/agnt.js';
import { round, Samples } from './lib/stats.js';

const OP_STORE = 0x30;
const OP_FETCH = 0x31;

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const CALLS = Number(args.calls ?? 5000);
const WARMUP = Number(args.warmup ?? 1000);
const KEYS = Number(args.keys ?? 1000);
const VALUE_BYTES = Number(args['value-bytes'] ?? 64);
const CONNECTIONS = Number(args.connections ?? 4);
const WINDOW = Number(args.window ?? 16);
const DURATION_MS = Number(args['duration-ms'] ?? 2000);
const WARMUP_MS = Number(args['warmup-ms'] ?? 300);

const pad = 'x'.repeat(Math.max(0, VALUE_BYTES - 20));
const storeFrame = (key: string, n: number) =>
  encodeFrameBuffer(0, OP_STORE, `{"key":"${key}","value":{"n":${n},"pad":"${pad}"},"scope":"global"}`);
const fetchFrame = (key: string) => encodeFrameBuffer(0, OP_FETCH, `{"key":"${key}","scope":"global"}`);

/** `{"success":true...`: byte 11 is the `t` of true. */
const succeeded = (payload: Buffer) => payload[11] === 0x74;

/** Sequential calls on one socket: `frameOf(i)` for i in [0, warmup + calls), the last `calls` timed. */
function sequential(socket: Socket, warmup: number, calls: number, frameOf: (i: number) => Buffer, check: (p: Buffer) => void) {
  return new Promise<ReturnType<Samples['summary']>>((resolve, reject) => {
    const samples = new Samples(calls);
    let i = 0;
    let sentAt = 0;
    const reader = new ReplyReader((_opcode, payload) => {
      const now = performance.now();
      try {
        check(payload as Buffer);
      } catch (error) {
        socket.off('data', onData);
        reject(error);
        return;
      }
      if (i >= warmup) samples.add(now - sentAt);
      i++;
      if (i === warmup + calls) {
        socket.off('data', onData);
        resolve(samples.summary());
        return;
      }
      const frame = frameOf(i);
      sentAt = performance.now();
      socket.write(frame);
    }, true);
    const onData = (chunk: Buffer) => reader.push(chunk);
    socket.on('data', onData);
    sentAt = performance.now();
    socket.write(frameOf(0));
  });
}

const ok = (what: string) => (p: Buffer) => {
  if (!succeeded(p)) throw new Error(`${what} failed: ${p.subarray(0, 300).toString()}`);
};

const main = await connect(socketPath);
await call(main, jsonFrame(OP_HELLO, { name: 'bench-state' }));
const noopBytes = noopFrame(16);
const noop = await sequential(
  main,
  WARMUP,
  CALLS,
  () => noopBytes,
  () => {},
);
const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
let n = 0;
const store = await sequential(main, WARMUP, CALLS, (i) => storeFrame(keys[i % KEYS] as string, n++), ok('STORE'));
const run = Date.now().toString(36);
const storeNew = await sequential(main, 0, CALLS, (i) => storeFrame(`new-${run}-${i}`, n++), ok('STORE'));
const fetch = await sequential(
  main,
  WARMUP,
  CALLS,
  (i) => fetchFrame(keys[i % KEYS] as string),
  (p) => {
    ok('FETCH')(p);
    if (!p.includes('"exists":true')) throw new Error(`FETCH found nothing: ${p.toString()}`);
  },
);

// Pipelined writers.
let measuring = false;
let stopping = false;
let writes = 0;
const pipelined = new Samples(1 << 16);
const writers = [main, ...(await Promise.all(Array.from({ length: CONNECTIONS - 1 }, () => connect(socketPath))))];
const runs = writers.map(
  (socket, c) =>
    new Promise<void>((resolve, reject) => {
      let inflight = 0;
      let next = 0;
      const sentAt: number[] = [];
      const pump = () => {
        socket.cork();
        while (!stopping && inflight < WINDOW) {
          inflight++;
          sentAt.push(performance.now());
          // The keys of step 2, each connection from its own offset: overwrites only.
          socket.write(storeFrame(keys[(c * 97 + next++) % KEYS] as string, n++));
        }
        socket.uncork();
      };
      const reader = new ReplyReader((_opcode, payload) => {
        const now = performance.now();
        inflight--;
        const at = sentAt.shift() as number;
        if (!succeeded(payload as Buffer)) return reject(new Error(`STORE failed: ${(payload as Buffer).toString()}`));
        if (measuring) {
          writes++;
          pipelined.add(now - at);
        }
        if (stopping) {
          if (inflight === 0) resolve();
          return;
        }
        pump();
      }, true);
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      pump();
    }),
);
await new Promise((r) => setTimeout(r, WARMUP_MS));
measuring = true;
const t0 = performance.now();
phase('measure');
await new Promise((r) => setTimeout(r, DURATION_MS));
const elapsedMs = performance.now() - t0;
measuring = false;
phase('end');
stopping = true;
await Promise.all(runs);
for (const socket of writers) socket.destroy();

report({
  calls: writes,
  elapsed_ms: round(elapsedMs),
  keys: KEYS,
  value_bytes: VALUE_BYTES,
  noop,
  store,
  store_new_keys: storeNew,
  fetch,
  pipelined: {
    connections: CONNECTIONS,
    window: WINDOW,
    writes_per_s: Math.round((writes / elapsedMs) * 1000),
    latency: pipelined.summary(),
  },
});
process.exit(0);
