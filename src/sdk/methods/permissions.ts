/** Permissions (docs/protocol.md, The permission model): GET_PERMS, SET_PERMS. */
import { Op } from '../../protocol/opcodes.js';
import type { GetPermsReply, SetPermsReply, SetPermsRequest } from '../../protocol/schemas/permissions.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const permissionMethods = ({ call }: Context) => ({
  /**
   * GET_PERMS: this agent's level and every field of its rights, or another agent's when
   * this one spawned it (or an ancestor did) or holds the admin token. Rejects with
   * NOT_FOUND (no such live agent) or PERMISSION_DENIED (not a descendant).
   */
  getPerms(agentId?: number): Promise<Reply<typeof GetPermsReply>> {
    return call(Op.GET_PERMS, agentId === undefined ? {} : { agent_id: agentId });
  },

  /**
   * SET_PERMS: a `level` (its preset), `permissions` fields over it (or over the agent's
   * current rights), or both, for this agent or (`agent_id`) a descendant; resolves to the
   * rights now in force. Never an escalation: on itself an agent only narrows, on a
   * descendant never beyond its own rights (an admin may set anything on anyone); else
   * PERMISSION_DENIED, whose `reply.escalations` lists every field that exceeds.
   * INVALID_REQUEST names an unknown or bad field; NOT_FOUND.
   */
  setPerms(request: Request<typeof SetPermsRequest>): Promise<Reply<typeof SetPermsReply>> {
    return call(Op.SET_PERMS, request);
  },
});
