/**
 * What a bubblewrap sandbox binds and covers, for both of its users: sandboxed EXEC
 * (src/workers/exec-sandbox.ts, in a worker) and sandboxed process agents
 * (prepareIsolation). One rule for both:
 *
 * - an agent's write paths are bound read-write at their real paths where they exist,
 *   never `/` (the whole host) or `/tmp` (the sandbox's /tmp is private); none without
 *   `can_write`;
 * - the kernel's data directory (the admin token), the agent's blocked paths with a
 *   literal base and SECRET_FILES are covered wherever a bind would show them: inside a
 *   bound directory, or holding one. bubblewrapArgv mounts the masks after every bind.
 *
 * The file system decides both (real paths, what exists, file or directory), so this is
 * async; bubblewrapArgv stays a pure function of the spec.
 */
import { realpath, stat } from 'node:fs/promises';
import type { Permissions } from '../protocol/schemas/permissions.js';
import { literalBases } from '../security/paths.js';
import { type Mask, type SandboxSpec, SECRET_FILES, visibleRoots, within } from './bubblewrap.js';

/** Host paths, not yet real, that a sandboxed agent writes to and must not see. */
export interface SandboxPaths {
  writable: string[];
  hidden: string[];
}

/**
 * The sandbox paths of an agent's rights: its `allowed_write_paths` (with `can_write`)
 * and, hidden, the kernel's data directory and its `blocked_paths`, each by literal base
 * (`~/**` is the home; a glob such as `**` + `/.env` names no place, so it binds or covers
 * nothing: inside a bound directory such files stay visible to the sandbox).
 */
export function sandboxPaths(
  permissions: Pick<Permissions, 'can_write' | 'allowed_write_paths' | 'blocked_paths'>,
  context: { home: string; dataDir: string },
): SandboxPaths {
  return {
    writable: permissions.can_write ? literalBases(permissions.allowed_write_paths, context.home) : [],
    hidden: [context.dataDir, ...literalBases(permissions.blocked_paths, context.home)],
  };
}

export async function realPathOf(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/** The real paths of `paths` that exist, once each; `/` and `/tmp` never. */
export async function writableBinds(paths: readonly string[]): Promise<string[]> {
  const real = await Promise.all(paths.map(realPathOf));
  return [...new Set(real)].filter((path): path is string => path !== null && path !== '/' && path !== '/tmp');
}

/**
 * The masks `spec` needs: each of SECRET_FILES and `hidden` that exists (by its real
 * path) and that a bind of `spec` would show, because it lies inside something visible
 * or holds a bind. A directory gets an empty tmpfs, anything else /dev/null.
 */
export async function masksFor(spec: SandboxSpec, hidden: readonly string[]): Promise<Mask[]> {
  const visible = visibleRoots(spec).filter((dir) => dir !== '/');
  const real = new Set(await Promise.all([...SECRET_FILES, ...hidden].map(realPathOf)));
  const masks: Mask[] = [];
  for (const path of real) {
    if (path === null || path === '/') continue;
    if (!visible.some((dir) => within(path, dir) || within(dir, path))) continue;
    const info = await stat(path).catch(() => null);
    if (info) masks.push({ path, directory: info.isDirectory() });
  }
  return masks;
}
