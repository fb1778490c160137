/**
 * DOWNLOAD inside a worker thread: the body streams to a temporary file beside the
 * target (hashed on the way, never held in memory), which replaces the target only once
 * complete and durable. A failure at any point (a limit, the timeout, the server, the
 * disk) removes the temporary file and leaves the target as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readlink, rename, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { DownloadResult } from '../protocol/schemas/network.js';
import type { PathPolicy } from '../security/paths.js';
import { type AuthorizedWrite, authorizeWrite } from '../security/paths-access.js';
import { elapsed, exchangeRequest, type Metered, metered, type NetworkTask } from './http.js';
import { exchange, type Meter, NetworkFailure } from './http-client.js';
import { codeForErrno, type TaskEnvelope, type TaskOutcome } from './outcome.js';

export interface DownloadTask extends NetworkTask {
  /** Absolute; checked here against `policy` once resolved (symlinks followed, the leaf's too). */
  path: string;
  /** The agent's path rules (src/security/paths.ts `pathPolicy`). */
  policy: PathPolicy;
  maxBytes: number;
  mkdir: boolean;
}

// O_EXCL and O_NOFOLLOW: the temporary name is ours alone, never an existing file or a planted link.
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export async function download({ input, cancelPort }: TaskEnvelope<DownloadTask>): Promise<TaskOutcome<Metered<DownloadResult>>> {
  const started = performance.now();
  return metered(input, cancelPort, async (signal, meter) => {
    // The path first: a refused path costs no request.
    const authorized = await authorizeWrite(input.path, input.policy, 'DOWNLOAD', { mkdir: input.mkdir });
    if (!authorized.ok) throw new NetworkFailure(authorized.code, authorized.message);
    const target = authorized.value;
    // The bytes as served: an archive stays an archive.
    const headers = { 'accept-encoding': 'identity', ...input.headers };
    const { response, url, redirects } = await exchange(exchangeRequest({ ...input, headers }, 'GET', undefined), signal, meter);
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      const code = response.status === 404 || response.status === 410 ? 'NOT_FOUND' : 'UNAVAILABLE';
      throw new NetworkFailure(code, `${new URL(url).origin} answered ${response.status} ${response.statusText}; nothing was written`);
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > input.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw new NetworkFailure('QUOTA_EXCEEDED', tooLarge(`its content-length says ${declared} bytes`, input.maxBytes));
    }
    const { bytes, sha256 } = await save(response.body, target, input, meter);
    return {
      path: target.real,
      bytes,
      status_code: response.status,
      sha256,
      content_type: response.headers.get('content-type'),
      duration_ms: elapsed(started),
      url,
      redirects,
    };
  });
}

function tooLarge(what: string, limit: number): string {
  return `the download is over max_bytes (${limit}): ${what}; nothing was kept`;
}

async function save(
  body: ReadableStream<Uint8Array> | null,
  target: AuthorizedWrite,
  input: DownloadTask,
  meter: Meter,
): Promise<{ bytes: number; sha256: string }> {
  const path = target.real;
  const dir = posix.dirname(path);
  // A long name must not make the temporary one longer than a name may be.
  const temp = posix.join(dir, `.${posix.basename(path).slice(0, 100)}.${randomBytes(6).toString('hex')}.download`);
  const hash = createHash('sha256');
  let bytes = 0;
  let handle: FileHandle | undefined;
  try {
    try {
      // The directories authorizeWrite checked, made only now that there is something to put in them.
      if (target.create.length > 0) await mkdir(dir, { recursive: true, mode: 0o755 });
      handle = await open(temp, TEMP_FLAGS, 0o644);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      throw new NetworkFailure(codeForErrno(errno), `cannot write "${input.path}": ${errno ?? (error as Error).message}`);
    }
    await openedWhereChecked(handle, temp);
    if (body !== null) {
      const reader = body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          meter.bytes += value.byteLength;
          bytes += value.byteLength;
          if (bytes > input.maxBytes) {
            throw new NetworkFailure('QUOTA_EXCEEDED', tooLarge(`more than ${input.maxBytes} bytes arrived`, input.maxBytes));
          }
          hash.update(value);
          await writeAll(handle, value);
        }
      } catch (error) {
        await reader.cancel().catch(() => {});
        throw error;
      }
    }
    await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temp, path).catch((error: NodeJS.ErrnoException) => {
      throw new NetworkFailure(codeForErrno(error.code), `cannot write "${input.path}": ${error.code ?? error.message}`);
    });
    return { bytes, sha256: hash.digest('hex') };
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/**
 * The file opened is in the directory that was checked: a parent swapped for a symlink
 * between the check and the open shows in /proc/self/fd (where there is no /proc, the
 * O_NOFOLLOW and O_EXCL of the open are what is left).
 */
async function openedWhereChecked(handle: FileHandle, temp: string): Promise<void> {
  const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (opened === undefined || opened === temp) return;
  await handle.close().catch(() => {});
  await unlink(opened).catch(() => {});
  throw new NetworkFailure('PERMISSION_DENIED', `DOWNLOAD denied: the directory of "${temp}" changed while the file was being created`);
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let written = 0;
  while (written < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written);
    written += bytesWritten;
  }
}
