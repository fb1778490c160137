/**
 * HTTP and DOWNLOAD: the kernel fetches for the agent, in a worker thread, only what the
 * agent's allowed_domains cover (src/security/domains.ts). The URL is checked here first,
 * so a denial costs no thread hop; the worker checks it again with every redirect and
 * every resolved address.
 */
import type { AgentRecord } from '../agents/registry.js';
import type { Session } from '../kernel/session.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { DownloadRequest, HttpRequest } from '../protocol/schemas/network.js';
import { checkUrl } from '../security/domains.js';
import { pathPolicyOf, requestPath } from '../security/paths-authorize.js';
import type { Metered, NetworkTask } from '../workers/http.js';
import { downloadInWorld, type FetchedBody } from '../worlds/download-calls.js';
import { httpInWorld } from '../worlds/http-calls.js';

type Op = 'HTTP' | 'DOWNLOAD';

/** The request's URL, checked against the agent's domains before any work is queued. */
function precheck(agent: AgentRecord, url: string, op: Op): void {
  const decision = checkUrl(agent.permissions, url);
  if (decision.ok) return;
  if (decision.code === 'INVALID_REQUEST') {
    throw new KernelError('INVALID_REQUEST', `invalid ${op} request: field "url": ${decision.reason}`, { field: 'url' });
  }
  throw new KernelError('PERMISSION_DENIED', `${op} denied: ${decision.reason}`, { field: 'url' });
}

/** A limit of the request that the kernel's options bound: over it is INVALID_REQUEST naming the field. */
function atMost(op: Op, field: string, value: number, limit: number, unit: string, option: string): void {
  if (value <= limit) return;
  const message = `invalid ${op} request: field "${field}": expected at most ${limit} ${unit} (the kernel's ${option})`;
  throw new KernelError('INVALID_REQUEST', message, { field });
}

function networkTask(
  session: Session,
  kernel: KernelServices,
  request: { url: string; headers?: Record<string, string> | undefined; timeout: number; follow_redirects: boolean },
  op: Op,
): NetworkTask {
  const { agent } = session;
  const limits = kernel.options.network;
  atMost(op, 'timeout', request.timeout, limits.maxTimeoutS, 'seconds', 'network.maxTimeoutS');
  precheck(agent, request.url, op);
  return {
    url: request.url,
    headers: request.headers,
    timeoutMs: Math.round(request.timeout * 1000),
    followRedirects: request.follow_redirects,
    maxRedirects: limits.maxRedirects,
    maxHeaderBytes: limits.maxHeaderBytes,
    allowedDomains: [...agent.permissions.allowed_domains],
    hosts: limits.hosts,
  };
}

/**
 * The worker's answer as the reply, once its bytes are counted (a failed call's too)
 * toward the agent's metrics and its network_bytes quota. A worker's denial reads like
 * the router's own: `HTTP denied: ...`.
 */
function settle<V>(op: Op, kernel: KernelServices, agent: AgentRecord, outcome: Metered<V>): V {
  kernel.metrics.add(agent.id, 'network_bytes', outcome.network_bytes);
  kernel.quotas.record(agent, 'network_bytes', outcome.network_bytes);
  if ('reply' in outcome) return outcome.reply;
  const { code, message } = outcome.error;
  throw new KernelError(code, code === 'PERMISSION_DENIED' && !message.startsWith(`${op} denied`) ? `${op} denied: ${message}` : message);
}

/**
 * A world's passthrough DOWNLOAD: the real GET (the agent's domains, quota and metering
 * as for HTTP), its body held for the world's files, so at most network.maxBodyBytes.
 */
