/**
 * HTTP and DOWNLOAD of an agent that is a member of a world (worlds.md §3): the call goes
 * through the world's network simulator first, which waits the simulated latency on a
 * timer (the event loop runs on) and then decides:
 *
 * - mock: the reply is built here, shaped as a real HTTP reply (`status_text` from the
 *   status, lowercase headers, the body cut at `max_body`, `redirects: 0`, `duration_ms`
 *   the time the call took, latency included). No real request is made, so the agent's
 *   allowed_domains are not consulted and no network_bytes are counted.
 * - passthrough: the caller makes the real request (`undefined` is returned); the agent's
 *   own allowed_domains still apply.
 * - fail: TIMEOUT for a lost packet, UNAVAILABLE for a connection reset (partition) or a
 *   mock's `fail_rate` failure: the codes a real network failure gets. The message names
 *   the world; the error's `cause` and `latency_ms` say which failure and how long it took.
 *   A mocked reply carries `world: { world_id, mock, latency_ms }` likewise.
 * - blocked: PERMISSION_DENIED naming the world (the router audits it).
 *
 * The request's own `timeout` bounds the simulated wait too: a latency over it is TIMEOUT.
 * DOWNLOAD takes the same decision (`simulateInWorld`) and writes into the world's files
 * (download-calls.ts).
 */
import { STATUS_CODES } from 'node:http';
import type { AgentRecord } from '../agents/registry.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import type { HttpResult } from '../protocol/schemas/network.js';
import { checkUrl } from '../security/domains.js';
import type { NetworkDecision } from './network/index.js';
import type { World } from './world.js';

export interface WorldHttpRequest {
  readonly url: string;
  readonly method: string;
  /** Seconds, as the request gave it. */
  readonly timeout: number;
  readonly maxBodyBytes: number;
}

/** Added to a mocked reply: which world and mock answered, and the simulated latency (deterministic given the seed). */
export interface WorldHttpInfo {
  world_id: string;
  mock: string;
  latency_ms: number;
}

/**
 * The world's answer to an HTTP call of `agent`: a reply (mock), `undefined` when the
 * agent is in no world or the world passes the call through, or a KernelError thrown.
 */
export async function httpInWorld(
  kernel: KernelServices,
  agent: AgentRecord,
  request: WorldHttpRequest,
  signal: AbortSignal,
): Promise<(HttpResult & { world: WorldHttpInfo }) | undefined> {
  const world = kernel.worlds.worldOf(agent.id);
  if (!world) return undefined;
  const started = performance.now();
  const decision = await simulateInWorld(world, agent, request, signal, 'HTTP');
  if (decision.kind === 'passthrough') return undefined;
  // `world`: the simulated latency (duration_ms is real time), so a run's latencies can be compared.
  return {
    ...mockReply(decision, request, performance.now() - started),
    world: { world_id: world.id, mock: decision.mock, latency_ms: decision.latency_ms },
  };
}

/**
 * The world's decision on a call of `agent` (HTTP or DOWNLOAD), after the simulated
 * latency: a mock or a passthrough; a blocked or failed call is thrown as the KernelError
 * a real network would give, naming the world.
 */
export async function simulateInWorld(
  world: World,
  agent: AgentRecord,
  request: Pick<WorldHttpRequest, 'url' | 'method' | 'timeout'>,
  signal: AbortSignal,
  op: 'HTTP' | 'DOWNLOAD',
): Promise<Extract<NetworkDecision, { kind: 'mock' | 'passthrough' }>> {
  // A malformed URL is the same INVALID_REQUEST inside a world as outside.
  const checked = checkUrl(agent.permissions, request.url);
  if (!checked.ok && checked.code === 'INVALID_REQUEST') {
    throw new KernelError('INVALID_REQUEST', `invalid ${op} request: field "url": ${checked.reason}`, { field: 'url' });
  }
  const timeoutMs = Math.round(request.timeout * 1000);
  const timer = AbortSignal.timeout(timeoutMs);
  let decision: NetworkDecision;
  try {
    decision = await world.network.simulate(
      { agentId: String(agent.id), agentName: agent.name ?? undefined, method: request.method, url: request.url, timeoutMs },
      { signal: AbortSignal.any([signal, timer]) },
    );
  } catch (error) {
    if (signal.aborted) throw new KernelError('UNAVAILABLE', 'cancelled: the caller went away');
    if (timer.aborted) {
      throw new KernelError(
        'TIMEOUT',
        `world "${world.name}": ${request.method} ${request.url.slice(0, 200)} timed out after ${timeoutMs} ms (the request's timeout)`,
      );
    }
    throw error;
  }
  switch (decision.kind) {
    case 'blocked':
      throw new KernelError('PERMISSION_DENIED', `${op} denied: ${decision.message}`, { field: 'url', world_id: world.id });
    case 'fail':
      throw new KernelError(decision.error === 'timeout' ? 'TIMEOUT' : 'UNAVAILABLE', decision.message, {
        world_id: world.id,
        cause: decision.cause,
        latency_ms: decision.latency_ms,
      });
    default:
      return decision;
  }
}

function mockReply(decision: Extract<NetworkDecision, { kind: 'mock' }>, request: WorldHttpRequest, durationMs: number): HttpResult {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(decision.headers)) headers[name.toLowerCase()] = value;
  const bytes = request.method.toUpperCase() === 'HEAD' ? Buffer.alloc(0) : Buffer.from(decision.body, 'utf8');
  const truncated = bytes.length > request.maxBodyBytes;
  const kept = truncated ? bytes.subarray(0, request.maxBodyBytes) : bytes;
  let body: string;
  let encoding: 'utf8' | 'base64' = 'utf8';
  try {
    body = new TextDecoder('utf-8', { fatal: true }).decode(kept);
  } catch {
    // A cut in the middle of a character: base64, as a real reply's invalid UTF-8 is.
    body = kept.toString('base64');
    encoding = 'base64';
  }
  return {
    status_code: decision.status,
    status_text: STATUS_CODES[decision.status] ?? '',
    headers,
    body,
    body_encoding: encoding,
    truncated,
    duration_ms: Math.round(durationMs * 1000) / 1000,
    url: request.url,
    redirects: 0,
  };
}
