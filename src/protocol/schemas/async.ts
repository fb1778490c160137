/** ASYNC_POLL and the reply an asynchronous call gives at once. */
import { z } from 'zod';
import { ok } from './common.js';

export const MAX_ASYNC_POLL = 100;
export const MAX_ASYNC_WAIT_MS = 60_000;

export const AsyncPollRequest = z.object({
  max: z.number().int().positive('expected max above 0').max(MAX_ASYNC_POLL, `expected max at most ${MAX_ASYNC_POLL}`).default(10),
  wait_ms: z
    .number()
    .int()
    .nonnegative('expected wait_ms of 0 or more')
    .max(MAX_ASYNC_WAIT_MS, `expected wait_ms at most ${MAX_ASYNC_WAIT_MS}`)
    .default(0),
});

export const AsyncResult = z.object({
  request_id: z.number().int(),
  opcode: z.number().int(),
  opcode_name: z.string(),
  /** The call's reply, as it would have come synchronously (`success: false` for a failure). */
  payload: z.unknown(),
  started_at: z.number(),
  finished_at: z.number(),
});
export type AsyncResult = z.output<typeof AsyncResult>;

export const AsyncPollReply = z.object({ ...ok, results: z.array(AsyncResult), count: z.number().int(), pending: z.number().int() });

/** What EXEC, HTTP, THINK and DOWNLOAD answer at once with `async: true`. */
export const AsyncStarted = z.object({ ...ok, async: z.literal(true), request_id: z.number().int(), opcode_name: z.string() });
