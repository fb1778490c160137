/** READ and WRITE, run in a worker thread. */

import { defineSyscall } from '../kernel/syscall.js';
import { ReadRequest, WriteRequest } from '../protocol/schemas/files.js';
import { resolveAgentPath } from './paths.js';

export const read = defineSyscall({
  name: 'READ',
  request: ReadRequest,
  handle: async (request, session, kernel) => {
    const path = resolveAgentPath(session.agent, request.path);
    const result = await kernel.pool.run(
      'readFile',
      { path, encoding: request.encoding, offset: request.offset, length: request.length, maxBytes: kernel.options.files.maxReadBytes },
      session.closed,
    );
    return { success: true as const, path, ...result };
  },
});

export const write = defineSyscall({
  name: 'WRITE',
  request: WriteRequest,
  handle: async (request, session, kernel) => {
    const path = resolveAgentPath(session.agent, request.path);
    const result = await kernel.pool.run(
      'writeFile',
      { path, content: request.content, encoding: request.encoding, mode: request.mode, mkdir: request.mkdir },
      session.closed,
    );
    return { success: true as const, path, ...result };
  },
});
