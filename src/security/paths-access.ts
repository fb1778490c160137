/**
 * Check-then-open for the file calls, run inside a worker thread with the policy the main
 * thread sent (paths.ts `pathPolicy`). One task resolves the real path, checks it, and
 * opens exactly that real path, so nothing runs between the check and the open but
 * this task's own calls.
 *
 * What closes the window between the check and the open:
 * - the real path is opened, with O_NOFOLLOW: a leaf turned into a symlink after the
 *   check fails the open (ELOOP, answered PERMISSION_DENIED);
 * - after the open, the file the descriptor really is (`/proc/self/fd/N`) is checked
 *   again; a parent directory swapped for a symlink in between shows up there and the
 *   call is denied before a byte is read or written (without /proc: the descriptor's
 *   device and inode must be the checked path's);
 * - writes open without O_TRUNC and truncate only after that verification.
 *
 * The race that remains: if a parent directory is swapped for a symlink between the check
 * and the open, O_CREAT may leave a new empty file (or mkdir new empty directories) where
 * the swap pointed; nothing is written, truncated or read there. Hard links and bind
 * mounts are the same file under another name, which no path rule can see.
 */
import { constants, readlinkSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ErrorCode } from '../protocol/errors.js';
import { failure, success, type TaskOutcome } from '../workers/outcome.js';
import { denialMessage, type PathAccess, type PathPolicy, policyVerdict, shown } from './paths.js';
import { resolveReal } from './paths-resolve.js';

export interface Authorized {
  /** The path the request named (absolute). */
  path: string;
  /** Its real path, checked. */
  real: string;
  exists: boolean;
}

export interface AuthorizedWrite extends Authorized {
  /** Directories mkdir creates for it, outermost first, each checked for writing. */
  create: string[];
}

export interface Opened {
  handle: FileHandle;
  /** The real path opened. */
  real: string;
}

// O_NONBLOCK: opening a FIFO must not park a thread until a peer appears; regular files ignore it.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** Resolves `path` and checks it for `access`; `op` names the call in the denial. */
export async function authorizePath(path: string, policy: PathPolicy, op: string, access: PathAccess): Promise<TaskOutcome<Authorized>> {
  if (policy.unchecked) return success({ path, real: path, exists: true });
  const resolution = await resolveReal(path);
  if (!resolution.ok) {
    return failure(
      'PERMISSION_DENIED',
      `${op} denied: "${shown(path)}" cannot be resolved to a real path (${resolution.reason}), so it cannot be checked`,
    );
  }
  const verdict = policyVerdict(policy, resolution.real, access);
  if (verdict !== undefined) return failure('PERMISSION_DENIED', denialMessage(op, path, resolution.real, verdict));
  return success({ path, real: resolution.real, exists: resolution.exists });
}

/** READ's check: the real path, following every symlink. */
export function authorizeRead(path: string, policy: PathPolicy, op: string): Promise<TaskOutcome<Authorized>> {
  return authorizePath(path, policy, op, 'read');
}

/**
 * WRITE's (and DOWNLOAD's) check: the real path of the leaf (a symlink leaf, dangling or
 * not, is followed and its target checked) and, with `mkdir`, every directory that would
 * be created. Without `mkdir` a missing parent is NOT_FOUND, after the check (so the
 * answer says nothing of places the agent may not reach).
 */
export async function authorizeWrite(
  path: string,
  policy: PathPolicy,
  op: string,
  options: { mkdir: boolean },
): Promise<TaskOutcome<AuthorizedWrite>> {
  if (policy.unchecked) return success({ path, real: path, exists: true, create: options.mkdir ? [posix.dirname(path)] : [] });
  const resolution = await resolveReal(path);
  if (!resolution.ok) {
    return failure(
      'PERMISSION_DENIED',
      `${op} denied: "${shown(path)}" cannot be resolved to a real path (${resolution.reason}), so it cannot be checked`,
    );
  }
  const { real, exists, existing } = resolution;
  const verdict = policyVerdict(policy, real, 'write');
  if (verdict !== undefined) return failure('PERMISSION_DENIED', denialMessage(op, path, real, verdict));
  const parent = posix.dirname(real);
  if (exists || parent === existing) return success({ path, real, exists, create: [] });
  if (!options.mkdir)
    return failure('NOT_FOUND', `cannot write "${shown(path)}": its directory does not exist (send "mkdir": true to create it)`);
  if (!parent.startsWith(existing === '/' ? '/' : `${existing}/`)) {
    return failure('NOT_FOUND', `cannot write "${shown(path)}": its directory cannot be created there`);
  }
  const create: string[] = [];
  for (let dir = parent; dir !== existing; dir = posix.dirname(dir)) create.unshift(dir);
  for (const dir of create) {
    const dirVerdict = policyVerdict(policy, dir, 'write');
    if (dirVerdict !== undefined) return failure('PERMISSION_DENIED', `${op} denied: mkdir of "${shown(dir)}": it ${dirVerdict}`);
  }
  return success({ path, real, exists, create });
}

