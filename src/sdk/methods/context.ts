/**
 * What each family of methods gets from the client: its `call`, and the signal that
 * ends waits when the client closes. Shared helpers of the families live here too.
 */
import type { z } from 'zod';
import { describeZodError } from '../../protocol/errors.js';
import type { OpName } from '../../protocol/opcodes.js';
import { AgentOSError } from '../errors.js';

export interface Context {
  /** The client's `call` (by opcode), its reply typed by the caller: the method's reply schema. */
  readonly call: <R>(opcode: number, payload?: unknown) => Promise<R>;
  /** Aborted by `close` and `exit`: ends the iterators' waits at once. */
  readonly closing: AbortSignal;
}

/** The long polls of the iterators (`messages()`, `events()`) when no `waitMs` is given. */
export const DEFAULT_ITERATOR_WAIT_MS = 30_000;

/** An iterator's wait ends when its caller's signal aborts or the client closes. */
export function iteratorSignal(context: Context, signal: AbortSignal | undefined): AbortSignal {
  return signal ? AbortSignal.any([signal, context.closing]) : context.closing;
}

/** A request checked (and defaults applied) by its schema on this side, failing as the kernel would. */
export function validate<S extends z.ZodType>(op: OpName, schema: S, request: unknown): z.output<S> {
  const parsed = schema.safeParse(request);
  if (parsed.success) return parsed.data;
  const { message, field } = describeZodError(parsed.error, `${op} request`);
  throw new AgentOSError('INVALID_REQUEST', message, { success: false, code: 'INVALID_REQUEST', error: message, field });
}