async function fetchForWorld(session: Session, kernel: KernelServices, request: DownloadRequest, maxBytes: number): Promise<FetchedBody> {
  const { agent } = session;
  const most = Math.min(maxBytes, kernel.options.network.maxBodyBytes);
  const task = networkTask(session, kernel, request, 'DOWNLOAD');
  await kernel.quotas.check(agent, 'network_bytes', 1, { signal: session.closed, op: 'DOWNLOAD' });
  const outcome = await kernel.pool.run(
    'http',
    {
      ...task,
      headers: { 'accept-encoding': 'identity', ...task.headers },
      method: 'GET',
      body: undefined,
      bodyEncoding: 'utf8',
      maxBodyBytes: most,
    },
    session.closed,
  );
  const reply = settle('DOWNLOAD', kernel, agent, outcome);
  if (reply.truncated) {
    const why = most < maxBytes ? `network.maxBodyBytes (${most}), the most a download into a world may hold` : `max_bytes (${most})`;
    throw new KernelError('QUOTA_EXCEEDED', `the download is over ${why}; nothing was written`, { field: 'max_bytes' });
  }
  return {
    bytes: Buffer.from(reply.body, reply.body_encoding),
    status: reply.status_code,
    contentType: reply.headers['content-type'] ?? null,
    url: reply.url,
    redirects: reply.redirects,
  };
}

export const http = defineSyscall({
  name: 'HTTP',
  request: HttpRequest,
  handle: async (request, session, kernel) => {
    const { agent } = session;
    const limits = kernel.options.network;
    if (request.max_body !== undefined) atMost('HTTP', 'max_body', request.max_body, limits.maxBodyBytes, 'bytes', 'network.maxBodyBytes');
    atMost('HTTP', 'timeout', request.timeout, limits.maxTimeoutS, 'seconds', 'network.maxTimeoutS');
    // A member of a world: its simulator answers first (src/worlds/http-calls.ts); undefined = the real path.
    const maxBodyBytes = request.max_body ?? limits.maxBodyBytes;
    const simulated = await httpInWorld(kernel, agent, { ...request, maxBodyBytes }, session.closed);
    if (simulated) return { success: true as const, ...simulated };
    const task = networkTask(session, kernel, request, 'HTTP');
    await kernel.quotas.check(agent, 'network_bytes', 1, { signal: session.closed, op: 'HTTP' });
    const outcome = await kernel.pool.run(
      'http',
      {
        ...task,
        method: request.method,
        body: request.body,
        bodyEncoding: request.body_encoding,
        maxBodyBytes,
      },
      session.closed,
    );
    return { success: true as const, ...settle('HTTP', kernel, agent, outcome) };
  },
});

export const download = defineSyscall({
  name: 'DOWNLOAD',
  request: DownloadRequest,
  handle: async (request, session, kernel) => {
    const { agent } = session;
    const limits = kernel.options.network;
    if (request.max_bytes !== undefined) {
      atMost('DOWNLOAD', 'max_bytes', request.max_bytes, limits.maxDownloadBytes, 'bytes', 'network.maxDownloadBytes');
    }
    // A member of a world: its simulator decides, and the body lands in the world's files (src/worlds/download-calls.ts).
    const world = kernel.worlds.worldOf(agent.id);
    if (world) {
      const maxBytes = request.max_bytes ?? limits.maxDownloadBytes;
      const fetch = (most: number) => fetchForWorld(session, kernel, request, most);
      return { success: true as const, ...(await downloadInWorld(world, request, session, { maxBytes, fetch })) };
    }
    const task = networkTask(session, kernel, request, 'DOWNLOAD');
    const path = requestPath(agent, request.path, 'DOWNLOAD');
    const policy = await pathPolicyOf(agent, kernel);
    await kernel.quotas.check(agent, 'network_bytes', 1, { signal: session.closed, op: 'DOWNLOAD' });
    const outcome = await kernel.pool.run(
      'download',
      { ...task, path, policy, maxBytes: request.max_bytes ?? limits.maxDownloadBytes, mkdir: request.mkdir },
      session.closed,
    );
    return { success: true as const, ...settle('DOWNLOAD', kernel, agent, outcome) };
  },
});
