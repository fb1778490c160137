/**
 * The OpenAI-compatible chat-completions provider: POST {baseUrl}/chat/completions, as
 * OpenAI, Ollama, vLLM, the llama.cpp server and LM Studio serve it.
 *
 * It runs on the kernel's event loop, not in a worker: fetch's socket work is
 * asynchronous in libuv, and the only CPU work is one JSON.parse of a body capped at
 * `maxResponseBytes`. A worker would add a thread hop per call, a second copy of the
 * body, and would need the key, which stays in this object alone.
 */

import { KernelError } from '../protocol/errors.js';
import type { Completion } from '../protocol/schemas/think.js';
import { readCappedText } from './capped-body.js';
import { type LinkedAbort, linkedAbort } from './linked-abort.js';
import { parseCompletion } from './openai-response.js';
import type { ChatRequest, LlmProvider } from './provider.js';
import type { Secret } from './secret.js';
import { oneLine, retryAfterMs, upstreamError } from './upstream-error.js';

export interface OpenAICompatibleOptions {
  baseUrl: string;
  apiKey?: Secret | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
}

export class OpenAICompatibleProvider implements LlmProvider {
  readonly describe: string;
  readonly #endpoint: URL;
  readonly #key: Secret | undefined;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;

  constructor(options: OpenAICompatibleOptions) {
    // `new URL('chat/completions', 'http://h/v1')` would drop the v1: the base must end in a slash.
    const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.#endpoint = new URL('chat/completions', base);
    this.describe = `the LLM endpoint ${this.#endpoint.href}`;
    this.#key = options.apiKey;
    this.#timeoutMs = options.timeoutMs;
    this.#maxResponseBytes = options.maxResponseBytes;
  }

  async complete(request: ChatRequest, signal: AbortSignal): Promise<Completion> {
    const abort = linkedAbort([signal], this.#timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#key !== undefined) headers.authorization = `Bearer ${this.#key.reveal()}`;
    try {
      const response = await fetch(this.#endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ ...request, stream: false }),
        signal: abort.signal,
        // A redirect could carry the key to another host: the endpoint is configured, not discovered.
        redirect: 'error',
      });
      // A provider may echo the Authorization header (in an error, or worse): the key never goes further.
      const raw = await readCappedText(response, this.#maxResponseBytes, this.describe);
      const body = this.#key ? this.#key.scrub(raw) : raw;
      if (!response.ok) {
        const retryAfter = retryAfterMs(response.headers.get('retry-after'));
        throw upstreamError({ status: response.status, body, retryAfterMs: retryAfter, model: request.model }, this.describe, this.#key);
      }
      return parseCompletion(body, request, this.describe, this.#key);
    } catch (error) {
      if (error instanceof KernelError) throw error;
      throw this.#transportError(error, abort);
    } finally {
      abort.dispose();
    }
  }

  /** Why fetch or the body failed: our timeout, the caller gone, or the network. */
  #transportError(error: unknown, abort: LinkedAbort): KernelError {
    if (abort.timedOut)
      return new KernelError('TIMEOUT', `${this.describe} gave no complete answer within ${this.#timeoutMs} ms (llm.timeoutMs)`);
    if (abort.signal.aborted)
      return new KernelError('UNAVAILABLE', 'the LLM call was cancelled (its connection closed, or the kernel is stopping)');
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const message = String(cause?.message ?? (error as Error).message ?? error);
    const reason = typeof cause?.code === 'string' ? `${message} (${cause.code})` : message;
    return new KernelError('UNAVAILABLE', `${this.describe} failed: ${oneLine(reason, this.#key)}`);
  }
}
