/**
 * EXEC of a world member against a real kernel and a real bubblewrap: the command sees
 * the world's mounts at their world paths, its changes are synced back into the world's
 * layer (never the mirror's source), and nothing it does reaches the host: writes
 * outside the mounts, `..`, symlinks to host paths, reads of host files, readonly
 * mounts. The world's limits and disk effects refuse changes in `world_sync`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { requireWorldSandbox } from '../../src/worlds/exec-calls.js';
import { connect, failure, startAgentsKernel } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let source: string;
let configSource: string;
let hostSecret: string;
const SECRET_ENV = 'WORLD_EXEC_TEST_SECRET';

type Reply = Record<string, unknown>;
interface ExecReply {
  stdout: string;
  stderr: string;
  exit_code: number;
  world_id: string;
  world_sync: {
    written: number;
    bytes: number;
    directories: number;
    deleted: number;
    refused: { path: string; code: string }[];
    refused_count: number;
  };
}

beforeAll(async () => {
  process.env[SECRET_ENV] = 'do-not-leak';
  kernel = await startAgentsKernel();
  source = join(kernel.dir, 'app-src');
  mkdirSync(join(source, 'lib'), { recursive: true });
  writeFileSync(join(source, 'main.txt'), 'original main\n');
  writeFileSync(join(source, 'lib', 'util.txt'), 'util');
  writeFileSync(join(source, 'gone.txt'), 'to be deleted');
  configSource = join(kernel.dir, 'config-src');
  mkdirSync(configSource);
  writeFileSync(join(configSource, 'settings.ini'), 'mode=prod\n');
  hostSecret = join(kernel.dir, 'host-secret.txt');
  writeFileSync(hostSecret, 'host only');
});
afterAll(async () => {
  delete process.env[SECRET_ENV];
  await kernel.cleanup();
});

async function member(extra: Record<string, unknown> = {}): Promise<{ client: AgentOSClient; worldId: string }> {
  const client = await connect(kernel);
  const created = (await client.call('WORLD_CREATE', {
    config: {
      name: `exec-${Math.random().toString(36).slice(2, 8)}`,
      filesystem: {
        '/app': { type: 'mirror', source },
        '/etc/config': { type: 'readonly', source: configSource },
        '/frozen': { type: 'mirror', source: configSource, writable: false },
        '/data': { type: 'virtual', files: [{ name: 'seed.txt', content: 'seeded' }] },
      },
      ...extra,
    },
  })) as { world_id: string };
  await client.call('WORLD_JOIN', { world_id: created.world_id });
  return { client, worldId: created.world_id };
}

const exec = (client: AgentOSClient, command: string, more: Reply = {}) => client.call('EXEC', { command, ...more }) as Promise<ExecReply>;

describe('EXEC inside a world', () => {
  it('sees the mounts at their world paths, in the first mount by default, with a minimal environment', async () => {
    const { client, worldId } = await member();
    const reply = await exec(client, 'pwd; cat main.txt lib/util.txt /data/seed.txt /etc/config/settings.ini; ls /; env');
    expect(reply.exit_code, reply.stderr).toBe(0);
    expect(reply.world_id).toBe(worldId);
    const lines = reply.stdout.split('\n');
    expect(lines[0]).toBe('/app');
    expect(reply.stdout).toContain('original main\nutilseededmode=prod\n');
    for (const dir of ['app', 'data', 'etc', 'frozen', 'usr', 'tmp']) expect(lines).toContain(dir);
    expect(lines).not.toContain('root');
    expect(reply.stdout).not.toContain(SECRET_ENV);
    expect(reply.stdout).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect(reply.world_sync).toMatchObject({ written: 0, deleted: 0, refused_count: 0 });
    const inData = await exec(client, 'pwd', { cwd: '/data' });
    expect(inData.stdout).toBe('/data\n');
    await failure(exec(client, 'true', { cwd: '/app/main.txt' }), 'INVALID_REQUEST');
    await failure(exec(client, 'true', { cwd: '/nowhere' }), 'NOT_FOUND');
    await client.close();
  });

  it("syncs writes, new directories and deletions into the world's layer; the source stays byte-identical", async () => {
    const { client, worldId } = await member();
    const before = readFileSync(join(source, 'main.txt'));
    const reply = await exec(
      client,
      'echo changed > main.txt && mkdir -p new/deep && printf made > new/deep/file.txt && rm gone.txt && echo more >> /data/seed.txt && mkdir /data/empty',
    );
    expect(reply.exit_code, reply.stderr).toBe(0);
    expect(reply.world_sync).toMatchObject({ written: 3, deleted: 1, refused_count: 0 });
    expect(reply.world_sync.directories).toBeGreaterThanOrEqual(3);
    // The synced bytes count as the agent's writes.
    const usage = ((await client.call('METRICS', {})) as { metrics: { bytes_written: number } }).metrics;
    expect(usage.bytes_written).toBeGreaterThanOrEqual(reply.world_sync.bytes);
    expect(reply.world_sync.bytes).toBeGreaterThan(0);
    expect(await client.call('READ', { path: '/app/main.txt' })).toMatchObject({ content: 'changed\n' });
    expect(await client.call('READ', { path: '/app/new/deep/file.txt' })).toMatchObject({ content: 'made' });
    expect(await client.call('READ', { path: '/data/seed.txt' })).toMatchObject({ content: 'seededmore\n' });
    await failure(client.call('READ', { path: '/app/gone.txt' }), 'NOT_FOUND');
    // The source is untouched.
    expect(readFileSync(join(source, 'main.txt'))).toEqual(before);
    expect(existsSync(join(source, 'gone.txt'))).toBe(true);
    expect(existsSync(join(source, 'new'))).toBe(false);
    // A second EXEC sees the first one's changes, and the empty directory.
    const again = await exec(client, 'cat main.txt; test -d /data/empty && echo dir; test -e gone.txt || echo no-gone');
    expect(again.stdout).toBe('changed\ndir\nno-gone\n');
    // Nothing is left of the scratch trees.
    expect(readdirSync(join(kernel.options.dataDir, 'worlds', worldId)).filter((name) => name.startsWith('exec-'))).toEqual([]);
    await client.close();
  });

  it('syncs a file turned into a directory and a directory turned into a file', async () => {
    const { client } = await member();
    const reply = await exec(client, 'rm main.txt && mkdir main.txt && echo inner > main.txt/inner && rm -r lib && echo flat > lib');
    expect(reply.exit_code, reply.stderr).toBe(0);
    expect(reply.world_sync.refused_count).toBe(0);
    expect(await client.call('READ', { path: '/app/main.txt/inner' })).toMatchObject({ content: 'inner\n' });
    expect(await client.call('READ', { path: '/app/lib' })).toMatchObject({ content: 'flat\n' });
    await failure(client.call('READ', { path: '/app/lib/util.txt' }), 'NOT_FOUND');
    expect(readFileSync(join(source, 'lib', 'util.txt'), 'utf8')).toBe('util');
    await client.close();
  });

  it('keeps every write outside the mounts, through "..", and to readonly mounts from the host', async () => {
    const { client } = await member();
    const passwd = readFileSync('/etc/passwd');
    const escapePath = join(kernel.dir, 'escaped.txt');
    const reply = await exec(
      client,
      [
        'echo x > /etc/passwd',
        'echo x > /etc/new-file',
        'echo x > /outside.txt',
        `echo x > /app/../../..${escapePath}`,
        `echo x > ${escapePath}`,
        'echo x > /etc/config/settings.ini',
        'echo x > /etc/config/new.ini',
        'echo x > /frozen/settings.ini',
        'echo ok',
      ].join('; '),
    );
    expect(reply.stdout).toBe('ok\n');
    expect(reply.stderr).toMatch(/Read-only file system|nonexistent|No such file/);
    expect(reply.stderr.split('\n').filter(Boolean).length).toBe(8);
    expect(readFileSync('/etc/passwd')).toEqual(passwd);
    expect(existsSync(escapePath)).toBe(false);
    expect(readFileSync(join(configSource, 'settings.ini'), 'utf8')).toBe('mode=prod\n');
    expect(existsSync(join(configSource, 'new.ini'))).toBe(false);
    expect(reply.world_sync).toMatchObject({ written: 0, deleted: 0, refused_count: 0 });
    await client.close();
  });

  it('cannot read host files: the kernel data directory, the test directory, /root', async () => {
    const { client } = await member();
    const reply = await exec(
      client,
      `cat ${hostSecret}; ls ${kernel.options.dataDir}; cat ${join(kernel.options.dataDir, 'admin.token')}; ls /root; cat /etc/shadow; echo done`,
    );
    expect(reply.stdout).toBe('done\n');
    expect(reply.stdout).not.toContain('host only');
    expect(reply.stderr.split('\n').filter(Boolean).length).toBe(5);
    await client.close();
  });

  it('never syncs symlinks: a link to a host path is refused and reaches nothing', async () => {
    const { client } = await member();
    const target = join(kernel.dir, 'link-target.txt');
    const reply = await exec(
      client,
      `ln -s ${target} host-link && echo pwned > host-link; ln -s /etc/passwd passwd-link; ln -s main.txt local-link; echo ok`,
    );
    expect(reply.stdout).toBe('ok\n');
    expect(existsSync(target)).toBe(false);
    const refused = reply.world_sync.refused.map((entry) => [entry.path, entry.code]);
    expect(refused).toEqual(
      expect.arrayContaining([
        ['/app/host-link', 'PERMISSION_DENIED'],
        ['/app/passwd-link', 'PERMISSION_DENIED'],
        ['/app/local-link', 'PERMISSION_DENIED'],
      ]),
    );
    await failure(client.call('READ', { path: '/app/host-link' }), 'NOT_FOUND');
    await failure(client.call('READ', { path: '/app/passwd-link' }), 'NOT_FOUND');
    await client.close();
  });

  it("reports what the world's limits and disk_full refuse", async () => {
    const { client, worldId } = await member({ resources: { max_files: 2 } });
    const limited = await exec(client, 'for n in 1 2 3 4; do echo $n > /data/f$n; done');
    expect(limited.exit_code).toBe(0);
    expect(limited.world_sync.written).toBe(2);
    expect(limited.world_sync.refused_count).toBe(2);
    expect(limited.world_sync.refused.every((entry) => entry.code === 'QUOTA_EXCEEDED')).toBe(true);

    await client.call('WORLD_EVENT', { world_id: worldId, type: 'disk_full' });
    const full = await exec(client, 'echo new > /app/main.txt');
    expect(full.world_sync.written).toBe(0);
    expect(full.world_sync.refused).toEqual([expect.objectContaining({ path: '/app/main.txt', code: 'QUOTA_EXCEEDED' })]);
    expect(full.world_sync.refused[0]).toMatchObject({ reason: expect.stringContaining('no space left') });
    expect(await client.call('READ', { path: '/app/main.txt' })).toMatchObject({ content: 'original main\n' });
    await client.call('WORLD_EVENT', { world_id: worldId, type: 'heal' });
    await client.close();
  });

  it('runs the EXECs of one world one at a time', async () => {
    const { client } = await member();
    const replies = await Promise.all(
      [1, 2, 3].map((n) => exec(client, `v=$(cat /data/count 2>/dev/null || echo 0); sleep 0.1; echo $((v + ${n})) > /data/count`)),
    );
    for (const reply of replies) expect(reply.exit_code, reply.stderr).toBe(0);
    expect(await client.call('READ', { path: '/data/count' })).toMatchObject({ content: '6\n' });
    await client.close();
  });

  it('is refused, never run unsandboxed, where bubblewrap is missing', async () => {
    const refusal = requireWorldSandbox({ id: 'world-x', name: 'x' }, '/nonexistent/bwrap');
    await expect(refusal).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(refusal).rejects.toThrow(/only inside bubblewrap.*not installed/);
  });
});
