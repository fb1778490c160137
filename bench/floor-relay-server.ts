/**
 * The floor for messaging: a bare Node `net` Unix-socket server that relays AGNT frames
 * between client sockets and does nothing else. It is the least any message relay with
 * long-poll receivers has to do, run the way the kernel runs (its own process, under tsx):
 *
 *   HELLO (0xFE)  answers `{"success":true,"agent_id":N}`, a fresh id per connection;
 *   SEND (0x20)   queues the payload bytes as they are for the connection whose id is the
 *                 request header's agent_id (the load generators put the destination
 *                 there as well as in the JSON, which the kernel reads; the floor parses
 *                 no JSON), answers `{"success":true}`; a queue holding `--mailbox-size`
 *                 (1000, the kernel's default) answers QUOTA_EXCEEDED, as the kernel does;
 *   RECV (0x21)   `{max, wait_ms}`: up to max queued payloads as
 *                 `{"success":true,"messages":[...],"count":N}` at once, else parks until a
 *                 SEND arrives (woken in a microtask, so the SENDs of one read are
 *                 batched, as in the kernel) or wait_ms passes;
 *   NOOP (0x00)   echoes the frame.
 *
 * Usage: node --import tsx bench/floor-relay-server.ts --socket PATH [--mailbox-size N]
 * Prints `floor ready socket=PATH` once it accepts connections.
 */
import { unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { installSideChannel } from './lib/eld-channel.js';

const HEADER_LEN = 17;
const MAGIC = 0x41474e54;
const OP_NOOP = 0x00;
const OP_SEND = 0x20;
const OP_RECV = 0x21;
const OP_HELLO = 0xfe;

const argValue = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const socketPath = argValue('socket');
if (!socketPath) {
  process.stderr.write('usage: floor-relay-server.ts --socket PATH [--mailbox-size N]\n');
  process.exit(2);
}
const mailboxSize = Number(argValue('mailbox-size') ?? 1000);

const SENT = Buffer.from('{"success":true}');
const FULL = Buffer.from('{"success":false,"code":"QUOTA_EXCEEDED","error":"mailbox full"}');
const NO_ONE = Buffer.from('{"success":false,"code":"NOT_FOUND","error":"no such connection"}');
const RECV_HEAD = Buffer.from('{"success":true,"messages":[');
const COMMA = Buffer.from(',');

interface Peer {
  id: number;
  socket: Socket;
  queue: Buffer[];
  head: number;
  /** A parked RECV: its max, and the timer that answers it empty. */
  parked: { max: number; timer: NodeJS.Timeout } | undefined;
  wakeQueued: boolean;
}

const peers = new Map<number, Peer>();
let nextId = 1;

function header(agentId: number, opcode: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(HEADER_LEN);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(agentId, 4);
  head[8] = opcode;
  head.writeUInt32LE(length, 9);
  head.writeUInt32LE(0, 13);
  return head;
}

/** One write per reply: header and body in one buffer. */
function frame(socket: Socket, agentId: number, opcode: number, body: Buffer): void {
  socket.write(Buffer.concat([header(agentId, opcode, body.length), body]));
}

/** Up to `max` queued payloads, as one RECV reply. */
function answerRecv(peer: Peer, max: number): void {
  const end = Math.min(peer.queue.length, peer.head + max);
  const parts: Buffer[] = [RECV_HEAD, RECV_HEAD];
  let length = RECV_HEAD.length;
  for (let i = peer.head; i < end; i++) {
    if (i > peer.head) {
      parts.push(COMMA);
      length++;
    }
    const message = peer.queue[i] as Buffer;
    parts.push(message);
    length += message.length;
  }
  const tail = Buffer.from(`],"count":${end - peer.head}}`);
  parts.push(tail);
  parts[0] = header(peer.id, OP_RECV, length + tail.length);
  peer.head = end;
  if (peer.head === peer.queue.length) {
    peer.queue = [];
    peer.head = 0;
  } else if (peer.head > 1024) {
    peer.queue = peer.queue.slice(peer.head);
    peer.head = 0;
  }
  peer.socket.write(Buffer.concat(parts));
}

function wake(peer: Peer): void {
  peer.wakeQueued = false;
  const parked = peer.parked;
  if (!parked || peer.queue.length === peer.head || peer.socket.destroyed) return;
  peer.parked = undefined;
  clearTimeout(parked.timer);
  answerRecv(peer, parked.max);
}

/** One request: the reply is written at once, or (a RECV that waits) later. */
function handle(peer: Peer, agentId: number, opcode: number, payload: Buffer, whole: Buffer): void {
  switch (opcode) {
    case OP_SEND: {
      const to = peers.get(agentId);
      if (!to) {
        frame(peer.socket, peer.id, opcode, NO_ONE);
        break;
      }
      if (to.queue.length - to.head >= mailboxSize) {
        frame(peer.socket, peer.id, opcode, FULL);
        break;
      }
      // The request's bytes are only borrowed from the read buffer: keep a copy.
      to.queue.push(Buffer.from(payload));
      if (to.parked && !to.wakeQueued) {
        to.wakeQueued = true;
        queueMicrotask(() => wake(to));
      }
      frame(peer.socket, peer.id, opcode, SENT);
      break;
    }
    case OP_RECV: {
      const request = JSON.parse(payload.toString('utf8')) as { max?: number; wait_ms?: number };
      const max = request.max ?? 10;
      const waitMs = request.wait_ms ?? 0;
      if (peer.queue.length > peer.head || waitMs <= 0) {
        answerRecv(peer, max);
        break;
      }
      const timer = setTimeout(() => {
        peer.parked = undefined;
        answerRecv(peer, max);
      }, waitMs);
      peer.parked = { max, timer };
      break;
    }
    case OP_HELLO:
      frame(peer.socket, peer.id, opcode, Buffer.from(`{"success":true,"agent_id":${peer.id}}`));
      break;
    case OP_NOOP:
      peer.socket.write(whole);
      break;
    default:
      frame(peer.socket, peer.id, opcode, Buffer.from('{"success":false,"code":"UNSUPPORTED_OPCODE"}'));
  }
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  const peer: Peer = { id: nextId++, socket, queue: [], head: 0, parked: undefined, wakeQueued: false };
  peers.set(peer.id, peer);
  let held: Buffer | undefined;
  socket.on('data', (chunk: Buffer) => {
    const data = held === undefined ? chunk : Buffer.concat([held, chunk]);
    held = undefined;
    let offset = 0;
    socket.cork();
    while (data.length - offset >= HEADER_LEN) {
      if (data.readUInt32LE(offset) !== MAGIC) {
        socket.destroy();
        return;
      }
      const end = offset + HEADER_LEN + data.readUInt32LE(offset + 9) + data.readUInt32LE(offset + 13) * 0x1_0000_0000;
      if (end > data.length) break;
      handle(
        peer,
        data.readUInt32LE(offset + 4),
        data[offset + 8] as number,
        data.subarray(offset + HEADER_LEN, end),
        data.subarray(offset, end),
      );
      offset = end;
    }
    socket.uncork();
    if (offset < data.length) held = data.subarray(offset);
  });
  const gone = () => {
    if (peer.parked) clearTimeout(peer.parked.timer);
    peers.delete(peer.id);
  };
  socket.on('close', gone);
  socket.on('error', () => socket.destroy());
}

try {
  unlinkSync(socketPath);
} catch {
  // No stale socket.
}
const server = createServer(serve);
server.listen(socketPath, () => {
  process.stdout.write(`floor ready socket=${socketPath}\n`);
});
installSideChannel(async () => {
  server.close();
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
