/** Which agent a call about another agent may name: itself, one it spawned (or a descendant), or any for an admin. */
import type { AgentRecord } from '../agents/registry.js';
import type { Session } from '../kernel/session.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';

/** The agent `agentId` names (the caller when none); NOT_FOUND, or PERMISSION_DENIED when out of the caller's reach. */
export function reachableAgent(session: Session, kernel: KernelServices, agentId: number | undefined, op: string): AgentRecord {
  const caller = session.agent;
  if (agentId === undefined || agentId === caller.id) return caller;
  const target = kernel.agents.get(agentId);
  if (!target) throw new KernelError('NOT_FOUND', `${op}: agent ${agentId} does not exist (or has ended)`);
  if (!caller.admin && !kernel.agents.isDescendant(target.id, caller.id)) {
    throw new KernelError(
      'PERMISSION_DENIED',
      `${op} denied: agent ${target.id} was not spawned by agent ${caller.id} or its descendants (the admin token reaches every agent)`,
    );
  }
  return target;
}
