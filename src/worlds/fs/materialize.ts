/**
 * The world's current view as a real directory tree (for EXEC's bubblewrap binds later).
 * Files are copied (reflinked where the filesystem can), never hard-linked: a write
 * through a hard link would reach the mirror's source. Symlinks are never recreated.
 */
import { mkdir, readdir } from 'node:fs/promises';
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

/** `targetDir` must be missing or empty, so nothing stale mixes into the view. */
export async function materializeTree(view: MaterializeView, targetDir: string): Promise<MaterializeResult> {
  try {
    if ((await readdir(targetDir)).length > 0) {
      throw new KernelError('CONFLICT', `cannot materialize the world into "${targetDir}": the directory is not empty`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(targetDir, { recursive: true });
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
