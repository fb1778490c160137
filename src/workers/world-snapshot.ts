/**
 * WORLD_SNAPSHOT and WORLD_RESTORE's heavy part, in a worker thread: serialising,
 * gzipping and hashing the payload and writing the file (atomically: a temp file then a
 * rename, so a failed write leaves nothing behind); reading a file back, checking its
 * header, version and checksum, decompressing within a cap and parsing the JSON. The
 * format is src/worlds/snapshot/format.ts; its schema validation runs in the kernel.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  formatHeader,
  MAX_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SNAPSHOT_BYTES,
  parseHeader,
  SNAPSHOT_VERSION,
} from '../worlds/snapshot/format.js';
import { codeForErrno, failure, success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export interface PackSnapshotTask {
  /** Absolute host path of the file to write (its directory is created). */
  path: string;
  payload: unknown;
}

export interface PackedSnapshot {
  path: string;
  bytes: number;
  sha256: string;
}

export async function packWorldSnapshot({ input }: TaskEnvelope<PackSnapshotTask>): Promise<TaskOutcome<PackedSnapshot>> {
  const body = await gzipAsync(Buffer.from(JSON.stringify(input.payload), 'utf8'));
  if (body.length > MAX_SNAPSHOT_BYTES) {
    return failure('QUOTA_EXCEEDED', `the snapshot would be ${body.length} bytes, over the limit of ${MAX_SNAPSHOT_BYTES}`);
  }
  const sha256 = createHash('sha256').update(body).digest('hex');
  const header = Buffer.from(formatHeader(sha256, body.length), 'ascii');
  const temp = `${input.path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(input.path), { recursive: true });
    await writeFile(temp, Buffer.concat([header, body]), { flag: 'wx' });
    await rename(temp, input.path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    const err = error as NodeJS.ErrnoException;
    return failure(codeForErrno(err.code), `cannot write the snapshot to "${input.path}": ${err.code ?? err.message}`);
  }
  return success({ path: input.path, bytes: header.length + body.length, sha256 });
}

export interface UnpackSnapshotTask {
  path: string;
}

/** The payload as parsed JSON, or INVALID_REQUEST saying what is wrong with the file. */
export async function unpackWorldSnapshot({ input }: TaskEnvelope<UnpackSnapshotTask>): Promise<TaskOutcome<unknown>> {
  let file: Buffer;
  try {
    const handle = await open(input.path, 'r');
    try {
      const info = await handle.stat();
      if (!info.isFile()) return failure('INVALID_REQUEST', `"${input.path}" is not a regular file`);
      if (info.size > MAX_SNAPSHOT_BYTES + MAX_HEADER_BYTES) {
        return failure('INVALID_REQUEST', `"${input.path}" is ${info.size} bytes, over the snapshot limit of ${MAX_SNAPSHOT_BYTES}`);
      }
      file = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    return failure(codeForErrno(err.code), `cannot read the snapshot "${input.path}": ${err.code ?? err.message}`);
  }
  return decodeSnapshot(file);
}

/** The same checks on bytes already in hand (a snapshot sent inline, base64). */
export async function decodeSnapshot(file: Buffer): Promise<TaskOutcome<unknown>> {
  const newline = file.subarray(0, MAX_HEADER_BYTES + 1).indexOf(0x0a);
  const header = parseHeader(file.subarray(0, newline < 0 ? Math.min(file.length, MAX_HEADER_BYTES) : newline).toString('latin1'));
  if (!header.ok) {
    return failure(
      'INVALID_REQUEST',
      header.problem === 'foreign'
        ? 'not an AgentOS world snapshot (no "AGENTOS-WORLD-SNAPSHOT" header)'
        : 'snapshot is corrupted: its header line is malformed',
    );
  }
  if (header.version !== SNAPSHOT_VERSION) {
    return failure('INVALID_REQUEST', `snapshot format version ${header.version} is not supported (this kernel reads ${SNAPSHOT_VERSION})`);
  }
  const body = file.subarray(newline + 1);
  if (body.length !== header.bytes) {
    return failure('INVALID_REQUEST', `snapshot is corrupted: ${body.length} bytes of payload, the header says ${header.bytes}`);
  }
  if (createHash('sha256').update(body).digest('hex') !== header.sha256) {
    return failure('INVALID_REQUEST', 'snapshot is corrupted: checksum mismatch');
  }
  try {
    const json = await gunzipAsync(body, { maxOutputLength: MAX_PAYLOAD_BYTES });
    return success(JSON.parse(json.toString('utf8')) as unknown);
  } catch (error) {
    return failure('INVALID_REQUEST', `snapshot is corrupted: its payload does not decode (${(error as Error).message})`);
  }
}

export interface DecodeSnapshotTask {
  /** The file's bytes, base64. */
  base64: string;
}

export function unpackInlineSnapshot({ input }: TaskEnvelope<DecodeSnapshotTask>): Promise<TaskOutcome<unknown>> {
  return decodeSnapshot(Buffer.from(input.base64, 'base64'));
}
