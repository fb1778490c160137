/**
 * Turns what a provider says when it fails (any HTTP status, any body: JSON in one of
 * several dialects, HTML from a proxy, nothing) into one KernelError with the
 * provider's own explanation, short, on one line, and never the key.
 */
import { type ErrorCode, KernelError } from '../protocol/errors.js';
import type { Secret } from './secret.js';

const MAX_DETAIL = 300;

/** The provider's explanation, from the error shapes of OpenAI, Ollama, vLLM, llama.cpp and LM Studio; else the body's text. */
export function explain(body: string, secret?: Secret): string {
  let detail: string | undefined;
  try {
    detail = messageOf(JSON.parse(body));
  } catch {
    // Not JSON (an HTML error page, plain text): its text, without markup.
  }
  detail ??= body.replace(/<[^>]*>/g, ' ');
  return oneLine(detail, secret) || '(no explanation in its answer)';
}

/** The `param` an OpenAI-style error names (the field the provider refused), if any. */
function paramOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { param?: unknown } };
    return typeof parsed?.error?.param === 'string' ? parsed.error.param : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of ['error', 'message', 'detail']) {
    const inner = record[key];
    if (typeof inner === 'string') return inner;
    if (typeof inner === 'object' && inner !== null) {
      const nested = messageOf(inner);
      if (nested !== undefined) return nested;
    }
  }
  return undefined;
}

/** Scrubbed first, then shortened: a cut can never leave part of the key behind. */
export function oneLine(text: string, secret?: Secret): string {
  const clean = (secret ? secret.scrub(text) : text)
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > MAX_DETAIL ? `${clean.slice(0, MAX_DETAIL)}...` : clean;
}

export interface UpstreamFailure {
  status: number;
  body: string;
  /** Milliseconds from a Retry-After header, when the provider sent one. */
  retryAfterMs?: number | undefined;
  /** The model the request named (a 404 about it is the request's fault, not the kernel's). */
  model: string;
}

/**
 * The request's own fault (400, 413, 422, an unknown model) is INVALID_REQUEST; the
 * kernel's configuration or the provider's state (401, 403, 429, 5xx, a 404 elsewhere) is
 * UNAVAILABLE; the provider's own timeout is TIMEOUT.
 */
export function upstreamError(failure: UpstreamFailure, what: string, secret?: Secret): KernelError {
  const { status, body } = failure;
  const detail = explain(body, secret);
  const details: Record<string, unknown> = { upstream_status: status };
  let code: ErrorCode = 'UNAVAILABLE';
  let hint = '';
  if (status === 400 || status === 413 || status === 422) {
    code = 'INVALID_REQUEST';
    const param = paramOf(body);
    if (param !== undefined) details.field = param;
  } else if (status === 404 && /model/i.test(detail)) {
    code = 'INVALID_REQUEST';
    details.field = 'model';
    hint = ` (model "${failure.model}")`;
  } else if (status === 404) {
    hint = ' (is llm.baseUrl the API root, such as http://127.0.0.1:11434/v1?)';
  } else if (status === 401 || status === 403) {
    hint = " (the kernel's llm.apiKey was refused)";
  } else if (status === 408 || status === 504) {
    code = 'TIMEOUT';
  } else if (status === 429 && failure.retryAfterMs !== undefined) {
    details.retry_after_ms = failure.retryAfterMs;
    hint = ` (retry after ${Math.ceil(failure.retryAfterMs / 1000)} s)`;
  }
  return new KernelError(code, `${what} answered HTTP ${status}${hint}: ${detail}`, details);
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
