/**
 * Question: how many messages per second go SEND → RECV end to end, counted at the
 * receivers? M receiver connections each loop on RECV {max: 100, wait_ms: 1000} (a long
 * poll); N sender connections pipeline SENDs (at most `--window` in flight each) to the
 * receivers by id, in turn. Runs in its own process, against the kernel or the relay floor
 * (floor-relay-server.ts): the frames are the same bytes for both.
 *
 * Flow control: a sender only SENDs to a receiver with fewer than `--credit` (900)
 * messages sent to it and not yet received, so a mailbox (1000 by default) never fills
 * and no SEND is refused in the normal case; a refusal (QUOTA_EXCEEDED) is counted anyway.
 *
 * Modes:
 *   --mode raw (default)  AGNT frames built once, replies read by lib/agnt.ts ReplyReader;
 *                         the RECV reply's count is read from its tail (`"count":N}`)
 *   --mode sdk            the real SDK: AgentOSClient.send / recv (kernel only)
 * Options: --socket PATH --senders N (4) --receivers M (4) --window W (64) --credit C (900)
 *          --message-bytes B (64: the JSON of one message body) --duration-ms T (3000)
 *          --warmup-ms W (500)
 *
 * Prints `{"phase":"measure"}` / `{"phase":"end"}` around the window and one JSON result:
 * messages/s at the receivers, SENDs acknowledged/s, refusals, messages per RECV reply.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AgentOSClient } from '../src/sdk/client.js';
import { AgentOSError } from '../src/sdk/errors.js';
import { call, connect, encodeFrameBuffer, jsonFrame, need, OP_HELLO, parseArgs, phase, ReplyReader, report } from './lib/agnt.js';
import { round } from './lib/stats.js';

const OP_SEND = 0x20;
const OP_RECV = 0x21;

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const mode = args.mode ?? 'raw';
const SENDERS = Number(args.senders ?? 4);
const RECEIVERS = Number(args.receivers ?? 4);
const WINDOW = Number(args.window ?? 64);
const CREDIT = Number(args.credit ?? 900);
const MESSAGE_BYTES = Number(args['message-bytes'] ?? 64);
const DURATION_MS = Number(args['duration-ms'] ?? 3000);
const WARMUP_MS = Number(args['warmup-ms'] ?? 500);
const RECV_MAX = 100;
const RECV_WAIT_MS = 1000;

/** The message body: `{"pad":"xxx..."}`, MESSAGE_BYTES of JSON. */
const body = { pad: 'x'.repeat(Math.max(0, MESSAGE_BYTES - 10)) };

// Shared counters of both modes.
let measuring = false;
let stopping = false;
let received = 0;
let acked = 0;
let refused = 0;
let replies = 0;
let nonEmptyReplies = 0;
let windowStart = 0;
let windowEnd = 0;
/** Per receiver: SENDs written to it (minus refusals), and messages it received. */
interface Flow {
  sent: number;
  delivered: number;
}
const flows: Flow[] = Array.from({ length: RECEIVERS }, () => ({ sent: 0, delivered: 0 }));
const flow = (r: number) => flows[r] as Flow;
let nextDest = 0;

/** The next receiver with credit left, in turn; -1 when every one is at its credit. */
function pickDest(): number {
  for (let k = 0; k < RECEIVERS; k++) {
    const r = (nextDest + k) % RECEIVERS;
    if (flow(r).sent - flow(r).delivered < CREDIT) {
      nextDest = (r + 1) % RECEIVERS;
      return r;
    }
  }
  return -1;
}

function onReceived(r: number, count: number): void {
  flow(r).delivered += count;
  if (!measuring) return;
  received += count;
  replies++;
  if (count > 0) nonEmptyReplies++;
}

