/**
 * One HTTP exchange for HTTP and DOWNLOAD, inside a worker thread: every hop (the first
 * URL and each redirect) is checked against allowed_domains, resolved, its addresses
 * checked, and the connection made to the address that was checked (undici's
 * `connect.lookup` pinned to it), so DNS rebinding between check and connect has nothing
 * to act on. Redirects are followed here, by hand, for that reason.
 */
import { lookup } from 'node:dns/promises';
import { Agent, fetch } from 'undici';
import type { ErrorCode } from '../protocol/errors.js';
import type { HttpMethod } from '../protocol/schemas/network.js';
import { formatIp } from '../security/addresses.js';
import { checkAddress, checkUrl, normalizeHost, type UrlTarget } from '../security/domains.js';

/** An expected failure inside the worker; the task turns it into a TaskOutcome. */
export class NetworkFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ExchangeRequest {
  url: string;
  method: HttpMethod;
  headers: Readonly<Record<string, string>> | undefined;
  body: Buffer | undefined;
  followRedirects: boolean;
  maxRedirects: number;
  allowedDomains: readonly string[];
  /** Fixed answers for names, consulted before DNS (kernel option network.hosts, for tests). */
  hosts: Readonly<Record<string, readonly string[]>>;
  /** Largest response head (status line and headers) accepted. */
  maxHeaderBytes: number;
}

export interface Exchanged {
  response: Awaited<ReturnType<typeof fetch>>;
  /** The URL that answered. */
  url: string;
  redirects: number;
}

