/**
 * The error model of protocol.md §4: one catalogue of codes, one error class that
 * handlers throw, one place that turns zod issues into a sentence naming the field.
 */
import type { z } from 'zod';

export const ERROR_CODES = [
  'INVALID_REQUEST',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'CONFLICT',
  'QUOTA_EXCEEDED',
  'TIMEOUT',
  'UNSUPPORTED_OPCODE',
  'BAD_FRAME',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure a handler means to report: only the router turns it into a reply. */
export class KernelError extends Error {
  readonly code: ErrorCode;
  /** Extra reply fields (e.g. `field` for INVALID_REQUEST). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'KernelError';
    this.code = code;
    this.details = details;
  }
}

export interface ErrorReply {
  success: false;
  code: ErrorCode;
  error: string;
  [extra: string]: unknown;
}

export function errorReply(code: ErrorCode, error: string, details?: Record<string, unknown>): ErrorReply {
  return { success: false, code, error, ...details };
}

/** `timeout`, `env.PATH`, `files[2].name`: the path as a person would write it. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * One sentence from a zod error: the first issue's field and what was expected,
 * plus how many more there were, so the caller can fix the request at once.
 */
export function describeZodError(error: z.ZodError, what = 'request'): { message: string; field: string } {
  const [first] = error.issues;
  if (!first) return { message: `invalid ${what}`, field: '' };
  const field = formatIssuePath(first.path);
  // A rejected record key carries the key schema's own explanation one level down.
  const nested = first.code === 'invalid_key' ? first.issues[0]?.message : undefined;
  const expected = nested ? `${first.message}: ${nested}` : first.message;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  const where = field ? `: field "${field}"` : '';
  return { message: `invalid ${what}${where}: ${expected}${more}`, field };
}