/** Resolves, checks and opens for reading; the caller closes the handle. */
export async function openForRead(path: string, policy: PathPolicy, op: string): Promise<TaskOutcome<Opened>> {
  const authorized = await authorizeRead(path, policy, op);
  if (!authorized.ok) return authorized;
  const { real } = authorized.value;
  let handle: FileHandle;
  try {
    handle = await open(real, READ_FLAGS);
  } catch (error) {
    return openFailure(error, path, op, 'read');
  }
  return verified(handle, path, real, policy, op, 'read');
}

/**
 * Resolves, checks (the parents mkdir creates too), creates the parents, opens for
 * writing (`append`: at the end; otherwise truncated, once verified); regular files only.
 * The caller writes and closes.
 */
export async function openForWrite(
  path: string,
  policy: PathPolicy,
  op: string,
  options: { mkdir: boolean; append: boolean },
): Promise<TaskOutcome<Opened>> {
  const authorized = await authorizeWrite(path, policy, op, options);
  if (!authorized.ok) return authorized;
  const { real, create } = authorized.value;
  let handle: FileHandle;
  try {
    if (create.length > 0) await mkdir(posix.dirname(real), { recursive: true, mode: 0o755 });
    handle = await open(real, options.append ? WRITE_FLAGS | constants.O_APPEND : WRITE_FLAGS, 0o644);
  } catch (error) {
    return openFailure(error, path, op, 'write');
  }
  const outcome = await verified(handle, path, real, policy, op, 'write');
  if (!outcome.ok) return outcome;
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return failure('INVALID_REQUEST', `cannot write "${shown(path)}": not a regular file`);
    }
    if (!options.append) await handle.truncate(0);
  } catch (error) {
    await handle.close();
    return openFailure(error, path, op, 'write');
  }
  return outcome;
}

/** The descriptor is the checked file, or is checked again; otherwise it is closed and the call denied. */
async function verified(
  handle: FileHandle,
  path: string,
  real: string,
  policy: PathPolicy,
  op: string,
  access: PathAccess,
): Promise<TaskOutcome<Opened>> {
  if (policy.unchecked) return success({ handle, real });
  let opened: string | undefined;
  try {
    // Synchronous, as the resolution is: a readlink(2) in this worker thread is cheaper than a thread-pool hop.
    opened = readlinkSync(`/proc/self/fd/${handle.fd}`);
  } catch {
    opened = undefined;
  }
  try {
    if (opened === undefined) {
      const [held, named] = await Promise.all([handle.stat(), lstat(real)]);
      if (held.dev === named.dev && held.ino === named.ino) return success({ handle, real });
      await handle.close();
      return failure('CONFLICT', `${op}: "${shown(path)}" changed while it was being opened; try again`);
    }
    if (opened === real) return success({ handle, real });
    // Removed since the open: the name it had is what was reached.
    const name = opened.endsWith(' (deleted)') ? opened.slice(0, -' (deleted)'.length) : opened;
    const verdict = policyVerdict(policy, name, access);
    if (verdict === undefined) return success({ handle, real: name });
    await handle.close();
    return failure('PERMISSION_DENIED', `${op} denied: "${shown(path)}" changed while it was being opened: "${shown(name)}" ${verdict}`);
  } catch (error) {
    await handle.close().catch(() => undefined);
    return openFailure(error, path, op, access);
  }
}

function openFailure(error: unknown, path: string, op: string, access: PathAccess): TaskOutcome<never> {
  const errno = (error as NodeJS.ErrnoException).code;
  const verb = access === 'read' ? 'read' : 'write';
  if (errno === 'ELOOP') {
    return failure('PERMISSION_DENIED', `${op} denied: "${shown(path)}" became a symlink after it was checked`);
  }
  const [code, reason] = ERRNO[errno ?? ''] ?? ['INTERNAL', (error as Error).message];
  return failure(code, `cannot ${verb} "${shown(path)}": ${reason}`);
}

const ERRNO: Record<string, [ErrorCode, string]> = {
  ENOENT: ['NOT_FOUND', 'no such file or directory'],
  ENOTDIR: ['NOT_FOUND', 'no such file or directory'],
  EISDIR: ['CONFLICT', 'it is a directory'],
  EACCES: ['PERMISSION_DENIED', 'the operating system denied access'],
  EPERM: ['PERMISSION_DENIED', 'the operating system denied access'],
  EROFS: ['PERMISSION_DENIED', 'the file system is read-only'],
  ENXIO: ['INVALID_REQUEST', 'not a regular file (a FIFO or device without a peer)'],
  ENOSPC: ['QUOTA_EXCEEDED', 'no space left on the device'],
  EDQUOT: ['QUOTA_EXCEEDED', 'the disk quota is exhausted'],
  EMFILE: ['QUOTA_EXCEEDED', 'too many open files'],
  ENFILE: ['QUOTA_EXCEEDED', 'too many open files'],
  EEXIST: ['CONFLICT', 'something else appeared in its place'],
};
