/**
 * World paths: lexical normalisation (`..` never climbs above `/`) and the mount table
 * (longest mount path wins). Pure string work, no I/O: this runs on every call.
 */
import { KernelError } from '../../protocol/errors.js';
import type { MountConfig } from './config.js';

/**
 * `/app/../etc//x/.` → `/etc/x`. Relative input is taken from `/`. `..` at the root
 * stays at the root, as in a chroot, so `../../etc/passwd` is `/etc/passwd` of the world.
 */
export function normalizeWorldPath(input: string): string {
  if (typeof input !== 'string' || input.includes('\0')) {
    throw new KernelError('INVALID_REQUEST', 'invalid request: field "path": expected a path without NUL bytes', { field: 'path' });
  }
  const parts: string[] = [];
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

export function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export function joinWorld(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `dir` or below it. */
export function isWithin(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

export type Resolution =
  /** Inside a mount; `rel` is the path below the mount ('' for the mount root). */
  | { kind: 'mount'; path: string; mount: MountConfig; rel: string }
  /** An ancestor of a mount point (`/` or `/var` for `/var/log`): a synthetic read-only directory. */
  | { kind: 'mountpoint'; path: string; mount: null }
  /** Outside every mount: does not exist in the world. */
  | { kind: 'outside'; path: string; mount: null };

export class MountTable {
  readonly #byLength: readonly MountConfig[];

  constructor(mounts: readonly MountConfig[]) {
    const seen = new Set<string>();
    mounts.forEach((mount, index) => {
      const path = normalizeWorldPath(mount.path);
      if (path !== mount.path) {
        throw new KernelError('INVALID_REQUEST', `mounts[${index}].path: expected a normalised path such as "${path}"`, {
          field: `mounts[${index}].path`,
        });
      }
      if (seen.has(path)) {
        throw new KernelError('INVALID_REQUEST', `mounts[${index}].path: "${path}" is mounted twice`, { field: `mounts[${index}].path` });
      }
      seen.add(path);
    });
    this.#byLength = [...mounts].sort((a, b) => b.path.length - a.path.length);
  }

  get mounts(): readonly MountConfig[] {
    return this.#byLength;
  }

  /** `path` must already be normalised. */
  resolve(path: string): Resolution {
    for (const mount of this.#byLength) {
      if (isWithin(path, mount.path)) {
        const rel = mount.path === '/' ? path.slice(1) : path.slice(mount.path.length + 1);
        return { kind: 'mount', path, mount, rel };
      }
    }
    for (const mount of this.#byLength) {
      if (isWithin(mount.path, path)) return { kind: 'mountpoint', path, mount: null };
    }
    return { kind: 'outside', path, mount: null };
  }

  /** Names of mount points directly below `dir` (`/var` → `log` for a mount at `/var/log`), as directories. */
  childMountNames(dir: string): string[] {
    const names: string[] = [];
    for (const mount of this.#byLength) {
      if (mount.path !== dir && isWithin(mount.path, dir)) {
        const rest = dir === '/' ? mount.path.slice(1) : mount.path.slice(dir.length + 1);
        const name = rest.split('/')[0]!;
        if (!names.includes(name)) names.push(name);
      }
    }
    return names;
  }
}
