/**
 * Question: how soon after a SEND does a receiver parked in RECV get the message? Two
 * connections from this one process (one clock): the receiver sends RECV {max: 1,
 * wait_ms: 5000} and is left to park for `--park-ms` (1); the sender then writes a SEND
 * to it. A sample is the time from just before the SEND is written to the moment the
 * RECV reply is read. Sequential: one message at a time. The same frames go to the
 * kernel and to the relay floor (floor-relay-server.ts), which parks and wakes the same way.
 *
 * With `--shape noop`, the same loop makes a NOOP round trip on one connection after the
 * same idle pause instead: what any request costs when both processes were asleep, which
 * is most of a wake-up on this machine.
 *
 * Usage: --socket PATH [--samples N (2000)] [--warmup N (200)] [--park-ms MS (1)] [--shape wake|noop]
 * Prints the phase lines around the measured samples and one JSON result.
 */
import { performance } from 'node:perf_hooks';
import {
  call,
  connect,
  encodeFrameBuffer,
  jsonFrame,
  need,
  noopFrame,
  OP_HELLO,
  OP_NOOP,
  parseArgs,
  phase,
  ReplyReader,
  report,
} from './lib/agnt.js';
import { Samples } from './lib/stats.js';

const OP_SEND = 0x20;
const OP_RECV = 0x21;

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const SAMPLES = Number(args.samples ?? 2000);
const WARMUP = Number(args.warmup ?? 200);
const PARK_MS = Number(args['park-ms'] ?? 1);
const SHAPE = args.shape ?? 'wake';
if (SHAPE !== 'wake' && SHAPE !== 'noop') throw new Error('--shape wake or noop');

const receiver = await connect(socketPath);
const sender = await connect(socketPath);
const { agent_id: rxId } = JSON.parse((await call(receiver, jsonFrame(OP_HELLO, { name: 'bench-wake-rx' }))).payload.toString()) as {
  agent_id: number;
};
await call(sender, jsonFrame(OP_HELLO, { name: 'bench-wake-tx' }));

const sendFrame = encodeFrameBuffer(rxId, OP_SEND, JSON.stringify({ to: rxId, message: { pad: 'x'.repeat(54) } }));
const recvFrame = jsonFrame(OP_RECV, { max: 1, wait_ms: 5000 });
const samples = new Samples(SAMPLES);
let sentAt = 0;
let done = 0;
let onWoken: (() => void) | undefined;

const noop = noopFrame(16);
const rxReader = new ReplyReader((opcode, payload) => {
  const now = performance.now();
  const p = payload as Buffer;
  const expected = SHAPE === 'noop' ? opcode === OP_NOOP : opcode === OP_RECV && p.toString().includes('"count":1');
  if (!expected) throw new Error(`unexpected reply ${opcode}: ${p.subarray(0, 300).toString()}`);
  if (done >= WARMUP) samples.add(now - sentAt);
  done++;
  onWoken?.();
}, true);
receiver.on('data', (chunk: Buffer) => rxReader.push(chunk));
const txReader = new ReplyReader((opcode, payload) => {
  if (opcode !== OP_SEND || (payload as Buffer)[11] !== 0x74) throw new Error(`SEND failed: ${(payload as Buffer).toString()}`);
}, true);
sender.on('data', (chunk: Buffer) => txReader.push(chunk));

const park = () => new Promise((resolve) => setTimeout(resolve, PARK_MS));
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  if (i === WARMUP) phase('measure');
  const woken = new Promise<void>((resolve) => {
    onWoken = resolve;
  });
  if (SHAPE === 'noop') {
    await park();
    sentAt = performance.now();
    receiver.write(noop);
  } else {
    receiver.write(recvFrame);
    await park();
    sentAt = performance.now();
    sender.write(sendFrame);
  }
  await woken;
}
phase('end');
receiver.destroy();
sender.destroy();
report({ calls: SAMPLES, elapsed_ms: 0, shape: SHAPE, park_ms: PARK_MS, latency: samples.summary() });
process.exit(0);
