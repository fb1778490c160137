/**
 * The floor: a bare Node `net` Unix-socket server that understands AGNT framing and
 * nothing else. It reads the 17-byte header, waits for the payload, and writes header
 * plus payload back, so it pays for exactly what any framed request/reply server must
 * (a read, a parse, a write) and no more. The kernel is compared against this, run in
 * the same way (its own process, under the same tsx loader), in the same run.
 *
 * Usage: node --import tsx bench/floor-echo-server.ts --socket PATH
 * Prints `floor ready socket=PATH` once it accepts connections.
 */
import { unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { installSideChannel } from './lib/eld-channel.js';

const HEADER_LEN = 17;
const MAGIC = 0x41474e54;

const socketIndex = process.argv.indexOf('--socket');
const socketPath = socketIndex > 0 ? process.argv[socketIndex + 1] : undefined;
if (!socketPath) {
  process.stderr.write('usage: floor-echo-server.ts --socket PATH\n');
  process.exit(2);
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  // Bytes held between chunks: only when a frame arrives split (rare for small calls).
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
      // The reply is the request's own bytes: header and payload, no copy.
      socket.write(data.subarray(offset, end));
      offset = end;
    }
    socket.uncork();
    if (offset < data.length) held = data.subarray(offset);
  });
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
// Open connections are dropped with the process: the floor owes nobody a graceful close.
const stop = async () => {
  server.close();
};
installSideChannel(stop);
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
