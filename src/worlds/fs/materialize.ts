/**
 * The world's current view as a real directory tree (for EXEC's bubblewrap binds).
 * Files are copied (reflinked where the filesystem can), never hard-linked: a write
 * through a hard link would reach the mirror's source. Symlinks are never recreated.
 *
 * Two ways in: `materializeTree` walks and copies in one go (tests, tools), while EXEC
 * splits the work: `planTree` walks the view where the WorldFs lives (the kernel's
 * thread, async I/O only) and `writePlan` copies in a Piscina worker, returning what it
 * wrote as the baseline that the sync-back (sync.ts) compares against.
 */
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '../../protocol/errors.js';

export interface MaterializeView {
  list(path: string): Promise<{ name: string; type: 'file' | 'directory' }[]>;
  /** Copies the world file at `path` to the host path `target`; returns its size. */
  copyOut(path: string, target: string): Promise<number>;
}

export interface MaterializeResult {
  files: number;
  directories: number;
  bytes: number;
}

/** Where a planned file's bytes come from: a host file (layer or source) or content held in memory (virtual). */
export type PlannedFile = { path: string; host: string } | { path: string; content: Uint8Array };

/** The world's view as data: directories (parents first) and files, by world path. */
export interface MaterializePlan {
  dirs: string[];
  files: PlannedFile[];
}

export interface PlanView {
  list(path: string): Promise<{ name: string; type: 'file' | 'directory' }[]>;
  source(path: string): Promise<{ host: string } | { content: Uint8Array }>;
}

/** What the host tree holds at a world path after `writePlan` or a scan (sync.ts compares them). */
export interface TreeEntry {
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  ino: number;
  /** ctime in ns as a string: it changes on every write, and no command can set it back. */
  ctime: string;
}

/** [world path, entry], sorted by path. */
export type TreeListing = Array<[string, TreeEntry]>;

/** `targetDir` must be missing or empty, so nothing stale mixes into the view. */
export async function materializeTree(view: MaterializeView, targetDir: string): Promise<MaterializeResult> {
  await ensureEmpty(targetDir);
  const result: MaterializeResult = { files: 0, directories: 0, bytes: 0 };
  // An explicit stack: memory grows with the breadth of one path, not the whole tree.
  const stack = ['/'];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of await view.list(dir)) {
      const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
      const host = join(targetDir, path);
      if (entry.type === 'directory') {
        await mkdir(host, { recursive: true });
        result.directories++;
        stack.push(path);
      } else {
        result.bytes += await view.copyOut(path, host);
        result.files++;
      }
    }
  }
  return result;
}

/**
 * The whole view as a plan; over `maxEntries` files and directories is QUOTA_EXCEEDED
 * (the plan is held in memory and every entry is copied per EXEC).
 */
export async function planTree(view: PlanView, maxEntries: number): Promise<MaterializePlan> {
  const plan: MaterializePlan = { dirs: [], files: [] };
  const stack = ['/'];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of await view.list(dir)) {
      if (plan.dirs.length + plan.files.length >= maxEntries) {
        throw new KernelError(
          'QUOTA_EXCEEDED',
          `the world's view has more than ${maxEntries} files and directories: too many to materialise for EXEC`,
        );
      }
      const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
      if (entry.type === 'directory') {
        plan.dirs.push(path);
        stack.push(path);
      } else {
        plan.files.push({ path, ...(await view.source(path)) });
      }
    }
  }
  plan.dirs.sort();
  return plan;
}

/**
 * Writes `plan` below `targetDir` (missing or empty) and lists what it wrote. A host file
 * that vanished since the plan was made (a concurrent delete) is left out, not an error.
 */
export async function writePlan(plan: MaterializePlan, targetDir: string): Promise<TreeListing> {
  await ensureEmpty(targetDir);
  const listing: TreeListing = [];
  for (const dir of plan.dirs) {
    const host = join(targetDir, dir);
    await mkdir(host, { recursive: true });
    listing.push([dir, entryOf(await lstat(host, { bigint: true }))]);
  }
  for (const file of plan.files) {
    const host = join(targetDir, file.path);
    if ('content' in file) {
      await writeFile(host, file.content);
    } else {
      try {
        // FICLONE: a reflink where the filesystem has them, a plain copy elsewhere.
        await copyFile(file.host, host, constants.COPYFILE_FICLONE);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
    }
    listing.push([file.path, entryOf(await lstat(host, { bigint: true }))]);
  }
  return listing.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function entryOf(info: import('node:fs').BigIntStats): TreeEntry {
  const type = info.isFile() ? 'file' : info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'other';
  return { type, size: Number(info.size), ino: Number(info.ino), ctime: String(info.ctimeNs) };
}

async function ensureEmpty(targetDir: string): Promise<void> {
  try {
    if ((await readdir(targetDir)).length > 0) {
      throw new KernelError('CONFLICT', `cannot materialize the world into "${targetDir}": the directory is not empty`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(targetDir, { recursive: true });
}
