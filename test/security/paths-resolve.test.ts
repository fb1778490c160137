/**
 * Real-path resolution on real files and symlinks: what a path names once every link is
 * followed (a dangling leaf too), what mkdir would create, and what cannot be resolved.
 * The worker-side checks (authorizeWrite) are called directly, in this thread.
 */
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/protocol/schemas/permissions.js';
import { pathPolicy } from '../../src/security/paths.js';
import { authorizeRead, authorizeWrite } from '../../src/security/paths-access.js';
import { MAX_PATH_BYTES, resolveReal } from '../../src/security/paths-resolve.js';

let root: string;

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'agentos-resolve-')));
  mkdirSync(join(root, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(root, 'dir', 'file.txt'), 'x');
  symlinkSync('dir', join(root, 'dirlink'));
  symlinkSync(join(root, 'dir', 'file.txt'), join(root, 'filelink'));
  symlinkSync(join(root, 'elsewhere', 'target.txt'), join(root, 'dangling'));
  symlinkSync('../dir/sub', join(root, 'dir', 'up-and-down'));
  symlinkSync('chain-2', join(root, 'chain-1'));
  symlinkSync('dangling', join(root, 'chain-2'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveReal', () => {
  it('an existing path is its realpath', async () => {
    expect(await resolveReal(join(root, 'dirlink', 'file.txt'))).toEqual({
      ok: true,
      real: join(root, 'dir', 'file.txt'),
      exists: true,
      existing: join(root, 'dir', 'file.txt'),
    });
    expect(await resolveReal(join(root, 'filelink'))).toMatchObject({ real: join(root, 'dir', 'file.txt'), exists: true });
    expect(await resolveReal(join(root, 'dir', 'up-and-down'))).toMatchObject({ real: join(root, 'dir', 'sub') });
  });

  it('a missing leaf or missing directories follow the deepest existing real directory', async () => {
    expect(await resolveReal(join(root, 'dirlink', 'new.txt'))).toEqual({
      ok: true,
      real: join(root, 'dir', 'new.txt'),
      exists: false,
      existing: join(root, 'dir'),
    });
    expect(await resolveReal(join(root, 'dirlink', 'a', 'b', 'new.txt'))).toEqual({
      ok: true,
      real: join(root, 'dir', 'a', 'b', 'new.txt'),
      exists: false,
      existing: join(root, 'dir'),
    });
    // Below a file nothing exists.
    expect(await resolveReal(join(root, 'filelink', 'below'))).toMatchObject({
      real: join(root, 'dir', 'file.txt', 'below'),
      exists: false,
    });
  });

  it('a dangling symlink (through a chain too) names its target', async () => {
    const target = join(root, 'elsewhere', 'target.txt');
    expect(await resolveReal(join(root, 'dangling'))).toEqual({ ok: true, real: target, exists: false, existing: root });
    expect(await resolveReal(join(root, 'chain-1'))).toMatchObject({ real: target, exists: false });
  });

  it('reports what cannot be resolved instead of guessing', async () => {
    expect(await resolveReal(join(root, 'loop-a'))).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(await resolveReal(join(root, 'loop-a', 'x'))).toMatchObject({ ok: false, errno: 'ELOOP' });
    expect(await resolveReal(`${root}/x\0y`)).toMatchObject({ ok: false, errno: 'NUL' });
    expect(await resolveReal('relative/path')).toMatchObject({ ok: false, errno: 'RELATIVE' });
    expect(await resolveReal(`/${'a'.repeat(MAX_PATH_BYTES)}`)).toMatchObject({ ok: false, errno: 'ENAMETOOLONG' });
    expect(await resolveReal(join(root, 'n'.repeat(300)))).toMatchObject({ ok: false, errno: 'ENAMETOOLONG' });
  });

  it("/proc/<tid> of one of this process's threads is named as this process's", async () => {
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    try {
      await new Promise((resolve) => worker.once('online', resolve));
      const tids = readdirSync('/proc/self/task').filter((tid) => tid !== String(process.pid));
      expect(tids.length).toBeGreaterThan(0);
      for (const tid of tids) {
        expect(await resolveReal(`/proc/${tid}/task/${tid}/environ`)).toMatchObject({ real: `/proc/${process.pid}/task/${tid}/environ` });
        expect(await resolveReal(`/proc/${tid}`)).toMatchObject({ real: `/proc/${process.pid}/task/${tid}`, exists: true });
      }
      expect(await resolveReal('/proc/1/status')).toMatchObject({ real: '/proc/1/status' });
    } finally {
      await worker.terminate();
    }
  });

  it('/proc/self/root and /proc/self/cwd are symlinks like others', async () => {
    expect(await resolveReal(`/proc/self/root${join(root, 'dir')}`)).toMatchObject({ real: join(root, 'dir'), exists: true });
    expect(await resolveReal('/proc/self/cwd')).toMatchObject({ real: realpathSync(process.cwd()) });
  });
});

describe('authorizeWrite', () => {
  const policy = () =>
    pathPolicy({ ...PRESETS.standard, allowed_write_paths: [`${root}/dir/**`] }, { home: '/nonexistent', dataDir: null });

  it('lists the directories mkdir creates, each checked', async () => {
    expect(await authorizeWrite(join(root, 'dirlink', 'a', 'b', 'f.txt'), policy(), 'WRITE', { mkdir: true })).toEqual({
      ok: true,
      value: {
        path: join(root, 'dirlink', 'a', 'b', 'f.txt'),
        real: join(root, 'dir', 'a', 'b', 'f.txt'),
        exists: false,
        create: [join(root, 'dir', 'a'), join(root, 'dir', 'a', 'b')],
      },
    });
    expect(await authorizeWrite(join(root, 'dir', 'f.txt'), policy(), 'WRITE', { mkdir: true })).toMatchObject({
      ok: true,
      value: { create: [] },
    });
  });

  it('without mkdir a missing directory is NOT_FOUND, but only once the path is allowed', async () => {
    expect(await authorizeWrite(join(root, 'dir', 'a', 'f.txt'), policy(), 'WRITE', { mkdir: false })).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });
    expect(await authorizeWrite(join(root, 'other', 'f.txt'), policy(), 'WRITE', { mkdir: false })).toMatchObject({
      ok: false,
      code: 'PERMISSION_DENIED',
    });
  });

  it('follows a dangling leaf to its target and checks the target', async () => {
    const outcome = await authorizeWrite(join(root, 'dangling'), policy(), 'WRITE', { mkdir: true });
    expect(outcome).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    expect(outcome.ok ? '' : outcome.message).toBe(
      `WRITE denied: "${join(root, 'dangling')}" resolves to "${join(root, 'elsewhere', 'target.txt')}", which is not in allowed_write_paths`,
    );
  });

  it('authorizeRead of an unresolvable path denies, saying why', async () => {
    const outcome = await authorizeRead(join(root, 'loop-a'), policy(), 'READ');
    expect(outcome).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    expect(outcome.ok ? '' : outcome.message).toContain('cannot be resolved to a real path (a symlink loop');
  });
});
