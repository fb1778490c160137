/**
 * What a worker task returns. Error classes do not survive the trip between threads,
 * so a task reports an expected failure as a value with the spec's code.
 */
import type { ErrorCode } from '../protocol/errors.js';

export type TaskOutcome<V> = { ok: true; value: V } | { ok: false; code: ErrorCode; message: string };

export interface TaskEnvelope<I> {
  input: I;
  /** Receives 'cancel' when the caller no longer wants the result. */
  cancelPort: import('node:worker_threads').MessagePort;
}

export const success = <V>(value: V): TaskOutcome<V> => ({ ok: true, value });
export const failure = (code: ErrorCode, message: string): TaskOutcome<never> => ({ ok: false, code, message });

/** The spec's code for a failed file or process operation, from its errno code. */
export function codeForErrno(errno: string | undefined): ErrorCode {
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'NOT_FOUND';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'PERMISSION_DENIED';
    case 'EEXIST':
    case 'EISDIR':
    case 'ENOTEMPTY':
      return 'CONFLICT';
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
    case 'EMFILE':
    case 'ENFILE':
      return 'QUOTA_EXCEEDED';
    default:
      return 'INTERNAL';
  }
}
