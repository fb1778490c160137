/**
 * EXEC's sync-back: what a command changed in its materialised copy of the world goes
 * back into the world through WorldFs, so every rule of a WRITE applies to it (readonly
 * mounts, max_files, disk_quota, disk_full, disk_fail). A change the world does not take
 * is reported, never forced.
 *
 * Change detection compares the tree after the command with the listing `writePlan`
 * made: a path that is gone was deleted, a new one was created, and a file whose inode,
 * size or ctime moved was written (ctime changes with every write and cannot be set back
 * by the command, unlike mtime). No file is hashed.
 *
 * Symlinks, FIFOs, sockets and devices are never synced: a link made inside the sandbox
 * may name a host path, so it is skipped and reported (`refused`, code PERMISSION_DENIED),
 * and the world keeps what it had at that path.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '../../protocol/errors.js';
import type { WorldSync } from '../../protocol/schemas/process.js';
import { entryOf, type TreeEntry, type TreeListing } from './materialize.js';
import { parentOf } from './paths.js';
import type { WorldFs } from './world-fs.js';

/** Refusals listed in a reply; `refused_count` has them all. */
export const MAX_LISTED_REFUSALS = 50;

export interface TreeChanges {
  /** Paths to delete from the world, topmost only (a deleted directory takes its contents). */
  removed: string[];
  /** New directories, parents first. */
  dirs: string[];
  /** New or changed files. */
  files: string[];
  /** What is not synced and why. */
  skipped: { path: string; reason: string }[];
}

/**
 * Lists the tree below `root` by world path (`root/app/x` → `/app/x`) without following
 * symlinks; null when it holds more than `maxEntries` entries.
 */
export async function scanTree(root: string, maxEntries: number): Promise<TreeListing | null> {
  const listing: TreeListing = [];
  const stack = ['/'];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const name of await readdir(join(root, dir))) {
      if (listing.length >= maxEntries) return null;
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const entry = entryOf(await lstat(join(root, path), { bigint: true }));
      listing.push([path, entry]);
      if (entry.type === 'directory') stack.push(path);
    }
  }
  return listing.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function changed(before: TreeEntry, after: TreeEntry): boolean {
  return before.ino !== after.ino || before.size !== after.size || before.ctime !== after.ctime;
}

const UNSYNCED = {
  symlink: 'a symbolic link made by the command: links are never synced into the world (one may name a host path)',
  other: 'not a regular file or directory (a FIFO, socket or device): not synced into the world',
} as const;

/** What changed between the materialised listing and the one after the command. */
export function diffTrees(before: TreeListing, after: TreeListing): TreeChanges {
  const now = new Map(after);
  const old = new Map(before);
  const changes: TreeChanges = { removed: [], dirs: [], files: [], skipped: [] };
  const removed = new Set<string>();
  const remove = (path: string) => {
    for (let current = parentOf(path); current !== '/'; current = parentOf(current)) if (removed.has(current)) return;
    removed.add(path);
    changes.removed.push(path);
  };
  for (const [path, was] of before) {
    const is = now.get(path);
    if (!is) remove(path);
    else if (is.type === 'symlink' || is.type === 'other')
      continue; // reported below
    else if (is.type !== was.type) remove(path);
  }
  for (const [path, is] of after) {
    const was = old.get(path);
    if (is.type === 'symlink' || is.type === 'other') changes.skipped.push({ path, reason: UNSYNCED[is.type] });
    else if (is.type === 'directory') {
      if (was?.type !== 'directory') changes.dirs.push(path);
    } else if (was?.type !== 'file' || changed(was, is)) changes.files.push(path);
  }
  return changes;
}

/**
 * Applies `changes` (files read from below `root`) to the world: deletions, then new
 * directories, then files. Each change that fails is reported and the rest go on.
 */
export async function syncBack(fs: WorldFs, changes: TreeChanges, root: string): Promise<WorldSync> {
  const report: WorldSync = { written: 0, bytes: 0, directories: 0, deleted: 0, refused: [], refused_count: 0 };
  const refuse = (path: string, code: string, reason: string) => {
    report.refused_count++;
    if (report.refused.length < MAX_LISTED_REFUSALS) report.refused.push({ path, code, reason });
  };
  const attempt = async (path: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof KernelError)) throw error;
      refuse(path, error.code, error.message);
    }
  };
  for (const { path, reason } of changes.skipped) refuse(path, 'PERMISSION_DENIED', reason);
  for (const path of changes.removed) {
    await attempt(path, async () => {
      if (!(await fs.exists(path))) return;
      await fs.remove(path, { recursive: true });
      report.deleted++;
    });
  }
  for (const path of changes.dirs) {
    await attempt(path, async () => {
      await fs.mkdir(path);
      report.directories++;
    });
  }
  for (const path of changes.files) {
    await attempt(path, async () => {
      const { bytes_written } = await fs.importFile(path, join(root, path));
      report.written++;
      report.bytes += bytes_written;
    });
  }
  return report;
}
