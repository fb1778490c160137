/**
 * HTTP inside a worker thread: the exchange (http-client.ts), a body kept up to a limit,
 * one timer for the whole call, and cancellation when the caller's connection closes.
 *
 * Network tasks always come back as a value with the bytes they moved, failures too: a
 * call that failed after a gigabyte still counts toward the agent's network_bytes.
 */
import type { ErrorCode } from '../protocol/errors.js';
import type { Encoding } from '../protocol/schemas/common.js';
import type { HttpMethod, HttpResult } from '../protocol/schemas/network.js';
import { encodeBody, headerRecord, readCapped } from './http-body.js';
import { type ExchangeRequest, exchange, type Meter, NetworkFailure } from './http-client.js';
import { success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

/** What every network task carries: the request, the agent's domains, the kernel's limits. */
export interface NetworkTask {
  url: string;
  headers: Record<string, string> | undefined;
  timeoutMs: number;
  followRedirects: boolean;
  maxRedirects: number;
  maxHeaderBytes: number;
  allowedDomains: string[];
  hosts: Record<string, string[]>;
}

export interface HttpTask extends NetworkTask {
  method: HttpMethod;
  body: string | undefined;
  bodyEncoding: Encoding;
  maxBodyBytes: number;
}

/** A network task's answer: its reply or its failure, and the body bytes it sent and received either way. */
export type Metered<V> = { network_bytes: number } & ({ reply: V } | { error: { code: ErrorCode; message: string } });

export async function http({ input, cancelPort }: TaskEnvelope<HttpTask>): Promise<TaskOutcome<Metered<HttpResult>>> {
  const started = performance.now();
  return metered(input, cancelPort, async (signal, meter) => {
    const body = input.body === undefined ? undefined : Buffer.from(input.body, input.bodyEncoding);
    const { response, url, redirects } = await exchange(exchangeRequest(input, input.method, body), signal, meter);
    const { bytes, truncated } = await readCapped(response.body, input.maxBodyBytes, meter);
    return {
      status_code: response.status,
      status_text: response.statusText,
      headers: headerRecord(response.headers),
      ...encodeBody(bytes, response.headers.get('content-type'), truncated),
      truncated,
      duration_ms: elapsed(started),
      url,
      redirects,
    };
  });
}

export function exchangeRequest(input: NetworkTask, method: HttpMethod, body: Buffer | undefined): ExchangeRequest {
  return {
    url: input.url,
    method,
    headers: input.headers,
    body,
    followRedirects: input.followRedirects,
    maxRedirects: input.maxRedirects,
    allowedDomains: input.allowedDomains,
    hosts: input.hosts,
    maxHeaderBytes: input.maxHeaderBytes,
  };
}

export function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

const TIMED_OUT = Object.freeze(new Error('timed out'));
const CANCELLED = Object.freeze(new Error('cancelled'));

/**
 * Runs `work` with a signal that aborts at the task's timeout or when the caller goes
 * away, turns whatever it throws into the spec's codes, and reports the bytes it moved.
 */
export async function metered<V>(
  input: NetworkTask,
  cancelPort: TaskEnvelope<unknown>['cancelPort'],
  work: (signal: AbortSignal, meter: Meter) => Promise<V>,
): Promise<TaskOutcome<Metered<V>>> {
  const controller = new AbortController();
  const meter: Meter = { bytes: 0 };
  const timer = setTimeout(() => controller.abort(TIMED_OUT), input.timeoutMs);
  cancelPort.on('message', () => controller.abort(CANCELLED));
  try {
    const reply = await work(controller.signal, meter);
    return success({ reply, network_bytes: meter.bytes });
  } catch (error) {
    return success({ error: describeFailure(error, controller.signal, input), network_bytes: meter.bytes });
  } finally {
    clearTimeout(timer);
    cancelPort.close();
  }
}

function describeFailure(error: unknown, signal: AbortSignal, input: NetworkTask): { code: ErrorCode; message: string } {
  if (error instanceof NetworkFailure) return { code: error.code, message: error.message };
  if (signal.reason === TIMED_OUT) {
    return {
      code: 'TIMEOUT',
      message: `no complete answer within ${input.timeoutMs / 1000} s (the request's timeout); the request was abandoned`,
    };
  }
  if (signal.reason === CANCELLED) return { code: 'UNAVAILABLE', message: 'cancelled: the caller went away' };
  const cause = ((error as { cause?: unknown }).cause ?? error) as { code?: string; message?: string };
  const [code, reason] = describeCause(cause.code, input);
  return { code, message: `the request failed: ${reason ?? cause.message ?? String(error)}` };
}

function describeCause(code: string | undefined, input: NetworkTask): [ErrorCode, string | undefined] {
  switch (code) {
    case 'ECONNREFUSED':
      return ['UNAVAILABLE', 'the connection was refused'];
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return ['UNAVAILABLE', 'the server closed the connection'];
    case 'UND_ERR_CONNECT_TIMEOUT':
      return ['TIMEOUT', 'connecting took too long'];
    case 'UND_ERR_HEADERS_OVERFLOW':
      return ['UNAVAILABLE', `the response's headers are over ${input.maxHeaderBytes} bytes (the kernel's network.maxHeaderBytes)`];
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return ['UNAVAILABLE', 'the host is unreachable'];
    default:
      return ['UNAVAILABLE', undefined];
  }
}
