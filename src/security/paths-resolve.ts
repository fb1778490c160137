/**
 * Real paths, for the path policy (paths.ts): what a path names once every symlink on
 * the way is followed, the leaf included, whether or not the leaf exists. Runs in worker
 * threads (the file calls), except `realContext`'s one-time lookups.
 *
 * - An existing path is the kernel's realpath(3).
 * - A path whose leaf (or more) is missing: the deepest existing ancestor's real path,
 *   then the missing names. A symlink on the way is followed even when its target does
 *   not exist (a dangling link names where a write through it would land).
 * - A path that cannot be resolved is reported, never guessed: a symlink loop or more
 *   than 40 links (ELOOP, Linux's own bound), a name or path too long (ENAMETOOLONG), a
 *   NUL byte, a directory the kernel may not search (EACCES). The policy denies those.
 * - `/proc/<tid>` of a kernel thread is named as the kernel's: `/proc/<pid>/task/<tid>`.
 *
 * The lookups are synchronous: this runs in a worker thread, where a realpath(3) or
 * lstat(2) of a few microseconds costs less than a hop through libuv's thread pool (four
 * threads shared by the whole kernel); the checks then add little to a READ or WRITE.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import type { PathContext } from './paths.js';

/** Linux's MAXSYMLINKS: links followed in one resolution before ELOOP. */
const MAX_SYMLINKS = 40;
/** PATH_MAX less its NUL: the longest path the kernel takes. */
export const MAX_PATH_BYTES = 4095;

export type Resolution =
  | {
      ok: true;
      /** Absolute and normalized, with no symlink in any existing component. */
      real: string;
      exists: boolean;
      /** The deepest existing directory on the way (equal to `real` when it exists). */
      existing: string;
    }
  | { ok: false; errno: string; reason: string };

const REASONS: Record<string, string> = {
  ELOOP: `a symlink loop, or more than ${MAX_SYMLINKS} symlinks`,
  ENAMETOOLONG: `a path over ${MAX_PATH_BYTES} bytes or a name over 255`,
  EACCES: 'the operating system denied searching a directory on the way',
  EPERM: 'the operating system denied searching a directory on the way',
  NUL: 'a NUL byte in the path',
  RELATIVE: 'not an absolute path',
};

function unresolvable(errno: string | undefined): Resolution {
  const code = errno ?? 'EIO';
  return { ok: false, errno: code, reason: REASONS[code] ?? `the operating system answered ${code}` };
}

/** Why `path` cannot even be looked at (undefined when it can): NUL bytes, too long, relative. */
export function malformedPath(path: string): string | undefined {
  if (path.includes('\0')) return REASONS.NUL;
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return REASONS.ENAMETOOLONG;
  if (!path.startsWith('/')) return REASONS.RELATIVE;
  return undefined;
}

/** The real path of absolute `path` (see the module comment). Never throws. */
export async function resolveReal(path: string): Promise<Resolution> {
  const resolution = await resolveLinks(path);
  if (!resolution.ok || !resolution.real.startsWith('/proc/')) return resolution;
  return { ...resolution, real: await ownThread(resolution.real), existing: await ownThread(resolution.existing) };
}

async function resolveLinks(path: string): Promise<Resolution> {
  if (path.includes('\0')) return unresolvable('NUL');
  if (!path.startsWith('/')) return unresolvable('RELATIVE');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return unresolvable('ENAMETOOLONG');
  try {
    const real = realpathSync.native(path);
    return { ok: true, real, exists: true, existing: real };
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno !== 'ENOENT' && errno !== 'ENOTDIR') return unresolvable(errno);
  }
  // The common missing case, a new file in an existing directory: two calls, not a walk.
  const normalized = posix.normalize(path);
  const parent = posix.dirname(normalized);
  const name = posix.basename(normalized);
  if (parent !== normalized) {
    try {
      const realParent = realpathSync.native(parent);
      const leaf = posix.join(realParent, name);
      try {
        lstatSync(leaf);
      } catch (error) {
        const errno = (error as NodeJS.ErrnoException).code;
        if (errno === 'ENOENT') return { ok: true, real: leaf, exists: false, existing: realParent };
        if (errno !== 'ENOTDIR') return unresolvable(errno);
      }
      // The leaf exists though realpath failed: a dangling symlink (or a race); walk it.
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      if (errno !== 'ENOENT' && errno !== 'ENOTDIR') return unresolvable(errno);
    }
  }
  return walk(normalized);
}

