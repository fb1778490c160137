/** GET_AUDIT_LOG and SET_AUDIT_CONFIG (protocol.md §5); admin-only in the opcode table, so the router refuses everyone else. */
import type { z } from 'zod';
import { defineSyscall } from '../kernel/syscall.js';
import { type GetAuditLogReply, GetAuditLogRequest, type SetAuditConfigReply, SetAuditConfigRequest } from '../protocol/schemas/audit.js';

export const getAuditLog = defineSyscall({
  name: 'GET_AUDIT_LOG',
  request: GetAuditLogRequest,
  handle: (request, _session, kernel): z.output<typeof GetAuditLogReply> => ({
    success: true,
    ...kernel.audit.query({ category: request.category, agent_id: request.agent_id, since_id: request.since_id, limit: request.limit }),
  }),
});

export const setAuditConfig = defineSyscall({
  name: 'SET_AUDIT_CONFIG',
  request: SetAuditConfigRequest,
  handle: (request, session, kernel): z.output<typeof SetAuditConfigReply> => {
    const { log_denials, log_lifecycle, log_permissions, log_quota, max_entries } = request;
    const changed = kernel.audit.configure(
      { log_denials, log_lifecycle, log_permissions, log_quota, max_entries },
      { agent_id: session.agent.id, agent_name: session.agent.name },
    );
    return { success: true, config: { ...kernel.audit.config }, changed };
  },
});
