/**
 * The SDK's network methods against a real kernel and a real HTTP server on loopback:
 * http (a URL alone, and every field) and download, the replies' exact shapes, and the
 * errors each rejects with. The agent gets can_network and 127.0.0.1 from an admin's setPerms.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DownloadReply, HttpReply } from '../../src/protocol/schemas/network.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { startServer, type TestServer } from '../network/support.js';
import { closeAll, connect, connectAdmin, expectShape, type Transport } from './support.js';

const FILE = Buffer.from(Array.from({ length: 3000 }, (_, n) => n % 256));

let kernel: TestKernel;
let server: TestServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join('/tmp', 'agentos-sdk-net-'));
  server = await startServer((request, response, body) => {
    switch (request.url) {
      case '/text':
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-test': 'yes' });
        response.end('hello, wörld');
        return;
      case '/echo':
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ method: request.method, header: request.headers['x-sdk'] ?? null, body: body.toString() }));
        return;
      case '/file':
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(FILE);
        return;
      case '/redirect':
        response.writeHead(302, { location: '/file' });
        response.end();
        return;
      default:
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not here');
    }
  });
  kernel = await startTestKernel();
});

afterEach(closeAll);

afterAll(async () => {
  await kernel?.cleanup();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A standard agent that an admin gave can_network and the loopback address. */
async function networkAgent(transport: Transport = 'socket'): Promise<AgentOSClient> {
  const os = await connect(kernel, transport);
  const admin = await connectAdmin(kernel);
  await admin.setPerms({ agent_id: os.agentId, permissions: { can_network: true, allowed_domains: ['127.0.0.1'] } });
  return os;
}

const at = (path: string) => `${server.origin}${path}`;

describe('http', () => {
  it.each<Transport>(['socket', 'websocket', 'in-process'])(
    'GETs a URL given alone: the real status, headers and body (%s)',
    async (transport) => {
      const os = await networkAgent(transport);
      const reply = await os.http(at('/text'));
      expectShape(HttpReply, reply);
      expect(reply).toMatchObject({
        success: true,
        status_code: 200,
        body: 'hello, wörld',
        body_encoding: 'utf8',
        truncated: false,
        url: at('/text'),
        redirects: 0,
      });
      expect(reply.headers['x-test']).toBe('yes');
    },
  );

  it('sends the method, headers and body asked for; an error status is a reply, not a rejection', async () => {
    const os = await networkAgent();
    const posted = await os.http({ url: at('/echo'), method: 'post', headers: { 'x-sdk': 'ts' }, body: 'ping' });
    expectShape(HttpReply, posted);
    expect(posted.status_code).toBe(201);
    expect(JSON.parse(posted.body)).toEqual({ method: 'POST', header: 'ts', body: 'ping' });
    const missing = await os.http({ url: at('/nowhere') });
    expect(missing).toMatchObject({ status_code: 404, body: 'not here' });
    const cut = await os.http({ url: at('/file'), max_body: 100 });
    expect(cut).toMatchObject({ truncated: true, body_encoding: 'base64' });
    expect(Buffer.from(cut.body, 'base64').equals(FILE.subarray(0, 100))).toBe(true);
  });

  it('rejects with PERMISSION_DENIED without can_network, and for a host outside allowed_domains', async () => {
    const plain = await connect(kernel);
    await failure(plain.http(at('/text')), 'PERMISSION_DENIED');
    const os = await networkAgent();
    await failure(os.http(`http://localhost:${server.port}/text`), 'PERMISSION_DENIED');
  });

  it('rejects a malformed request with INVALID_REQUEST naming the field', async () => {
    const os = await networkAgent();
    expect((await failure(os.http('not a url'), 'INVALID_REQUEST')).reply?.field).toBe('url');
    expect((await failure(os.http({ url: at('/text'), body: 'x' }), 'INVALID_REQUEST')).reply?.field).toBe('body');
    const method = 'FETCH' as unknown as 'GET';
    expect((await failure(os.http({ url: at('/text'), method }), 'INVALID_REQUEST')).reply?.field).toBe('method');
  });
});

describe('download', () => {
  it('writes the body to the path, following redirects, and answers its size and sha256', async () => {
    const os = await networkAgent();
    const path = join(dir, 'file.bin');
    const reply = await os.download({ url: at('/redirect'), path });
    expectShape(DownloadReply, reply);
    expect(reply).toMatchObject({
      success: true,
      path,
      bytes: FILE.length,
      status_code: 200,
      sha256: createHash('sha256').update(FILE).digest('hex'),
      content_type: 'application/octet-stream',
      url: at('/file'),
      redirects: 1,
    });
    expect(readFileSync(path).equals(FILE)).toBe(true);
  });

  it('rejects a body over max_bytes with QUOTA_EXCEEDED, a missing one with NOT_FOUND, a path outside the write rules with PERMISSION_DENIED', async () => {
    const os = await networkAgent();
    await failure(os.download({ url: at('/file'), path: join(dir, 'big.bin'), max_bytes: 100 }), 'QUOTA_EXCEEDED');
    await failure(os.download({ url: at('/nowhere'), path: join(dir, 'none.bin') }), 'NOT_FOUND');
    await failure(os.download({ url: at('/file'), path: '/etc/agentos-sdk-test.bin' }), 'PERMISSION_DENIED');
    expect((await failure(os.download({ url: at('/file'), path: '' }), 'INVALID_REQUEST')).reply?.field).toBe('path');
  });
});