/** The count at the end of a RECV reply, `..."count":N}`, without parsing its messages. */
const COUNT_KEY = Buffer.from('"count":');
function tailCount(payload: Buffer): number {
  const at = payload.lastIndexOf(COUNT_KEY);
  if (at < 0) throw new Error(`RECV reply without a count: ${payload.subarray(0, 200).toString()}`);
  let n = 0;
  for (let i = at + COUNT_KEY.length; i < payload.length; i++) {
    const c = payload[i] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** `{"success":true...`: byte 11 is the `t` of true. */
const succeeded = (payload: Buffer) => payload[11] === 0x74;

async function raw(): Promise<void> {
  const hello = async (socket: Socket, name: string) => {
    const reply = JSON.parse((await call(socket, jsonFrame(OP_HELLO, { name }))).payload.toString()) as { agent_id: number };
    return reply.agent_id;
  };
  const rxSockets = await Promise.all(Array.from({ length: RECEIVERS }, () => connect(socketPath)));
  const ids = await Promise.all(rxSockets.map((s, i) => hello(s, `bench-rx-${i}`)));
  const txSockets = await Promise.all(Array.from({ length: SENDERS }, () => connect(socketPath)));
  await Promise.all(txSockets.map((s, i) => hello(s, `bench-tx-${i}`)));
  // The destination is in the JSON (the kernel) and in the header's agent_id (the floor).
  const sendFrames = ids.map((id) => encodeFrameBuffer(id, OP_SEND, JSON.stringify({ to: id, message: body })));
  const recvFrame = jsonFrame(OP_RECV, { max: RECV_MAX, wait_ms: RECV_WAIT_MS });
  let checked = false;

  const blocked = new Set<() => void>();
  rxSockets.forEach((socket, r) => {
    const reader = new ReplyReader((opcode, payload) => {
      const p = payload as Buffer;
      if (opcode !== OP_RECV || !succeeded(p)) throw new Error(`RECV failed: ${p.subarray(0, 300).toString()}`);
      const count = tailCount(p);
      if (!checked && count > 0) {
        // Once: the cheap count agrees with the messages really there.
        const parsed = JSON.parse(p.toString()) as { messages: unknown[]; count: number };
        if (parsed.messages.length !== count) throw new Error(`RECV count ${count} but ${parsed.messages.length} messages`);
        checked = true;
      }
      onReceived(r, count);
      if (!stopping) socket.write(recvFrame);
      if (blocked.size > 0) for (const pump of [...blocked]) pump();
    }, true);
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {});
  });

  for (const socket of txSockets) {
    let inflight = 0;
    // Destinations of the SENDs in flight, in order (replies come back in request order).
    const dests: number[] = [];
    const pump = () => {
      blocked.delete(pump);
      if (stopping) return;
      socket.cork();
      while (inflight < WINDOW) {
        const r = pickDest();
        if (r < 0) {
          blocked.add(pump);
          break;
        }
        flow(r).sent++;
        dests.push(r);
        inflight++;
        socket.write(sendFrames[r] as Buffer);
      }
      socket.uncork();
    };
    const reader = new ReplyReader((opcode, payload) => {
      inflight--;
      const r = dests.shift() as number;
      const p = payload as Buffer;
      if (opcode !== OP_SEND) throw new Error(`unexpected reply opcode ${opcode}`);
      if (!succeeded(p)) {
        if (!p.includes('QUOTA_EXCEEDED')) throw new Error(`SEND failed: ${p.toString()}`);
        flow(r).sent--;
        refused++;
      } else if (measuring) acked++;
      pump();
    }, true);
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {});
    pump();
  }
  for (const socket of rxSockets) socket.write(recvFrame);

  await window();
  for (const socket of [...rxSockets, ...txSockets]) socket.destroy();
}

async function sdk(): Promise<void> {
  const rx = await Promise.all(
    Array.from({ length: RECEIVERS }, (_, i) => AgentOSClient.connect({ socketPath, name: `bench-rx-${i}`, token: null })),
  );
  const ids = rx.map((c) => c.agentId as number);
  const tx = await Promise.all(
    Array.from({ length: SENDERS }, (_, i) => AgentOSClient.connect({ socketPath, name: `bench-tx-${i}`, token: null })),
  );
  let unblock: (() => void) | undefined;
  let blockedOn: Promise<void> | undefined;
  const waitForCredit = () => {
    blockedOn ??= new Promise<void>((resolve) => {
      unblock = resolve;
    });
    return blockedOn;
  };
  const loops: Promise<void>[] = [];
  rx.forEach((client, r) => {
    loops.push(
      (async () => {
        while (!stopping) {
          const messages = await client.recv({ max: RECV_MAX, waitMs: RECV_WAIT_MS });
          onReceived(r, messages.length);
          if (unblock) {
            unblock();
            unblock = undefined;
            blockedOn = undefined;
          }
        }
      })(),
    );
  });
  for (const client of tx) {
    for (let w = 0; w < WINDOW; w++) {
      loops.push(
        (async () => {
          while (!stopping) {
            const r = pickDest();
            if (r < 0) {
              await waitForCredit();
              continue;
            }
            flow(r).sent++;
            try {
              await client.send(ids[r] as number, body);
              if (measuring) acked++;
            } catch (error) {
              if (!(error instanceof AgentOSError && error.code === 'QUOTA_EXCEEDED')) throw error;
              flow(r).sent--;
              refused++;
            }
          }
        })(),
      );
    }
  }
  const failed = Promise.race(loops.map((loop) => loop.then(() => new Promise<never>(() => {}))));
  await Promise.race([window(), failed]);
  unblock?.();
  await Promise.all([...rx, ...tx].map((client) => client.close().catch(() => {})));
}

async function window(): Promise<void> {
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  measuring = true;
  received = 0;
  acked = 0;
  replies = 0;
  nonEmptyReplies = 0;
  windowStart = performance.now();
  phase('measure');
  await new Promise((r) => setTimeout(r, DURATION_MS));
  windowEnd = performance.now();
  measuring = false;
  phase('end');
  stopping = true;
}

if (mode === 'raw') await raw();
else if (mode === 'sdk') await sdk();
else throw new Error(`--mode: raw or sdk, not ${mode}`);

const elapsedMs = windowEnd - windowStart;
report({
  mode,
  senders: SENDERS,
  receivers: RECEIVERS,
  window: WINDOW,
  message_bytes: MESSAGE_BYTES,
  // `calls` is what the orchestrator divides the server's CPU by: here, messages.
  calls: received,
  elapsed_ms: round(elapsedMs),
  messages_per_s: Math.round((received / elapsedMs) * 1000),
  sends_acked_per_s: Math.round((acked / elapsedMs) * 1000),
  refused,
  recv_replies: replies,
  messages_per_recv_reply: round(received / Math.max(1, nonEmptyReplies)),
});
process.exit(0);
