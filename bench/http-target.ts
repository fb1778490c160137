/**
 * The HTTP server both sides of the `http` question call: node:http on 127.0.0.1, in its
 * own process, answering every request with the same small text body (keep-alive), so
 * the measured difference is the kernel's path and nothing the server does.
 *
 * Usage: node --import tsx bench/http-target.ts [--body-bytes N (256)]
 * Prints `http target ready url=http://127.0.0.1:PORT` once it accepts connections.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from './lib/agnt.js';

const args = parseArgs(process.argv.slice(2));
const body = Buffer.alloc(Number(args['body-bytes'] ?? 256), 0x61);

const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  response.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`http target ready url=http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
