/**
 * What THINK needs from an LLM: one chat completion. A provider speaks one API (the
 * first, `openai.ts`, the OpenAI-compatible chat-completions API); the fair queue, the
 * quotas and the syscall know nothing of HTTP.
 */
import type { ChatMessage, Completion, ThinkRequest, Tool } from '../protocol/schemas/think.js';

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number | undefined;
  max_tokens?: number | undefined;
  tools?: Tool[] | undefined;
  tool_choice?: ThinkRequest['tool_choice'];
}

export interface LlmProvider {
  /** A short name for logs and errors: the endpoint, never the key. */
  readonly describe: string;
  /**
   * One completion. Rejects with a KernelError: TIMEOUT (no full answer in time),
   * UNAVAILABLE (unreachable, refused, garbage, too large), INVALID_REQUEST (the
   * provider refused the request itself); aborts when `signal` does.
   */
  complete(request: ChatRequest, signal: AbortSignal): Promise<Completion>;
}