const PROC_ENTRY = /^\/proc\/(\d+)(?=\/|$)/;

/**
 * `/proc/<tid>` of one of the kernel's own threads (its worker threads) is a directory,
 * not a link, yet it is the kernel's process: named `/proc/<pid>/task/<tid>`, it falls
 * under the kernel's rule like `/proc/self`. One lstat, for `/proc/<n>` paths only.
 */
async function ownThread(real: string): Promise<string> {
  const match = PROC_ENTRY.exec(real);
  if (match === null || match[1] === String(process.pid)) return real;
  const thread = `/proc/${process.pid}/task/${match[1]}`;
  try {
    lstatSync(thread);
  } catch {
    return real;
  }
  const rest = real.slice(match[0].length);
  // A thread's own `task` directory lists the whole process's threads, as the process's does.
  return rest === '/task' || rest.startsWith('/task/') ? `/proc/${process.pid}${rest}` : `${thread}${rest}`;
}

/** Component by component, as the kernel's own lookup does, but going on past a missing name. */
async function walk(path: string): Promise<Resolution> {
  let resolved = '/';
  // A stack: the next name is at the end.
  const pending = path.split('/').filter(Boolean).reverse();
  let links = 0;
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name === '.') continue;
    if (name === '..') {
      resolved = posix.dirname(resolved);
      continue;
    }
    const next = resolved === '/' ? `/${name}` : `${resolved}/${name}`;
    let isLink = false;
    let isDirectory = false;
    try {
      const info = lstatSync(next);
      isLink = info.isSymbolicLink();
      isDirectory = info.isDirectory();
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return missing(resolved, name, pending);
      return unresolvable(errno);
    }
    if (isLink) {
      if (++links > MAX_SYMLINKS) return unresolvable('ELOOP');
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (error) {
        return unresolvable((error as NodeJS.ErrnoException).code);
      }
      if (target.startsWith('/')) resolved = '/';
      const parts = target.split('/').filter(Boolean);
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
      continue;
    }
    // A file with names after it: nothing below it exists.
    if (!isDirectory && pending.length > 0) return missing(resolved, name, pending);
    resolved = next;
  }
  return { ok: true, real: resolved, exists: true, existing: resolved };
}

/** `name` (and what follows it) does not exist under real directory `resolved`. */
function missing(resolved: string, name: string, pending: readonly string[]): Resolution {
  const rest = [...pending].reverse();
  const real = posix.join(resolved, name, ...rest);
  if (Buffer.byteLength(real) > MAX_PATH_BYTES) return unresolvable('ENAMETOOLONG');
  return { ok: true, real, exists: false, existing: resolved };
}

const realPaths = new Map<string, string>();

/** Real paths of the kernel's home and data directory, looked up once each (async, off the event loop's thread). */
export async function realContext(home: string, dataDir: string | null): Promise<PathContext> {
  const [realHome, realData] = await Promise.all([realOrSelf(home), dataDir === null ? null : realOrSelf(dataDir)]);
  return { home: realHome, dataDir: realData };
}

async function realOrSelf(path: string): Promise<string> {
  const known = realPaths.get(path);
  if (known !== undefined) return known;
  try {
    const real = await realpath(path);
    // Only a found path is remembered: one created later is looked up again.
    if (realPaths.size < 64) realPaths.set(path, real);
    return real;
  } catch {
    return posix.normalize(path);
  }
}
