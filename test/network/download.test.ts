/**
 * DOWNLOAD (0x51) through a real kernel from a real server on loopback: the body streams
 * to a file the agent's write rules allow, with its sha256; a body over the limit, a
 * timeout or a server error leaves no file (and an existing one untouched).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadResult } from '../../src/protocol/schemas/network.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';
import { networkAgent, startNetworkKernel, startServer, type TestServer } from './support.js';

const MAX_DOWNLOAD = 1024 * 1024;
const FILE = randomBytes(300 * 1024);
const GZIP = gzipSync('hello archive');

let kernel: TestKernel;
let server: TestServer;
let agent: AgentOSClient;
let dir: string;
let outside: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentos-download-'));
  outside = mkdtempSync(join(tmpdir(), 'agentos-download-outside-'));
  server = await startServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/file':
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': FILE.length });
        response.end(FILE);
        return;
      case '/chunked': {
        // No content-length: the size is known only by reading.
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const total = Number(url.searchParams.get('bytes'));
        const chunk = Buffer.alloc(64 * 1024, 0x62);
        let sent = 0;
        const pump = () => {
          while (sent < total && !response.destroyed) {
            const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
            sent += piece.length;
            if (!response.write(piece)) return;
          }
          if (sent >= total) response.end();
        };
        response.on('drain', pump);
        pump();
        return;
      }
      case '/declared':
        response.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
        response.write('x');
        return;
      case '/archive':
        response.writeHead(200, { 'content-type': 'application/gzip' });
        response.end(GZIP);
        return;
      case '/missing':
        response.writeHead(404);
        response.end('not here');
        return;
      case '/broken':
        response.writeHead(500);
        response.end('oops');
        return;
      case '/stall':
        response.writeHead(200);
        response.write('partial');
        return;
      case '/redirect':
        response.writeHead(302, { location: '/file' });
        response.end();
        return;
      default:
        response.writeHead(404);
        response.end();
    }
  });
  kernel = await startNetworkKernel({ hosts: { 'ok.test': ['127.0.0.1'] }, maxDownloadBytes: MAX_DOWNLOAD });
  agent = await networkAgent(kernel, { allowed_domains: ['ok.test', '127.0.0.1'], allowed_write_paths: [`${dir}/**`] });
});

afterAll(async () => {
  await agent?.close();
  await kernel?.cleanup();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const at = (path: string) => `http://ok.test:${server.port}${path}`;
const download = (request: Record<string, unknown>) => agent.call('DOWNLOAD', request) as Promise<DownloadResult & { success: true }>;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** Nothing but `names` in `directory`: no partial or temporary file left behind. */
const only = (directory: string, names: string[]) => expect(readdirSync(directory).sort()).toEqual([...names].sort());

describe('DOWNLOAD', () => {
  it('streams the body to the path and returns its size and sha256', async () => {
    const path = join(dir, 'file.bin');
    const reply = await download({ url: at('/file'), path });
    expect(reply).toMatchObject({
      success: true,
      path,
      bytes: FILE.length,
      status_code: 200,
      sha256: sha256(FILE),
      content_type: 'application/octet-stream',
      url: at('/file'),
      redirects: 0,
    });
    expect(readFileSync(path).equals(FILE)).toBe(true);
    only(dir, ['file.bin']);
    rmSync(path);
  });

  it('follows redirects and replaces an existing file', async () => {
    const path = join(dir, 'replaced.bin');
    writeFileSync(path, 'old');
    const reply = await download({ url: at('/redirect'), path });
    expect(reply).toMatchObject({ bytes: FILE.length, redirects: 1, url: at('/file') });
    expect(readFileSync(path).equals(FILE)).toBe(true);
    rmSync(path);
  });

  it('asks for the bytes as they are (accept-encoding: identity), so an archive stays an archive', async () => {
    const path = join(dir, 'data.gz');
    const reply = await download({ url: at('/archive'), path });
    expect(server.seen.at(-1)?.headers['accept-encoding']).toBe('identity');
    expect(reply).toMatchObject({ bytes: GZIP.length, sha256: sha256(GZIP), content_type: 'application/gzip' });
    expect(readFileSync(path).equals(GZIP)).toBe(true);
    rmSync(path);
  });

  it('creates missing directories only with mkdir', async () => {
    const path = join(dir, 'a', 'b', 'file.bin');
    await failure(download({ url: at('/file'), path }), 'NOT_FOUND');
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect((await download({ url: at('/file'), path, mkdir: true })).bytes).toBe(FILE.length);
    rmSync(join(dir, 'a'), { recursive: true });
  });

  it('refuses a body over max_bytes (or the kernel’s limit) and leaves nothing, an existing file untouched', async () => {
    const path = join(dir, 'kept.bin');
    writeFileSync(path, 'previous content');
    const before = kernel.metrics.usage(agent.agentId as number).network_bytes;
    const streamed = await failure(download({ url: at(`/chunked?bytes=${200 * 1024}`), path, max_bytes: 100 * 1024 }), 'QUOTA_EXCEEDED');
    expect(streamed.message).toContain('max_bytes');
    // What arrived before the refusal crossed the network all the same: it counts.
    expect(kernel.metrics.usage(agent.agentId as number).network_bytes - before).toBeGreaterThan(100 * 1024);
    await failure(download({ url: at(`/chunked?bytes=${4 * MAX_DOWNLOAD}`), path }), 'QUOTA_EXCEEDED');
    await failure(download({ url: at('/declared'), path }), 'QUOTA_EXCEEDED');
    expect(readFileSync(path, 'utf8')).toBe('previous content');
    only(dir, ['kept.bin']);
    rmSync(path);
  });

  it('saves nothing for an error status, and removes the partial file on a timeout', async () => {
    const path = join(dir, 'never.bin');
    await failure(download({ url: at('/missing'), path }), 'NOT_FOUND');
    await failure(download({ url: at('/broken'), path }), 'UNAVAILABLE');
    await failure(download({ url: at('/stall'), path, timeout: 0.3 }), 'TIMEOUT');
    only(dir, []);
  });

  it('writes only where the agent may write: other directories, blocked names and symlinks out are PERMISSION_DENIED', async () => {
    await failure(download({ url: at('/file'), path: join(outside, 'x.bin') }), 'PERMISSION_DENIED');
    await failure(download({ url: at('/file'), path: join(dir, '.env') }), 'PERMISSION_DENIED');
    symlinkSync(join(outside, 'target.bin'), join(dir, 'link.bin'));
    const error = await failure(download({ url: at('/file'), path: join(dir, 'link.bin') }), 'PERMISSION_DENIED');
    expect(error.message).toMatch(/^DOWNLOAD denied/);
    only(outside, []);
    rmSync(join(dir, 'link.bin'));
  });

  it('names the field of a malformed request', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ path: join(dir, 'x') }, 'url'],
      [{ url: at('/file') }, 'path'],
      [{ url: at('/file'), path: '' }, 'path'],
      [{ url: 'not a url', path: join(dir, 'x') }, 'url'],
      [{ url: at('/file'), path: join(dir, 'x'), max_bytes: MAX_DOWNLOAD + 1 }, 'max_bytes'],
      [{ url: at('/file'), path: join(dir, 'x'), timeout: 100_000 }, 'timeout'],
      [{ url: at('/file'), path: join(dir, 'x'), headers: { Host: 'x' } }, 'headers.Host'],
    ];
    for (const [request, field] of cases) {
      const error = await failure(download(request), 'INVALID_REQUEST');
      expect(error.reply?.field, JSON.stringify(request)).toBe(field);
    }
  });
});
