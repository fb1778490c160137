/**
 * DOWNLOAD by a member of a world: fetched exactly as its HTTP would be (the world's
 * simulator decides first: mock, passthrough to an allowed host under the agent's own
 * allowed_domains, failure or block; see http-calls.ts), then written into the world's
 * filesystem at `path`, a world path, as a WRITE would be (mounts, max_files,
 * disk_quota and the disk effects apply). Nothing reaches the host's files.
 *
 * As on the host, only a 2xx answer is written (404/410 are NOT_FOUND, others
 * UNAVAILABLE), a body over `max_bytes` is QUOTA_EXCEEDED, and a refusal writes nothing.
 * A passthrough body is held in memory on its way into the world, so it is bounded by
 * the kernel's `network.maxBodyBytes` as well as by `max_bytes`.
 */
import { createHash } from 'node:crypto';
import type { Session } from '../kernel/session.js';
import { KernelError } from '../protocol/errors.js';
import type { DownloadRequest, DownloadResult } from '../protocol/schemas/network.js';
import { simulateInWorld } from './http-calls.js';
import type { World } from './world.js';

/** A real answer for a passthrough download. */
export interface FetchedBody {
  bytes: Buffer;
  status: number;
  contentType: string | null;
  url: string;
  redirects: number;
}

export interface WorldDownloadOptions {
  /** The largest body accepted (the request's max_bytes or the kernel's limit). */
  maxBytes: number;
  /** Makes the real request for a passthrough, refusing a body over `maxBytes` (network.ts owns the real path). */
  fetch: (maxBytes: number) => Promise<FetchedBody>;
}

export async function downloadInWorld(
  world: World,
  request: DownloadRequest,
  session: Session,
  options: WorldDownloadOptions,
): Promise<DownloadResult & { world_id: string }> {
  const started = performance.now();
  const path = world.fs.resolve(request.path).path;
  const decision = await simulateInWorld(
    world,
    session.agent,
    { url: request.url, method: 'GET', timeout: request.timeout },
    session.closed,
    'DOWNLOAD',
  );
  const fetched: FetchedBody =
    decision.kind === 'mock'
      ? {
          bytes: Buffer.from(decision.body, 'utf8'),
          status: decision.status,
          contentType: headerOf(decision.headers, 'content-type'),
          url: request.url,
          redirects: 0,
        }
      : await options.fetch(options.maxBytes);
  if (fetched.status < 200 || fetched.status > 299) {
    const code = fetched.status === 404 || fetched.status === 410 ? 'NOT_FOUND' : 'UNAVAILABLE';
    throw new KernelError(code, `world "${world.name}": ${fetched.url.slice(0, 200)} answered ${fetched.status}; nothing was written`, {
      world_id: world.id,
      status_code: fetched.status,
    });
  }
  if (fetched.bytes.length > options.maxBytes) {
    throw new KernelError(
      'QUOTA_EXCEEDED',
      `the download is over max_bytes (${options.maxBytes}): ${fetched.bytes.length} bytes; nothing was written`,
      { field: 'max_bytes', world_id: world.id },
    );
  }
  await world.fs.write(path, fetched.bytes, { mkdir: request.mkdir });
  return {
    path,
    bytes: fetched.bytes.length,
    status_code: fetched.status,
    sha256: createHash('sha256').update(fetched.bytes).digest('hex'),
    content_type: fetched.contentType,
    duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    url: fetched.url,
    redirects: fetched.redirects,
    world_id: world.id,
  };
}

function headerOf(headers: Record<string, string>, name: string): string | null {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return null;
}
