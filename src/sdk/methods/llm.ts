/** LLM: THINK, LLM_REPORT. */
import { Op } from '../../protocol/opcodes.js';
import type { LlmReportReply, LlmReportRequest, ThinkReply, ThinkRequest } from '../../protocol/schemas/think.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const llmMethods = ({ call }: Context) => ({
  /**
   * THINK: a chat completion through the kernel's LLM, from a prompt or a `messages`
   * history; `tools` go to the model and its `tool_calls` come back. Rejects with
   * UNAVAILABLE (no LLM configured; the endpoint down, refusing or answering garbage),
   * TIMEOUT, QUOTA_EXCEEDED (calls per minute, a token or call quota, too many calls
   * waiting) or INVALID_REQUEST (naming the field). In the background: `startAsync('THINK', request)`.
   */
  think(request: Request<typeof ThinkRequest> | string): Promise<Reply<typeof ThinkReply>> {
    return call(Op.THINK, typeof request === 'string' ? { prompt: request } : request);
  },

  /** LLM_REPORT: the tokens of an LLM call this agent made itself, counted against its quotas (never refused for one). */
  llmReport(tokens: number, options: Omit<Request<typeof LlmReportRequest>, 'tokens'> = {}): Promise<Reply<typeof LlmReportReply>> {
    return call(Op.LLM_REPORT, { tokens, ...options });
  },
});
