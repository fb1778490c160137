/**
 * DOWNLOAD of a world's member against a real kernel: a mock's body lands in the world's
 * filesystem at a world path (never on the host), an allowed host passes through to a
 * real server on loopback and its body lands in the world too, a host neither mocked nor
 * allowed is PERMISSION_DENIED with nothing written, and the world's rules apply to the
 * destination (readonly mount, disk_full, missing parent without mkdir, max_bytes, a
 * non-2xx answer).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';
import { networkAgent, startNetworkKernel, startServer, type TestServer } from '../network/support.js';

let kernel: TestKernel;
let agent: AgentOSClient;
let server: TestServer;
let worldId: string;
let readonlySource: string;

type Reply = Record<string, unknown>;
const MOCK_BODY = JSON.stringify({ release: '1.2.3' });

beforeAll(async () => {
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('real bytes');
  });
  kernel = await startNetworkKernel({}, { defaultLevel: 'unrestricted' });
  readonlySource = join(kernel.dir, 'ro-src');
  mkdirSync(readonlySource);
  agent = await networkAgent(kernel, { allowed_domains: ['127.0.0.1'] }, 'world-download');
  const created = (await agent.call('WORLD_CREATE', {
    config: {
      name: 'download-world',
      filesystem: { '/downloads': { type: 'virtual' }, '/ro': { type: 'readonly', source: readonlySource } },
      network: {
        allowed_hosts: ['127.0.0.1'],
        mocks: [
          { pattern: 'GET files.test/release.json', response: { release: '1.2.3' } },
          { pattern: 'GET files.test/missing', status: 404, response: 'no such file' },
        ],
      },
    },
  })) as { world_id: string };
  worldId = created.world_id;
  await agent.call('WORLD_JOIN', { world_id: worldId });
});

afterAll(async () => {
  await agent?.close();
  await kernel?.cleanup();
  await server?.close();
});

const download = (request: Reply) => agent.call('DOWNLOAD', request) as Promise<Reply>;
/** Nothing a world download does may appear in the kernel's temp directory (the agents' cwd and the data dir's parent). */
const hostEntries = () => readdirSync(kernel.dir).sort();

describe('DOWNLOAD inside a world', () => {
  it("writes a mock's body into the world's filesystem, not the host's", async () => {
    const before = hostEntries();
    const reply = await download({ url: 'http://files.test/release.json', path: 'downloads/release.json' });
    expect(reply).toMatchObject({
      success: true,
      path: '/downloads/release.json',
      bytes: MOCK_BODY.length,
      status_code: 200,
      sha256: createHash('sha256').update(MOCK_BODY).digest('hex'),
      content_type: 'application/json',
      url: 'http://files.test/release.json',
      redirects: 0,
      world_id: worldId,
    });
    expect(await agent.call('READ', { path: '/downloads/release.json' })).toMatchObject({ content: MOCK_BODY });
    expect(hostEntries()).toEqual(before);
    expect(existsSync('/downloads')).toBe(false);

    // mkdir as on the host: a missing parent is NOT_FOUND without it.
    await failure(download({ url: 'http://files.test/release.json', path: '/downloads/a/b/release.json' }), 'NOT_FOUND');
    expect(await download({ url: 'http://files.test/release.json', path: '/downloads/a/b/release.json', mkdir: true })).toMatchObject({
      path: '/downloads/a/b/release.json',
    });
  });

  it('passes an allowed host through to the real server; the body still lands in the world', async () => {
    const seen = server.seen.length;
    const reply = await download({ url: `${server.origin}/artifact`, path: '/downloads/artifact.txt' });
    expect(reply).toMatchObject({
      path: '/downloads/artifact.txt',
      bytes: 10,
      status_code: 200,
      content_type: 'text/plain',
      world_id: worldId,
    });
    expect(server.seen.length).toBe(seen + 1);
    expect(await agent.call('READ', { path: '/downloads/artifact.txt' })).toMatchObject({ content: 'real bytes' });
    // max_bytes bounds a real body too; nothing is kept.
    await failure(download({ url: `${server.origin}/artifact`, path: '/downloads/small.txt', max_bytes: 4 }), 'QUOTA_EXCEEDED');
    await failure(agent.call('READ', { path: '/downloads/small.txt' }), 'NOT_FOUND');
  });

  it('refuses a blocked host, a non-2xx answer and an oversized body, writing nothing', async () => {
    const seen = server.seen.length;
    const blocked = await failure(download({ url: 'http://elsewhere.test/x', path: '/downloads/x' }), 'PERMISSION_DENIED');
    expect(blocked.message).toMatch(/^DOWNLOAD denied: world "download-world"/);
    expect(server.seen.length).toBe(seen);
    await failure(download({ url: 'http://files.test/missing', path: '/downloads/missing' }), 'NOT_FOUND');
    await failure(download({ url: 'http://files.test/release.json', path: '/downloads/big', max_bytes: 5 }), 'QUOTA_EXCEEDED');
    for (const path of ['/downloads/x', '/downloads/missing', '/downloads/big']) await failure(agent.call('READ', { path }), 'NOT_FOUND');
  });

  it("applies the world's filesystem rules to the destination", async () => {
    const readonly = await failure(download({ url: 'http://files.test/release.json', path: '/ro/release.json' }), 'PERMISSION_DENIED');
    expect(readonly.message).toContain('read-only');
    expect(existsSync(join(readonlySource, 'release.json'))).toBe(false);
    await failure(download({ url: 'http://files.test/release.json', path: '/elsewhere/release.json' }), 'PERMISSION_DENIED');

    await agent.call('WORLD_EVENT', { world_id: worldId, type: 'disk_full' });
    try {
      const full = await failure(download({ url: 'http://files.test/release.json', path: '/downloads/full.json' }), 'QUOTA_EXCEEDED');
      expect(full.message).toContain('no space left');
    } finally {
      await agent.call('WORLD_EVENT', { world_id: worldId, type: 'heal' });
    }
  });
});
