/**
 * Asynchronous calls (docs/protocol.md, Asynchronous calls): EXEC, HTTP, THINK and DOWNLOAD
 * started in the background with `startAsync`, their replies collected through ASYNC_POLL.
 *
 * ASYNC_POLL is a long poll shared by every caller (long-poll.ts): a result goes to the
 * `asyncResult` waiting for its request id, the rest to a buffer that `asyncPoll`,
 * `asyncResults()` and later `asyncResult` calls take from, so no caller loses another's
 * result. The kernel answers a waiting ASYNC_POLL at once when nothing of the agent's runs;
 * a wait that sees that (with nothing left for it) ends instead of polling again.
 */
import { Op, resolveOp } from '../../protocol/opcodes.js';
import {
  type AsyncPollReply,
  AsyncPollRequest,
  type AsyncResult,
  type AsyncStarted,
  MAX_ASYNC_POLL,
  MAX_ASYNC_WAIT_MS,
} from '../../protocol/schemas/async.js';
import { AgentOSError, failureOf } from '../errors.js';
import { LongPoll } from '../long-poll.js';
import type {
  AsyncOp,
  AsyncOps,
  AsyncPollOptions,
  AsyncRequest,
  AsyncRequestId,
  AsyncResultOptions,
  AsyncResultsOptions,
  Reply,
} from '../types.js';
import { type Context, iteratorSignal, validate } from './context.js';

export function asyncMethods(context: Context) {
  const { call } = context;
  /** `asyncResult` calls waiting: request id → deliver its result. */
  const awaiting = new Map<number, ((result: AsyncResult) => void)[]>();
  /** ASYNC_POLLs sent, and the latest of them that found nothing running and nothing more waiting. */
  let polls = 0;
  let drained = 0;
  /** The latest poll's `pending`: the agent's calls still running. */
  let pending = 0;
  const results = new LongPoll<AsyncResult>({
    poll: async (max, waitMs) => {
      const poll = ++polls;
      const reply = await call<Reply<typeof AsyncPollReply>>(Op.ASYNC_POLL, { max, wait_ms: waitMs });
      pending = reply.pending;
      if (reply.pending === 0 && reply.count < max) drained = Math.max(drained, poll);
      return reply.results;
    },
    batch: MAX_ASYNC_POLL,
    maxWaitMs: MAX_ASYNC_WAIT_MS,
    take: (arrived, buffer) => {
      for (const result of arrived) {
        const waiting = awaiting.get(result.request_id);
        awaiting.delete(result.request_id);
        if (waiting) for (const deliver of waiting) deliver(result);
        else buffer.push(result);
      }
    },
  });
  const buffer = results.buffer;
  /** Whether a poll sent after the `since`th found the agent idle: nothing more can come. */
  const idleSince = (since: number) => drained > since;

  return {
    /**
     * Starts EXEC, HTTP, THINK or DOWNLOAD in the background (`async: true`) and resolves
     * to its request id at once; `asyncResult(id)` waits for its reply. The permission and
     * the request's fields are checked first (PERMISSION_DENIED, INVALID_REQUEST now);
     * QUOTA_EXCEEDED when the agent has `asyncSlots` calls running and results unread.
     * Checks of the call itself (paths, commands, domains) come with its result.
     */
    async startAsync<O extends AsyncOp>(op: O, request: AsyncRequest<O>): Promise<AsyncRequestId<O>> {
      const info = resolveOp(op);
      if (!info?.async) {
        throw new AgentOSError('INVALID_REQUEST', `${String(op)} does not run in the background: only EXEC, HTTP, THINK and DOWNLOAD do`);
      }
      const started = await call<Reply<typeof AsyncStarted>>(info.code, { ...request, async: true });
      return started.request_id as AsyncRequestId<O>;
    },

    /**
     * The reply of a call `startAsync` started, exactly as the call would have given it,
     * once it finishes; rejects as the call would have (AgentOSError with its code).
     * TIMEOUT after `timeoutMs` (the result stays for a later `asyncResult` or `asyncPoll`);
     * NOT_FOUND when no call of that id runs or waits (its result was taken already, or the
     * agent ended). Several callers may wait, for the same id or others.
     */
    async asyncResult<O extends AsyncOp = AsyncOp>(
      requestId: AsyncRequestId<O>,
      options: AsyncResultOptions = {},
    ): Promise<AsyncOps[O]['reply']> {
      let result: AsyncResult | undefined;
      // It may have come in already, through another caller's poll.
      const early = buffer.findIndex((r) => r.request_id === requestId);
      if (early >= 0) result = buffer.splice(early, 1)[0];
      else {
        const deliver = (arrived: AsyncResult) => {
          result = arrived;
        };
        awaiting.set(requestId, [...(awaiting.get(requestId) ?? []), deliver]);
        const since = polls;
        const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
        try {
          await results.until(deadline, () => result !== undefined || idleSince(since));
        } finally {
          const others = (awaiting.get(requestId) ?? []).filter((other) => other !== deliver);
          if (others.length > 0) awaiting.set(requestId, others);
          else awaiting.delete(requestId);
        }
        if (result === undefined && idleSince(since)) {
          throw new AgentOSError(
            'NOT_FOUND',
            `no asynchronous call ${requestId} of this agent is running or waiting (its result was taken already, or it never started)`,
          );
        }
      }
      if (result === undefined) {
        throw new AgentOSError('TIMEOUT', `asynchronous call ${requestId} did not finish within ${options.timeoutMs} ms`);
      }
      const failure = failureOf(result.payload);
      if (failure) throw failure;
      return result.payload as AsyncOps[O]['reply'];
    },

    /**
     * ASYNC_POLL: up to `max` finished results (any op; a failure is a payload with
     * `success: false`), in completion order, waiting up to `waitMs` for the first while
     * calls run; `pending` counts those still running. Results another caller's poll
     * brought in and nobody took come first; those an `asyncResult` waits for go to it.
     */
    async asyncPoll(options: AsyncPollOptions = {}): Promise<Reply<typeof AsyncPollReply>> {
      const { max, wait_ms: waitMs } = validate('ASYNC_POLL', AsyncPollRequest, { max: options.max, wait_ms: options.waitMs });
      if (buffer.length === 0) {
        if (waitMs > 0) {
          const since = polls;
          await results.until(Date.now() + waitMs, () => buffer.length > 0 || idleSince(since));
        } else await results.now(max);
      }
      const taken = buffer.splice(0, max);
      return { success: true, results: taken, count: taken.length, pending };
    },

    /**
     * Every result as it arrives (those no `asyncResult` waits for), in completion order;
     * ends once nothing of this agent's runs or waits, when `signal` aborts or the client
     * closes (a poll in flight then keeps what it brings for the next caller).
     */
    async *asyncResults(options: AsyncResultsOptions = {}): AsyncGenerator<AsyncResult, void, undefined> {
      const signal = iteratorSignal(context, options.signal);
      while (!signal.aborted) {
        const next = buffer.shift();
        if (next) {
          yield next;
          continue;
        }
        const since = polls;
        try {
          await results.until(Number.POSITIVE_INFINITY, () => buffer.length > 0 || idleSince(since), signal);
        } catch (error) {
          if (context.closing.aborted) return;
          throw error;
        }
        if (buffer.length === 0 && idleSince(since)) return;
      }
    },
  };
}
