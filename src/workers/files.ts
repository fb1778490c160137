/**
 * READ and WRITE inside a worker thread: positional reads, appends, parent creation. Each
 * task checks the path policy on the real path and opens that same real path in one go
 * (src/security/paths-access.ts), so a denial is PERMISSION_DENIED with the rule, and
 * nothing runs between the check and the open but the task itself.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ReadResult, WriteResult } from '../protocol/schemas/files.js';
import type { PathAccess, PathPolicy } from '../security/paths.js';
import { type Authorized, authorizePath as authorize, openForRead, openForWrite } from '../security/paths-access.js';
import { failure, success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

export interface ReadTask {
  /** Absolute (resolved against the agent's cwd), not yet real. */
  path: string;
  encoding: 'utf8' | 'base64';
  offset: number;
  length?: number | undefined;
  maxBytes: number;
  /** The agent's path rules (src/security/paths.ts `pathPolicy`). */
  policy: PathPolicy;
}

export interface WriteTask {
  path: string;
  content: string;
  encoding: 'utf8' | 'base64';
  mode: 'write' | 'append';
  mkdir: boolean;
  policy: PathPolicy;
}

/** A path to check without opening it (EXEC's cwd, SPAWN's script and cwd, FILE_CHANGED's directory). */
export interface AuthorizePathTask {
  path: string;
  access: PathAccess;
  policy: PathPolicy;
  /** The call, for the denial's message. */
  op: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export async function readFile({ input }: TaskEnvelope<ReadTask>): Promise<TaskOutcome<ReadResult>> {
  const opened = await openForRead(input.path, input.policy, 'READ');
  if (!opened.ok) return opened;
  const { handle } = opened.value;
  try {
    const info = await handle.stat();
    // A FIFO or device could block this thread forever or never end.
    if (!info.isFile()) return failure('INVALID_REQUEST', `cannot read "${input.path}": not a regular file`);
    const size = info.size;
    const available = Math.max(0, size - input.offset);
    const wanted = input.length === undefined ? available : Math.min(input.length, available);
    if (wanted > input.maxBytes) {
      return failure(
        'QUOTA_EXCEEDED',
        `cannot read "${input.path}": ${wanted} bytes is over the read limit of ${input.maxBytes}; read it in parts with offset and length`,
      );
    }
    const buffer = Buffer.allocUnsafe(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await handle.read(buffer, filled, wanted - filled, input.offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const bytes = buffer.subarray(0, filled);
    return success({
      content: bytes.toString(input.encoding),
      size,
      encoding: input.encoding,
      offset: input.offset,
      bytes_read: filled,
      eof: input.offset + filled >= size,
    });
  } catch (error) {
    return failure('INTERNAL', `cannot read "${input.path}": ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
}

export async function writeFile({ input }: TaskEnvelope<WriteTask>): Promise<TaskOutcome<WriteResult>> {
  if (input.encoding === 'base64' && (input.content.length % 4 !== 0 || !BASE64.test(input.content))) {
    return failure('INVALID_REQUEST', 'invalid request: field "content": expected base64 (A-Z, a-z, 0-9, +, /, padded with =)');
  }
  const bytes = Buffer.from(input.content, input.encoding);
  const opened = await openForWrite(input.path, input.policy, 'WRITE', { mkdir: input.mkdir, append: input.mode === 'append' });
  if (!opened.ok) return opened;
  const { handle } = opened.value;
  try {
    const written = await writeAll(handle, bytes);
    await handle.datasync();
    const after = await handle.stat();
    return success({ bytes_written: written, size: after.size });
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT' || errno === 'EFBIG') {
      return failure('QUOTA_EXCEEDED', `cannot write "${input.path}": no space left (${errno})`);
    }
    return failure('INTERNAL', `cannot write "${input.path}": ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<number> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
    written += bytesWritten;
  }
  return written;
}

/** Resolves and checks a path without opening it: its real path, or PERMISSION_DENIED naming the rule. */
export function authorizePath({ input }: TaskEnvelope<AuthorizePathTask>): Promise<TaskOutcome<Authorized>> {
  return authorize(input.path, input.policy, input.op, input.access);
}
