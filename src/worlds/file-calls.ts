/**
 * READ and WRITE for a member of a world: they act on the world's filesystem (its mounts
 * over its layer), never on the host's files. The request path is a world path; a
 * relative one resolves against the world's root `/` (the agent's host working directory
 * means nothing inside the world), and `..` never climbs above `/`. The host path policy
 * does not apply: the world is the sandbox, and a path outside every mount does not exist
 * there (READ: NOT_FOUND; WRITE: PERMISSION_DENIED). The agent's can_read/can_write flags
 * (checked by the router), the byte quotas and the metrics apply as on the host.
 * The replies have the host READ/WRITE shape, `path` being the normalised world path.
 */
import type { Session } from '../kernel/session.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import type { ReadRequest, WriteRequest } from '../protocol/schemas/files.js';
import { admitRead, admitWrite, countRead, countWrite } from '../quotas/io.js';
import type { World } from './world.js';

/** The world the session's agent is a member of, if any. */
export function worldOfSession(kernel: KernelServices, session: Session): World | undefined {
  return kernel.worlds.worldOf(session.agent.id);
}

export async function worldRead(world: World, request: ReadRequest, session: Session, kernel: KernelServices) {
  const path = world.fs.resolve(request.path).path;
  await admitRead(kernel, session);
  const maxBytes = kernel.options.files.maxReadBytes;
  // One byte over the limit is enough to tell a read that is too large, as the host READ refuses it.
  const length = Math.min(request.length ?? maxBytes + 1, maxBytes + 1);
  const result = await world.fs.read(path, { encoding: request.encoding, offset: request.offset, length });
  if (result.bytes_read > maxBytes) {
    throw new KernelError(
      'QUOTA_EXCEEDED',
      `cannot read "${path}": over the read limit of ${maxBytes} bytes; read it in parts with offset and length`,
    );
  }
  countRead(kernel, session, result.bytes_read);
  return { success: true as const, path, ...result };
}

export async function worldWrite(world: World, request: WriteRequest, session: Session, kernel: KernelServices) {
  const path = world.fs.resolve(request.path).path;
  await admitWrite(kernel, session, Buffer.byteLength(request.content, request.encoding));
  const result = await world.fs.write(path, request.content, {
    append: request.mode === 'append',
    mkdir: request.mkdir,
    encoding: request.encoding,
  });
  countWrite(kernel, session, result.bytes_written);
  return { success: true as const, path, ...result };
}
