/**
 * The floor for start-up time and idle memory without a loader: plain Node (no tsx),
 * one Unix-socket listener, nothing else. The kernel built to dist/ is compared with
 * this; the kernel run from the sources is compared with floor-echo-server.ts under tsx.
 *
 * Usage: node bench/floor-plain-listener.mjs --socket PATH
 * Prints `floor ready socket=PATH` once it accepts connections.
 */
import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';

const socketPath = process.argv[process.argv.indexOf('--socket') + 1];
try {
  unlinkSync(socketPath);
} catch {
  // No stale socket.
}
const server = createServer((socket) => socket.on('error', () => socket.destroy()));
server.listen(socketPath, () => process.stdout.write(`floor ready socket=${socketPath}\n`));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
