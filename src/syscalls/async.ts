/** ASYNC_POLL: the replies of calls made with `async: true` (the router starts them). */
import { defineSyscall } from '../kernel/syscall.js';
import { AsyncPollRequest } from '../protocol/schemas/async.js';

export const asyncPoll = defineSyscall({
  name: 'ASYNC_POLL',
  request: AsyncPollRequest,
  handle: async (request, session, kernel) => {
    const { results, pending } = await kernel.asyncResults.poll(session.agent.id, request.max, request.wait_ms, session.closed);
    return { success: true as const, results, count: results.length, pending };
  },
});
