import type { ErrorCode } from '../protocol/errors.js';

/** A failed syscall, or a kernel that cannot be reached; `code` is the spec's. */
export class AgentOSError extends Error {
  readonly code: ErrorCode;
  /** The kernel's whole failure reply, when there was one. */
  readonly reply: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, reply?: Record<string, unknown>) {
    super(message);
    this.name = 'AgentOSError';
    this.code = code;
    this.reply = reply;
  }
}

/** A person-readable reason a kernel could not be reached at `where`. */
export function unreachable(where: string, error: NodeJS.ErrnoException): AgentOSError {
  const why =
    error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
      ? `no AgentOS kernel is listening on ${where} (${error.code}); start one with 'agentos kernel' or pass --socket / $AGENTOS_SOCKET`
      : error.code === 'EACCES'
        ? `permission denied connecting to ${where}; the socket belongs to another user`
        : `cannot connect to the AgentOS kernel at ${where}: ${error.message}`;
  return new AgentOSError('UNAVAILABLE', why);
}
