/**
 * From a live world to a snapshot payload, and from a file's parsed JSON back to a
 * validated payload. The bytes (gzip, sha256, the file) are the worker's
 * (src/workers/world-snapshot.ts); this side only gathers state and checks it.
 */
import { randomUUID } from 'node:crypto';
import { join, sep } from 'node:path';
import { describeZodError, KernelError } from '../../protocol/errors.js';
import type { WorldDefinition } from '../definition/index.js';
import type { World } from '../world.js';
import { SNAPSHOT_EXTENSION, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, SnapshotPayload } from './format.js';

export async function snapshotPayload(
  world: World,
  kernelVersion: string,
  owner: SnapshotPayload['world']['owner'] = null,
): Promise<SnapshotPayload> {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    snapshot_id: randomUUID(),
    created_at: Date.now(),
    kernel_version: kernelVersion,
    world: { id: world.id, name: world.name, owner },
    definition: world.definition as unknown as SnapshotPayload['definition'],
    state: await world.saveState(),
  };
}

/** `<dataDir>/worlds/snapshots/<world name>-<UTC timestamp>.agentos-world`. */
export function defaultSnapshotPath(dataDir: string, worldName: string, at: Date): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return join(dataDir, 'worlds', 'snapshots', `${worldName}-${stamp}${SNAPSHOT_EXTENSION}`);
}

/** `path` (absolute, normalised) when it is a file directly in the kernel's snapshot directory; undefined otherwise. */
export function kernelSnapshotPath(dataDir: string, path: string): string | undefined {
  const dir = join(dataDir, 'worlds', 'snapshots') + sep;
  return path.startsWith(dir) && !path.slice(dir.length).includes(sep) ? path : undefined;
}

/** The decoded JSON as a payload; INVALID_REQUEST naming the first bad field otherwise. */
export function readSnapshotPayload(json: unknown, op: string): { payload: SnapshotPayload; definition: WorldDefinition } {
  const head = (json ?? {}) as { format?: unknown; version?: unknown };
  if (head.format !== SNAPSHOT_FORMAT) {
    throw new KernelError('INVALID_REQUEST', `${op}: not an AgentOS world snapshot (its payload format is ${JSON.stringify(head.format)})`);
  }
  if (head.version !== SNAPSHOT_VERSION) {
    throw new KernelError(
      'INVALID_REQUEST',
      `${op}: snapshot format version ${String(head.version)} is not supported (this kernel reads ${SNAPSHOT_VERSION})`,
    );
  }
  const parsed = SnapshotPayload.safeParse(json);
  if (!parsed.success) {
    const problem = describeZodError(parsed.error, 'snapshot');
    throw new KernelError('INVALID_REQUEST', `${op}: snapshot is corrupted: ${problem.message}`, { field: problem.field });
  }
  return { payload: parsed.data, definition: parsed.data.definition as unknown as WorldDefinition };
}