/** Body bytes that crossed the network for one call, both ways, kept up to date as they do. */
export interface Meter {
  bytes: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Methods a client may repeat (RFC 9110 §9.2.2): a request lost with its connection is sent again only for these. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const CLOSED_UNDERNEATH = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function closedUnderneath(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code !== undefined && CLOSED_UNDERNEATH.has(cause.code);
}
/** Headers that carry the agent's credentials: not sent to another origin after a redirect. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/** Headers that describe a body: dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];

export async function exchange(request: ExchangeRequest, signal: AbortSignal, meter: Meter): Promise<Exchanged> {
  const policy = { allowed_domains: request.allowedDomains };
  let method = request.method;
  let body = request.body;
  let headers = { ...request.headers };
  let current: string = request.url;
  for (let redirects = 0; ; redirects++) {
    // Origins only in messages: a path or query may carry a secret, and denials are logged.
    const hop = redirects === 0 ? '' : ` (redirect ${redirects}, to ${originOf(current)})`;
    const target = checkUrl(policy, current);
    if (!target.ok) {
      // A redirect's malformed target is the server's fault, not the request's.
      const code = target.code === 'INVALID_REQUEST' && redirects > 0 ? 'UNAVAILABLE' : target.code;
      throw new NetworkFailure(code, `${target.reason}${hop}`);
    }
    const address = await checkedAddress(target, request, signal, hop);
    const send = (dispatcher: Agent) => fetch(target.url, { method, headers, body, redirect: 'manual', dispatcher, signal });
    const pooled = dispatcherFor(target.host, address, request.maxHeaderBytes);
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await send(pooled.agent);
    } catch (error) {
      // A kept-alive connection the server closed unseen (see dispatcherFor): once more on a new one, when that is safe.
      if (!pooled.reused || !IDEMPOTENT.has(method) || signal.aborted || !closedUnderneath(error)) throw error;
      retire(pooled.key, pooled);
      response = await send(dispatcherFor(target.host, address, request.maxHeaderBytes).agent);
    }
    meter.bytes += body?.byteLength ?? 0;
    const location = response.headers.get('location');
    if (!request.followRedirects || !REDIRECTS.has(response.status) || location === null) {
      return { response, url: target.url.href, redirects };
    }
    await response.body?.cancel().catch(() => {});
    if (redirects >= request.maxRedirects) {
      throw new NetworkFailure(
        'UNAVAILABLE',
        `stopped after ${request.maxRedirects} redirects (the kernel's network.maxRedirects); ${target.url.origin} redirected again`,
      );
    }
    let next: URL;
    try {
      next = new URL(location, target.url);
    } catch {
      throw new NetworkFailure('UNAVAILABLE', `${target.url.origin} redirected to an invalid URL`);
    }
    // Fetch's rules (WHATWG fetch, HTTP-redirect fetch): 303 becomes GET, and so does a POST after 301 or 302.
    if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = without(headers, BODY_HEADERS);
    }
    if (next.origin !== target.url.origin) headers = without(headers, CREDENTIAL_HEADERS);
    current = next.href;
  }
}

function originOf(url: string): string {
  try {
    const { protocol, host } = new URL(url);
    return `${protocol}//${host}`;
  } catch {
    return 'an invalid URL';
  }
}

function without(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())));
}

/** The address to connect to for `target`, every address the name has checked first. */
async function checkedAddress(target: UrlTarget, request: ExchangeRequest, signal: AbortSignal, hop: string): Promise<PinnedAddress> {
  const policy = { allowed_domains: request.allowedDomains };
  const candidates = target.literal ? [formatIp(target.literal)] : await resolve(target.host, request.hosts, signal);
  let first: PinnedAddress | undefined;
  // Every answer is checked, not only the one used: a name that also points inside the network is refused outright.
  for (const candidate of candidates) {
    const decision = checkAddress(policy, target.host, candidate);
    if (!decision.ok) throw new NetworkFailure('PERMISSION_DENIED', `${decision.reason}${hop}`);
    first ??= { address: decision.address, family: decision.family };
  }
  if (first === undefined) throw new NetworkFailure('NOT_FOUND', `"${target.host}" has no address${hop}`);
  return first;
}

interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

async function resolve(host: string, hosts: ExchangeRequest['hosts'], signal: AbortSignal): Promise<string[]> {
  const fixed = fixedAnswer(host, hosts);
  if (fixed !== undefined) return fixed;
  try {
    // getaddrinfo cannot be cancelled; the race only stops waiting for it.
    const answers = await untilAborted(lookup(host, { all: true, verbatim: true }), signal);
    return answers.map((answer) => answer.address);
  } catch (error) {
    if (signal.aborted) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new NetworkFailure('NOT_FOUND', `cannot resolve "${host}": no such host`);
    throw new NetworkFailure('UNAVAILABLE', `cannot resolve "${host}": ${code ?? (error as Error).message}`);
  }
}

function fixedAnswer(host: string, hosts: ExchangeRequest['hosts']): string[] | undefined {
  for (const [name, addresses] of Object.entries(hosts)) if (normalizeHost(name) === host) return [...addresses];
  return undefined;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * One undici Agent per (host, checked address): its lookup answers that address only, so
 * every connection in its pool, kept alive between calls, goes where the check said. A
 * pool shared across addresses could hand a call a connection made for another answer.
 *
 * Connections are reused only within REUSE_WITHIN_MS of the last call: a Piscina worker
 * with no task in flight blocks in Atomics.wait, so undici's own keep-alive timers do not
 * run and a connection the server closed meanwhile would still look open (the next
 * request on it fails). Older pools are closed at the next call, gracefully (a call still
 * running on one finishes). Least recently used first out; bounded.
 */
const MAX_DISPATCHERS = 64;
const REUSE_WITHIN_MS = 1000;

interface Pooled {
  readonly key: string;
  readonly agent: Agent;
  lastUsed: number;
  /** Handed out before: its connections may have sat idle. */
  reused: boolean;
}

const dispatchers = new Map<string, Pooled>();

function retire(key: string, pooled: Pooled): void {
  if (dispatchers.get(key) === pooled) dispatchers.delete(key);
  void pooled.agent.close().catch(() => {});
}

function dispatcherFor(host: string, pinned: PinnedAddress, maxHeaderBytes: number): Pooled {
  const now = performance.now();
  for (const [key, pooled] of dispatchers) if (now - pooled.lastUsed > REUSE_WITHIN_MS) retire(key, pooled);
  const key = `${host} ${pinned.address} ${maxHeaderBytes}`;
  const known = dispatchers.get(key);
  if (known) {
    known.lastUsed = now;
    known.reused = true;
    dispatchers.delete(key);
    dispatchers.set(key, known);
    return known;
  }
  const agent = new Agent({
    connect: {
      lookup: (_name, options, callback) => {
        if ((options as { all?: boolean }).all)
          callback(null, [{ address: pinned.address, family: pinned.family }] as never, pinned.family);
        else callback(null, pinned.address, pinned.family);
      },
    },
    // The task's own timer bounds the whole exchange; undici's would cut long downloads.
    headersTimeout: 0,
    bodyTimeout: 0,
    maxHeaderSize: maxHeaderBytes,
    connections: 32,
  });
  const pooled: Pooled = { key, agent, lastUsed: now, reused: false };
  dispatchers.set(key, pooled);
  if (dispatchers.size > MAX_DISPATCHERS) {
    const [oldestKey, oldest] = dispatchers.entries().next().value as [string, Pooled];
    retire(oldestKey, oldest);
  }
  return pooled;
}
