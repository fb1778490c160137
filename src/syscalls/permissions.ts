/** GET_PERMS and SET_PERMS (protocol.md §6): who may see and change whose rights, without escalation. */
import { homedir } from 'node:os';
import type { z } from 'zod';
import type { AgentRecord } from '../agents/registry.js';
import { defineSyscall } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { GetPermsRequest, type Permissions, type PermsReply, PRESETS, SetPermsRequest } from '../protocol/schemas/permissions.js';
import { escalations } from '../security/grant.js';
import { reachableAgent } from './reach.js';

function view(record: AgentRecord): z.output<typeof PermsReply> {
  return { success: true, agent_id: record.id, level: record.level, admin: record.admin, permissions: record.permissions };
}

export const getPerms = defineSyscall({
  name: 'GET_PERMS',
  request: GetPermsRequest,
  handle: (request, session, kernel) => view(reachableAgent(session, kernel, request.agent_id, 'GET_PERMS')),
});

export const setPerms = defineSyscall({
  name: 'SET_PERMS',
  request: SetPermsRequest,
  handle: (request, session, kernel) => {
    const caller = session.agent;
    const target = reachableAgent(session, kernel, request.agent_id, 'SET_PERMS');
    const base = request.level === undefined ? target.permissions : PRESETS[request.level];
    const wanted: Permissions = { ...base, ...request.permissions };
    if (!caller.admin) {
      // On oneself only narrowing; on a descendant, never beyond one's own rights.
      const found = escalations(wanted, { granter: caller.permissions, granterHome: homedir(), home: homedir() });
      if (found.length > 0) {
        throw new KernelError('PERMISSION_DENIED', `SET_PERMS denied: the new rights exceed agent ${caller.id}'s: ${found.join('; ')}`, {
          escalations: found,
        });
      }
    }
    const before = { level: target.level, permissions: target.permissions };
    target.permissions = Object.freeze(wanted);
    if (request.level !== undefined) target.level = request.level;
    const change = {
      by: caller.id,
      by_name: caller.name,
      level_before: before.level,
      level: target.level,
      changed: changedFields(before.permissions, wanted),
    };
    kernel.audit.record({ category: 'permission', agent_id: target.id, agent_name: target.name, op: 'SET_PERMS', detail: change });
    kernel.log.info({ audit: 'permission_change', agent_id: target.id, ...change }, 'permissions changed');
    return view(target);
  },
});

function changedFields(before: Readonly<Permissions>, after: Readonly<Permissions>): string[] {
  return (Object.keys(after) as (keyof Permissions)[]).filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}
