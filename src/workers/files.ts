/** READ and WRITE inside a worker thread: positional reads, appends, parent creation. */
import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ReadResult, WriteResult } from '../protocol/schemas/files.js';
import { codeForErrno, failure, success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

export interface ReadTask {
  path: string;
  encoding: 'utf8' | 'base64';
  offset: number;
  length?: number | undefined;
  maxBytes: number;
}

export interface WriteTask {
  path: string;
  content: string;
  encoding: 'utf8' | 'base64';
  mode: 'write' | 'append';
  mkdir: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// O_NONBLOCK: opening a FIFO must not park a thread until a peer appears; regular files ignore it.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK;
const APPEND_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NONBLOCK;

function fsFailure(error: unknown, path: string, verb: string): TaskOutcome<never> {
  const errno = (error as NodeJS.ErrnoException).code;
  const code = codeForErrno(errno);
  const reason =
    errno === 'ENOENT'
      ? 'no such file or directory'
      : errno === 'EISDIR'
        ? 'it is a directory'
        : errno === 'EACCES' || errno === 'EPERM'
          ? 'the operating system denied access'
          : (error as Error).message;
  return failure(code, `cannot ${verb} "${path}": ${reason}`);
}

export async function readFile({ input }: TaskEnvelope<ReadTask>): Promise<TaskOutcome<ReadResult>> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(input.path, READ_FLAGS);
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
    return fsFailure(error, input.path, 'read');
  } finally {
    await handle?.close();
  }
}

export async function writeFile({ input }: TaskEnvelope<WriteTask>): Promise<TaskOutcome<WriteResult>> {
  if (input.encoding === 'base64' && (input.content.length % 4 !== 0 || !BASE64.test(input.content))) {
    return failure('INVALID_REQUEST', 'invalid request: field "content": expected base64 (A-Z, a-z, 0-9, +, /, padded with =)');
  }
  const bytes = Buffer.from(input.content, input.encoding);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    if (input.mkdir) await mkdir(dirname(input.path), { recursive: true });
    handle = await open(input.path, input.mode === 'append' ? APPEND_FLAGS : WRITE_FLAGS, 0o644);
    const info = await handle.stat();
    if (!info.isFile()) return failure('INVALID_REQUEST', `cannot write "${input.path}": not a regular file`);
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
      written += bytesWritten;
    }
    await handle.datasync();
    const after = await handle.stat();
    return success({ bytes_written: written, size: after.size });
  } catch (error) {
    return fsFailure(error, input.path, 'write');
  } finally {
    await handle?.close();
  }
}
