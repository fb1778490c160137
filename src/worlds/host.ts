/**
 * The kernel side of a world: how its events reach the kernel's bus, and how a chaos
 * crash kills a member. A crash is a SIGKILL to the agent's process group, sent outside
 * its supervisor: to the supervisor it is an abnormal exit like any other, so the
 * agent's restart policy applies (KILL, by contrast, asks the supervisor to end it for good).
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { WorldHost } from './world.js';

export function kernelWorldHost(deps: { events: EventBus; agents: AgentRegistry; log: Logger }): WorldHost {
  return {
    emit: (type, data, sourceAgentId) => {
      deps.events.emit(type, data, sourceAgentId);
    },
    crash: (agentId) => crashAgent(deps.agents, agentId),
    warn: (details, message) => deps.log.warn(details, message),
  };
}

/** SIGKILL a process agent's process group (its own pid when it leads none); false when it has no live process. */
export function crashAgent(agents: AgentRegistry, agentId: number): boolean {
  const record = agents.get(agentId);
  if (!record?.runtime || record.kind !== 'process') return false;
  const pid = record.runtime.slot.getSnapshot().context.pid;
  if (pid === null || pid === undefined) return false;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return true;
    } catch {
      // Not a group leader (or gone already): try the process itself.
    }
  }
  return false;
}
