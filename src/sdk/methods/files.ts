/** Commands and files: EXEC, READ, WRITE. */
import { Op } from '../../protocol/opcodes.js';
import type { ReadReply, ReadRequest, WriteReply, WriteRequest } from '../../protocol/schemas/files.js';
import type { ExecReply, ExecRequest } from '../../protocol/schemas/process.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const fileMethods = ({ call }: Context) => ({
  /**
   * EXEC a shell command line; one that exits non-zero or times out is a reply
   * (`exit_code`, `timed_out`), one the agent's command rules refuse is PERMISSION_DENIED.
   * In the background: `startAsync('EXEC', request)`.
   */
  exec(request: Request<typeof ExecRequest> | string): Promise<Reply<typeof ExecReply>> {
    return call(Op.EXEC, typeof request === 'string' ? { command: request } : request);
  },

  /** READ a file (the agent's read rules on its real path); NOT_FOUND, PERMISSION_DENIED, INVALID_REQUEST. */
  read(request: Request<typeof ReadRequest> | string): Promise<Reply<typeof ReadReply>> {
    return call(Op.READ, typeof request === 'string' ? { path: request } : request);
  },

  /** WRITE (or append to) a file, durable before the reply; the agent's write rules apply. */
  write(request: Request<typeof WriteRequest>): Promise<Reply<typeof WriteReply>> {
    return call(Op.WRITE, request);
  },
});
