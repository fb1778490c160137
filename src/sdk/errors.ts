import type { ErrorCode } from '../protocol/errors.js';
import type { RelayErrorCode } from '../relay/protocol/schemas.js';

/** A failed syscall, or a kernel that cannot be reached; `code` is the spec's (or the relay's, over a relay). */
export class AgentOSError extends Error {
  readonly code: ErrorCode | RelayErrorCode;
  /** The kernel's whole failure reply, when there was one. */
  readonly reply: Record<string, unknown> | undefined;

  constructor(code: ErrorCode | RelayErrorCode, message: string, reply?: Record<string, unknown>) {
    super(message);
    this.name = 'AgentOSError';
    this.code = code;
    this.reply = reply;
  }
}

/** The AgentOSError a reply stands for when it is a failure (`success: false`); undefined for any other reply. */
export function failureOf(reply: unknown): AgentOSError | undefined {
  if (reply === null || typeof reply !== 'object' || Buffer.isBuffer(reply) || (reply as { success?: unknown }).success !== false) {
    return undefined;
  }
  const failure = reply as { code?: ErrorCode; error?: string };
  return new AgentOSError(failure.code ?? 'INTERNAL', failure.error ?? 'the kernel reported a failure', reply as Record<string, unknown>);
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
