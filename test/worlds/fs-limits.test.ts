/** The world filesystem's edges: escapes, limits, chaos effects, materialize and snapshots of the layer. */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorldFs, type WorldFsConfigInput } from '../../src/worlds/fs/index.js';
import { WorldRandom } from '../../src/worlds/random.js';
import { fingerprint, makeSandbox, type Sandbox } from './fs-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(() => box.cleanup());

function config(limits: WorldFsConfigInput['limits'] = {}, layerDir = box.layerDir): WorldFsConfigInput {
  return {
    layerDir,
    mounts: [
      { path: '/app', type: 'mirror', source: box.source },
      { path: '/var/log', type: 'virtual', files: [{ name: 'app.log', generator: 'random_logs', options: { lines: 20 } }] },
    ],
    limits,
  };
}

describe('WorldFs escapes', () => {
  it('`..` is normalised lexically and never climbs above the world root', async () => {
    const fs = await WorldFs.open(config());
    expect(fs.resolve('/app/../../../etc/passwd')).toMatchObject({ kind: 'outside', path: '/etc/passwd' });
    expect(fs.resolve('../../app/./src//main.ts')).toMatchObject({ kind: 'mount', path: '/app/src/main.ts', rel: 'src/main.ts' });
    await expect(fs.read('/app/../../etc/passwd')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.read('../../etc/passwd')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.write('/app/../../../tmp/owned', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(fs.read('/app/\0x')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('source symlinks inside the tree are followed; ones leading out read as NOT_FOUND and are not listed', async () => {
    const fs = await WorldFs.open(config());
    expect((await fs.read('/app/inner-link.ts')).content).toBe('export const x = 1;\n');
    await expect(fs.read('/app/etc-link/passwd')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.list('/app/etc-link')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.read('/app/sibling-link')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fs.read('/app/sibling-dir/token.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const names = (await fs.list('/app')).map((entry) => entry.name);
    expect(names).toEqual(['README.md', 'inner-link.ts', 'src']);
    // Writing over an escaping link creates a world file; the link's target is untouched.
    await fs.write('/app/sibling-link', 'mine');
    expect((await fs.read('/app/sibling-link')).content).toBe('mine');
    expect(await readFile(join(box.outside, 'token.txt'), 'utf8')).toBe('top secret');
  });
});

describe('WorldFs limits', () => {
  it('max_files counts files in the layer only', async () => {
    const fs = await WorldFs.open(config({ maxFiles: 2 }));
    await fs.write('/app/a', '1');
    await fs.write('/app/README.md', '2');
    await fs.write('/app/a', 'overwrite is fine');
    const error = await fs.write('/app/b', '3').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { limit: 'max_files' } });
    expect((error as Error).message).toMatch(/"\/app\/b".*max_files/);
    await fs.remove('/app/a');
    await fs.write('/app/b', '3');
  });

  it('disk_quota counts bytes in the layer, including copy-up', async () => {
    const fs = await WorldFs.open(config({ diskQuota: 20 }));
    await fs.write('/app/a', '0123456789');
    // Appending to the 12-byte README copies it up: 10 + 12 + 1 > 20.
    await expect(fs.write('/app/README.md', '!', { append: true })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { limit: 'disk_quota' },
    });
    await fs.write('/app/a', '01234567890123456789');
    expect(fs.usage()).toMatchObject({ files: 1, bytes: 20, diskQuota: 20 });
    await expect(fs.write('/app/a', 'x', { append: true })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(await readdir(join(box.layerDir, 'upper', 'app'))).toEqual(['a']);
  });
});

describe('WorldFs chaos effects', () => {
  it('disk_full fails writes with ENOSPC but allows reads and deletes; heal restores', async () => {
    const fs = await WorldFs.open(config());
    fs.setEffects({ diskFull: true });
    await expect(fs.write('/app/a', 'x')).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', details: { errno: 'ENOSPC' } });
    expect((await fs.read('/app/README.md')).content).toBe('hello world\n');
    await fs.remove('/app/README.md');
    fs.setEffects({ diskFull: false });
    await fs.write('/app/a', 'x');
  });

  it('disk_fail fails reads and writes with EIO', async () => {
    const fs = await WorldFs.open(config());
    fs.setEffects({ diskFail: true });
    await expect(fs.read('/app/README.md')).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { errno: 'EIO' } });
    await expect(fs.write('/app/a', 'x')).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { errno: 'EIO' } });
    await expect(fs.list('/app')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('slow_io waits through the injected sleep', async () => {
    const waits: number[] = [];
    const fs = await WorldFs.open(config(), { sleep: async (ms) => void waits.push(ms) });
    await fs.read('/app/README.md');
    fs.setEffects({ slowIoMs: 250 });
    await fs.read('/app/README.md');
    await fs.write('/app/a', 'x');
    expect(waits).toEqual([250, 250]);
  });

  it('file_corruption flips bytes of the world copy deterministically; the source stays intact', async () => {
    const before = await fingerprint(box.source);
    const run = async (layerDir: string) => {
      const fs = await WorldFs.open(config({}, layerDir), { random: WorldRandom.fromSeed(3) });
      const offsets = [await fs.corrupt('/app/src/main.ts', { bytes: 3 }), await fs.corrupt('/var/log/app.log')];
      return { offsets, main: (await fs.read('/app/src/main.ts')).content, log: (await fs.read('/var/log/app.log')).content };
    };
    const first = await run(join(box.root, 'w1'));
    const second = await run(join(box.root, 'w2'));
    expect(first).toEqual(second);
    expect(first.main).not.toBe('export const x = 1;\n');
    expect(first.offsets[0]).toHaveLength(3);
    expect(await fingerprint(box.source)).toEqual(before);
  });
});

describe('WorldFs materialize and layer snapshots', () => {
  it('materializes the merged view as a real tree of copies (no symlinks, no hard links)', async () => {
    const fs = await WorldFs.open(config());
    await fs.write('/app/README.md', 'changed');
    await fs.remove('/app/src/lib', { recursive: true });
    const target = join(box.root, 'rootfs');
    const result = await fs.materialize(target);
    expect(await readFile(join(target, 'app', 'README.md'), 'utf8')).toBe('changed');
    expect(await readFile(join(target, 'app', 'inner-link.ts'), 'utf8')).toBe('export const x = 1;\n');
    expect((await lstat(join(target, 'app', 'inner-link.ts'))).isSymbolicLink()).toBe(false);
    expect((await stat(join(target, 'app', 'src', 'main.ts'))).nlink).toBe(1);
    expect(await readdir(join(target, 'app'))).toEqual(['README.md', 'inner-link.ts', 'src']);
    expect(await readdir(join(target, 'app', 'src'))).toEqual(['main.ts']);
    expect((await readFile(join(target, 'var', 'log', 'app.log'), 'utf8')).split('\n')).toHaveLength(21);
    expect(result).toMatchObject({ files: 4 });
    await expect(fs.materialize(target)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('export and import round-trip the layer into another world', async () => {
    const fs = await WorldFs.open(config());
    await fs.write('/app/README.md', 'v2');
    await fs.write('/app/bin/data.bin', Buffer.from([0, 255, 1, 254]), { mkdir: true });
    await fs.mkdir('/app/empty');
    await fs.remove('/app/src/lib', { recursive: true });
    const snapshot = JSON.parse(JSON.stringify(await fs.exportLayer()));
    expect(snapshot).toMatchObject({ format: 'agentos-world-layer', version: 1, whiteouts: ['/app/src/lib'] });

    const other = await WorldFs.open(config({}, join(box.root, 'restored')));
    await other.write('/app/stale', 'gone after import');
    await other.importLayer(snapshot);
    expect((await other.read('/app/README.md')).content).toBe('v2');
    expect((await other.read('/app/bin/data.bin', { encoding: 'base64' })).content).toBe(Buffer.from([0, 255, 1, 254]).toString('base64'));
    await expect(other.stat('/app/stale')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(other.stat('/app/src/lib')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await other.stat('/app/empty')).toMatchObject({ type: 'directory' });
    expect(other.usage()).toEqual(fs.usage());
    expect(await other.exportLayer()).toEqual(snapshot);
  });

  it('import refuses another format version and paths outside the mounts', async () => {
    const fs = await WorldFs.open(config());
    const good = await fs.exportLayer();
    await expect(fs.importLayer({ ...good, version: 2 })).rejects.toThrow(/^layer snapshot: version: /);
    await expect(fs.importLayer({ ...good, files: [{ path: '/etc/passwd', content: '' }] })).rejects.toThrow(/files\[0\]\.path.*outside/);
    await expect(fs.importLayer({ ...good, files: [{ path: '/app/../../x', content: '' }] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});
