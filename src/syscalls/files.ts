/**
 * READ and WRITE, run in a worker thread. The path policy (src/security/paths.ts) is
 * checked there, on the real path, by the task that opens it. A member of a world reads
 * and writes the world's filesystem instead (src/worlds/file-calls.ts).
 */

import { defineSyscall } from '../kernel/syscall.js';
import { ReadRequest, WriteRequest } from '../protocol/schemas/files.js';
import { admitRead, admitWrite, countRead, countWrite } from '../quotas/io.js';
import { pathPolicyOf, requestPath } from '../security/paths-authorize.js';
import { worldOfSession, worldRead, worldWrite } from '../worlds/file-calls.js';

export const read = defineSyscall({
  name: 'READ',
  request: ReadRequest,
  handle: async (request, session, kernel) => {
    const world = worldOfSession(kernel, session);
    if (world) return worldRead(world, request, session, kernel);
    const path = requestPath(session.agent, request.path, 'READ');
    const policy = await pathPolicyOf(session.agent, kernel);
    await admitRead(kernel, session);
    const result = await kernel.pool.run(
      'readFile',
      {
        path,
        encoding: request.encoding,
        offset: request.offset,
        length: request.length,
        maxBytes: kernel.options.files.maxReadBytes,
        policy,
      },
      session.closed,
    );
    countRead(kernel, session, result.bytes_read);
    return { success: true as const, path, ...result };
  },
});

export const write = defineSyscall({
  name: 'WRITE',
  request: WriteRequest,
  handle: async (request, session, kernel) => {
    const world = worldOfSession(kernel, session);
    if (world) return worldWrite(world, request, session, kernel);
    const path = requestPath(session.agent, request.path, 'WRITE');
    const policy = await pathPolicyOf(session.agent, kernel);
    await admitWrite(kernel, session, Buffer.byteLength(request.content, request.encoding));
    const result = await kernel.pool.run(
      'writeFile',
      { path, content: request.content, encoding: request.encoding, mode: request.mode, mkdir: request.mkdir, policy },
      session.closed,
    );
    countWrite(kernel, session, result.bytes_written);
    return { success: true as const, path, ...result };
  },
});
