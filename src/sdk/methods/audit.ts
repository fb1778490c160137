/** Audit (admin only: the client must have presented <data-dir>/admin.token): GET_AUDIT_LOG, SET_AUDIT_CONFIG. */
import { Op } from '../../protocol/opcodes.js';
import type { GetAuditLogReply, GetAuditLogRequest, SetAuditConfigReply, SetAuditConfigRequest } from '../../protocol/schemas/audit.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const auditMethods = ({ call }: Context) => ({
  /**
   * GET_AUDIT_LOG: entries after `since_id` (exclusive), ascending, at most `limit`
   * (100, at most 1000), optionally of one `category` or `agent_id`. Pass `next_since_id`
   * back to read on. Rejects with PERMISSION_DENIED without the admin token.
   */
  auditLog(request: Request<typeof GetAuditLogRequest> = {}): Promise<Reply<typeof GetAuditLogReply>> {
    return call(Op.GET_AUDIT_LOG, request);
  },

  /** SET_AUDIT_CONFIG: turns categories on or off, sets `max_entries`; answers the whole config. Admin only. */
  setAuditConfig(request: Request<typeof SetAuditConfigRequest>): Promise<Reply<typeof SetAuditConfigReply>> {
    return call(Op.SET_AUDIT_CONFIG, request);
  },
});
