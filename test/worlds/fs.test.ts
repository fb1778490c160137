/** The world filesystem's merged view: mirror copy-on-write, whiteouts, readonly and virtual mounts. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorldFs } from '../../src/worlds/fs/index.js';
import { WorldRandom } from '../../src/worlds/random.js';
import { fingerprint, makeSandbox, type Sandbox } from './fs-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(() => box.cleanup());

function openWorld(extra: { writable?: boolean } = {}, seed = 42) {
  return WorldFs.open(
    {
      layerDir: box.layerDir,
      mounts: [
        { path: '/app', type: 'mirror', source: box.source, writable: extra.writable ?? true },
        { path: '/etc/config', type: 'readonly', source: box.configs },
        {
          path: '/var/log',
          type: 'virtual',
          files: [
            { name: 'app.log', generator: 'random_logs', options: { lines: 50, error_rate: 0.2 } },
            { name: 'motd', content: 'welcome\n' },
            { name: 'nested/deep.txt', content: 'deep' },
          ],
        },
      ],
    },
    { random: WorldRandom.fromSeed(seed) },
  );
}

describe('WorldFs mirror mounts', () => {
  it('reads fall through to the source, with offset and length', async () => {
    const fs = await openWorld();
    expect((await fs.read('/app/README.md')).content).toBe('hello world\n');
    const part = await fs.read('/app/README.md', { offset: 6, length: 5 });
    expect(part).toMatchObject({ content: 'world', bytes_read: 5, size: 12, eof: false });
    expect((await fs.read('/app/README.md', { encoding: 'base64' })).content).toBe(Buffer.from('hello world\n').toString('base64'));
    expect(await fs.stat('/app/src/main.ts')).toMatchObject({ type: 'file', origin: 'source', mount: '/app', size: 20 });
  });

  it('the first write copies up into the layer; the source stays byte-identical after many operations', async () => {
    const before = await fingerprint(box.source);
    const fs = await openWorld();
    await fs.write('/app/README.md', 'more\n', { append: true });
    expect((await fs.read('/app/README.md')).content).toBe('hello world\nmore\n');
    expect(await readFile(join(box.layerDir, 'upper', 'app', 'README.md'), 'utf8')).toBe('hello world\nmore\n');
    await fs.write('/app/src/main.ts', 'export const x = 99;\n');
    await fs.write('/app/new/dir/file.txt', 'new', { mkdir: true });
    await fs.remove('/app/src/lib', { recursive: true });
    await fs.corrupt('/app/src/main.ts');
    await fs.write('/app/inner-link.ts', 'through the link?');
    await fs.materialize(join(box.root, 'out'));
    expect(await fingerprint(box.source)).toEqual(before);
    expect(await fs.stat('/app/README.md')).toMatchObject({ origin: 'layer' });
  });

  it('deletes record whiteouts; listing merges layer and source; a path can be recreated', async () => {
    const fs = await openWorld();
    await fs.remove('/app/README.md');
    await expect(fs.read('/app/README.md')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await fs.list('/app')).map((entry) => entry.name)).not.toContain('README.md');
    await fs.write('/app/README.md', 'again');
    expect((await fs.read('/app/README.md')).content).toBe('again');

    await expect(fs.remove('/app/src')).rejects.toMatchObject({ code: 'CONFLICT' });
    await fs.remove('/app/src', { recursive: true });
    await expect(fs.stat('/app/src/lib/util.ts')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A directory recreated over a whiteout is opaque: the source's old children stay hidden.
    await fs.write('/app/src/fresh.ts', 'x', { mkdir: true });
    expect(await fs.list('/app/src')).toEqual([{ name: 'fresh.ts', type: 'file' }]);

    // The layer survives a reopen (whiteouts are on disk, the index is rebuilt).
    const again = await openWorld();
    expect(await again.list('/app/src')).toEqual([{ name: 'fresh.ts', type: 'file' }]);
    expect((await again.read('/app/README.md')).content).toBe('again');
    expect(again.usage()).toMatchObject({ files: 2, bytes: 6 });
  });

  it('writes need an existing parent unless mkdir; directories are not files', async () => {
    const fs = await openWorld();
    await expect(fs.write('/app/nope/x.txt', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.write('/app/src', 'x')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(fs.read('/app/src')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(fs.write('/app/README.md/x', 'x', { mkdir: true })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await fs.mkdir('/app/made/here');
    expect(await fs.stat('/app/made/here')).toMatchObject({ type: 'directory', origin: 'layer' });
  });

  it('writable: false makes a mirror read-only', async () => {
    const fs = await openWorld({ writable: false });
    await expect(fs.write('/app/README.md', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED', details: { errno: 'EROFS' } });
    await expect(fs.remove('/app/README.md')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await fs.read('/app/README.md')).content).toBe('hello world\n');
  });
});

describe('WorldFs readonly mounts and paths outside mounts', () => {
  it('readonly mounts read the source and refuse writes with an EROFS-like message', async () => {
    const fs = await openWorld();
    expect((await fs.read('/etc/config/prod.yaml')).content).toBe('replicas: 3\n');
    const error = await fs.write('/etc/config/prod.yaml', 'replicas: 0').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((error as Error).message).toMatch(/read-only file system.*\/etc\/config \(readonly\)/);
    await expect(fs.remove('/etc/config/prod.yaml')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('outside every mount: reads NOT_FOUND, writes PERMISSION_DENIED; mount ancestors are synthetic directories', async () => {
    const fs = await openWorld();
    await expect(fs.read('/home/user/x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.write('/tmp/x', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(await fs.list('/')).toEqual([
      { name: 'app', type: 'directory' },
      { name: 'etc', type: 'directory' },
      { name: 'var', type: 'directory' },
    ]);
    expect(await fs.list('/etc')).toEqual([{ name: 'config', type: 'directory' }]);
    await expect(fs.write('/etc/passwd', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });
});

describe('WorldFs virtual mounts', () => {
  it('serves static and generated files, with implicit directories', async () => {
    const fs = await openWorld();
    expect((await fs.read('/var/log/motd')).content).toBe('welcome\n');
    expect((await fs.read('/var/log/nested/deep.txt')).content).toBe('deep');
    const log = (await fs.read('/var/log/app.log')).content;
    expect(log.trim().split('\n')).toHaveLength(50);
    expect(log).toMatch(/^2024-01-01T00:00:\d\d\.\d{3}Z (INFO |WARN |ERROR) \[(api|worker|db)\] /);
    expect(await fs.list('/var/log')).toEqual([
      { name: 'app.log', type: 'file' },
      { name: 'motd', type: 'file' },
      { name: 'nested', type: 'directory' },
    ]);
  });

  it('generated content is deterministic per seed and differs across seeds', async () => {
    const a = (await (await openWorld({}, 7)).read('/var/log/app.log')).content;
    const b = (await (await openWorld({}, 7)).read('/var/log/app.log')).content;
    const c = (await (await openWorld({}, 8)).read('/var/log/app.log')).content;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('virtual files are writable: writes and appends land in the layer, deletes are whiteouts', async () => {
    const fs = await openWorld();
    await fs.write('/var/log/motd', 'bye\n', { append: true });
    expect((await fs.read('/var/log/motd')).content).toBe('welcome\nbye\n');
    await fs.write('/var/log/new.log', 'n');
    await fs.remove('/var/log/app.log');
    expect((await fs.list('/var/log')).map((entry) => entry.name)).toEqual(['motd', 'nested', 'new.log']);
  });

  it('bad configuration names the key path', async () => {
    const open = (files: unknown[]) =>
      WorldFs.open({ layerDir: box.layerDir, mounts: [{ path: '/v', type: 'virtual', files: files as never }] }).then(
        () => new Error('opened'),
        (e: Error) => e,
      );
    expect((await open([{ name: 'a', generator: 'nope' }])).message).toMatch(
      /^mounts\[0\]\.files\[0\]\.generator: unknown generator "nope"/,
    );
    expect((await open([{ name: 'a', generator: 'random_logs', options: { lines: 'x' } }])).message).toMatch(
      /^mounts\[0\]\.files\[0\]\.options\.lines: /,
    );
    expect((await open([{ name: '../x', content: '' }])).message).toMatch(/^mounts\[0\]\.files\[0\]\.name: /);
    expect((await open([{ name: 'a' }])).message).toMatch(/exactly one of content or generator/);
    const relative = await WorldFs.open({ layerDir: box.layerDir, mounts: [{ path: '/a', type: 'mirror', source: 'rel/dir' }] }).then(
      () => new Error('opened'),
      (e: Error) => e,
    );
    expect(relative.message).toMatch(/^mounts\[0\]\.source: expected an absolute host directory/);
  });
});
