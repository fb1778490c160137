/**
 * READ and WRITE of a world member against a real kernel: they act on the world's
 * filesystem (a mirror mount of a temp dir and a virtual mount), never on the host's
 * files; relative paths resolve against the world's `/`; the byte metrics and quotas
 * still count; after WORLD_LEAVE the same agent reads the host again.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, failure, startAgentsKernel } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let source: string;
let hostFile: string;

type Reply = Record<string, unknown>;
const MAX_READ = 1000;

beforeAll(async () => {
  kernel = await startAgentsKernel({ files: { maxReadBytes: MAX_READ } });
  source = join(kernel.dir, 'app-src');
  mkdirSync(join(source, 'lib'), { recursive: true });
  writeFileSync(join(source, 'main.txt'), 'original main\n');
  writeFileSync(join(source, 'lib', 'util.txt'), 'util');
  hostFile = join(kernel.dir, 'host-only.txt');
  writeFileSync(hostFile, 'host content');
});
afterAll(async () => {
  await kernel.cleanup();
});

async function member(): Promise<{ client: AgentOSClient; worldId: string }> {
  const client = await connect(kernel);
  const created = (await client.call('WORLD_CREATE', {
    config: {
      name: `files-${Math.random().toString(36).slice(2, 8)}`,
      filesystem: {
        '/app': { type: 'mirror', source },
        '/data': { type: 'virtual', files: [{ name: 'seed.txt', content: 'seeded' }] },
      },
    },
  })) as { world_id: string };
  await client.call('WORLD_JOIN', { world_id: created.world_id });
  return { client, worldId: created.world_id };
}

describe('READ and WRITE inside a world', () => {
  it('read the mounts; writes to a mirror land in the layer and the source stays byte-identical', async () => {
    const { client, worldId } = await member();
    const before = readFileSync(join(source, 'main.txt'));
    expect(await client.call('READ', { path: '/app/main.txt' })).toMatchObject({
      success: true,
      path: '/app/main.txt',
      content: 'original main\n',
      size: 14,
      encoding: 'utf8',
      offset: 0,
      bytes_read: 14,
      eof: true,
    });
    expect(await client.call('READ', { path: '/data/seed.txt', offset: 2, length: 3 })).toMatchObject({
      path: '/data/seed.txt',
      content: 'ede',
      bytes_read: 3,
      eof: false,
    });

    expect(await client.call('WRITE', { path: '/app/main.txt', content: 'changed' })).toMatchObject({
      success: true,
      path: '/app/main.txt',
      bytes_written: 7,
      size: 7,
    });
    expect(await client.call('WRITE', { path: '/app/main.txt', content: '!', mode: 'append' })).toMatchObject({ size: 8 });
    expect(await client.call('WRITE', { path: '/app/new/deep.txt', content: 'aGk=', encoding: 'base64', mkdir: true })).toMatchObject({
      bytes_written: 2,
    });
    expect(((await client.call('READ', { path: '/app/main.txt' })) as Reply).content).toBe('changed!');
    expect(((await client.call('READ', { path: '/app/new/deep.txt' })) as Reply).content).toBe('hi');
    // The source is untouched: same bytes, no new file.
    expect(readFileSync(join(source, 'main.txt')).equals(before)).toBe(true);
    expect(() => readFileSync(join(source, 'new', 'deep.txt'))).toThrow();
    expect(readFileSync(join(kernel.options.dataDir, 'worlds', worldId, 'layer', 'upper', 'app', 'main.txt'), 'utf8')).toBe('changed!');

    // A virtual mount is writable by default: the write lands in the layer too.
    await client.call('WRITE', { path: '/data/seed.txt', content: 'replaced' });
    expect(((await client.call('READ', { path: '/data/seed.txt' })) as Reply).content).toBe('replaced');
    await client.call('WORLD_DESTROY', { world_id: worldId, force: true });
    await client.close();
  });

  it('nothing reaches the host: outside the mounts READ is NOT_FOUND, WRITE is PERMISSION_DENIED', async () => {
    const { client, worldId } = await member();
    const passwd = await failure(client.call('WRITE', { path: '/etc/passwd', content: 'root::0:0::/:/bin/sh\n' }), 'PERMISSION_DENIED');
    expect(passwd.message).toContain('outside every mount');
    await failure(client.call('WRITE', { path: join(kernel.dir, 'escape.txt'), content: 'x' }), 'PERMISSION_DENIED');
    expect(() => readFileSync(join(kernel.dir, 'escape.txt'))).toThrow();
    await failure(client.call('READ', { path: hostFile }), 'NOT_FOUND');
    await failure(client.call('READ', { path: '/etc/hostname' }), 'NOT_FOUND');
    // `..` never climbs above the world's root.
    await failure(client.call('READ', { path: `/app/../../..${hostFile}` }), 'NOT_FOUND');
    // A mount's ancestor is a read-only directory.
    await failure(client.call('READ', { path: '/' }), 'INVALID_REQUEST');
    await failure(client.call('WRITE', { path: '/top.txt', content: 'x' }), 'PERMISSION_DENIED');
    await client.call('WORLD_DESTROY', { world_id: worldId, force: true });
    await client.close();
  });

  it("relative paths resolve against the world's root, not the agent's working directory", async () => {
    const { client, worldId } = await member();
    expect(await client.call('READ', { path: 'app/lib/util.txt' })).toMatchObject({ path: '/app/lib/util.txt', content: 'util' });
    expect(await client.call('WRITE', { path: './data/rel.txt', content: 'r' })).toMatchObject({ path: '/data/rel.txt' });
    await client.call('WORLD_DESTROY', { world_id: worldId, force: true });
    await client.close();
  });

  it('byte metrics count and byte quotas apply inside a world', async () => {
    const { client, worldId } = await member();
    await client.call('WRITE', { path: '/data/m.txt', content: 'x'.repeat(100) });
    await client.call('READ', { path: '/data/m.txt' });
    await client.call('READ', { path: '/data/m.txt', offset: 90 });
    const metrics = ((await client.call('METRICS', {})) as { metrics: Reply }).metrics;
    expect(metrics).toMatchObject({ bytes_written: 100, bytes_read: 110 });
    expect(metrics.syscalls_by_op).toMatchObject({ READ: 2, WRITE: 1 });

    const admin = await connect(kernel, adminToken(kernel));
    await admin.call('SET_QUOTA', { agent_id: client.agentId, quota: { bytes_written: { limit: 50, window_s: 60 } } });
    await failure(client.call('WRITE', { path: '/data/big.txt', content: 'y'.repeat(100) }), 'QUOTA_EXCEEDED');
    await admin.close();
    await client.call('WORLD_DESTROY', { world_id: worldId, force: true });
    await client.close();
  });

  it("the agent's own permission flags and the kernel's read limit still apply", async () => {
    const { client, worldId } = await member();
    await client.call('WRITE', { path: '/data/large.txt', content: 'z'.repeat(MAX_READ + 10) });
    const tooLarge = await failure(client.call('READ', { path: '/data/large.txt' }), 'QUOTA_EXCEEDED');
    expect(tooLarge.message).toContain('read limit');
    expect(await client.call('READ', { path: '/data/large.txt', offset: MAX_READ })).toMatchObject({ bytes_read: 10, eof: true });
    expect(await client.call('READ', { path: '/data/large.txt', length: MAX_READ })).toMatchObject({ bytes_read: MAX_READ, eof: false });

    await client.call('SET_PERMS', { permissions: { can_write: false } });
    await failure(client.call('WRITE', { path: '/data/denied.txt', content: 'x' }), 'PERMISSION_DENIED');
    await failure(client.call('READ', { path: '/data/denied.txt' }), 'NOT_FOUND');
    await client.call('WORLD_DESTROY', { world_id: worldId, force: true });
    await client.close();
  });

  it('after WORLD_LEAVE the same agent reads and writes the host again', async () => {
    const { client, worldId } = await member();
    await failure(client.call('READ', { path: hostFile }), 'NOT_FOUND');
    await client.call('WORLD_LEAVE', {});
    expect(await client.call('READ', { path: hostFile })).toMatchObject({ path: hostFile, content: 'host content' });
    const back = join(kernel.dir, 'after-leave.txt');
    await client.call('WRITE', { path: back, content: 'on the host' });
    expect(readFileSync(back, 'utf8')).toBe('on the host');
    await client.call('WORLD_DESTROY', { world_id: worldId });
    await client.close();
  });
});
