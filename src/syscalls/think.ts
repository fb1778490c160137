/**
 * THINK and LLM_REPORT. `async: true` is the router's (ASYNC_POLL): it calls this
 * handler in the background with `async: false`.
 */
import { defineSyscall } from '../kernel/syscall.js';
import { LlmReportRequest, ThinkRequest } from '../protocol/schemas/think.js';

export const think = defineSyscall({
  name: 'THINK',
  request: ThinkRequest,
  handle: (request, session, kernel) => kernel.llm.think(request, session.agent, session.closed),
});

export const llmReport = defineSyscall({
  name: 'LLM_REPORT',
  request: LlmReportRequest,
  handle: (request, session, kernel) => kernel.llm.report(request, session.agent),
});
