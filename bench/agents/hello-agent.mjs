/**
 * The spawn-latency agent in Node (plain .mjs, no loader): connect to the socket given
 * as the first argument, send one HELLO with $AGENTOS_AGENT_TOKEN, wait for the reply,
 * then send the times (CLOCK_MONOTONIC in ms, the clock every process on the machine
 * shares) as one JSON line to the report socket given as the second argument, and exit.
 * The same script runs under the kernel (SPAWN) and bare (the floor, bench/spawn-latency.ts).
 */
import { createConnection } from 'node:net';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const started = now();
const [socketPath, reportPath] = process.argv.slice(2);
const MAGIC = 0x41474e54;
const HELLO = 0xfe;

const body = Buffer.from(JSON.stringify({ token: process.env.AGENTOS_AGENT_TOKEN, client: 'agentos-bench' }));
const frame = Buffer.alloc(17 + body.length);
frame.writeUInt32LE(MAGIC, 0);
frame.writeUInt32LE(0, 4);
frame[8] = HELLO;
frame.writeUInt32LE(body.length, 9);
frame.writeUInt32LE(0, 13);
body.copy(frame, 17);

let sent = 0;
let held = Buffer.alloc(0);
const socket = createConnection(socketPath, () => {
  sent = now();
  socket.write(frame);
});
socket.on('data', (chunk) => {
  held = Buffer.concat([held, chunk]);
  if (held.length < 17) return;
  const length = held.readUInt32LE(9);
  if (held.length < 17 + length) return;
  const replied = now();
  let ok = held[8] === HELLO;
  try {
    ok &&= JSON.parse(held.subarray(17, 17 + length).toString('utf8')).success !== false;
  } catch {
    ok = false;
  }
  socket.destroy();
  const report = createConnection(reportPath, () => {
    report.end(`${JSON.stringify({ pid: process.pid, started, sent, replied, ok })}\n`);
  });
  report.on('close', () => process.exit(0));
});
socket.on('error', (error) => {
  process.stderr.write(`hello-agent: ${error.message}\n`);
  process.exit(1);
});
