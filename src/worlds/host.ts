/**
 * The kernel side of a world: how its events reach the kernel's bus, and how a chaos
 * crash kills a member. A crash is a SIGKILL to the agent's process group, sent outside
 * its supervisor: to the supervisor it is an abnormal exit like any other, so the
 * agent's restart policy applies (KILL, by contrast, asks the supervisor to end it for good).
 */
import type { AnyActorRef } from 'xstate';
import type { AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import type { World, WorldHost } from './world.js';

export function kernelWorldHost(deps: {
  events: EventBus;
  agents: AgentRegistry;
  log: Logger;
  /** The kernel's `worlds` supervisor, once the root has spawned it. */
  supervisor?: () => AnyActorRef | undefined;
}): WorldHost {
  return {
    ...(deps.supervisor ? { supervisor: deps.supervisor } : {}),
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

/**
 * Tells each world when its members' processes exit and start again (a chaos crash, then
 * the supervisor's restart), for its uptime score. Returns the unsubscribe.
 */
export function watchWorldMembers(events: EventBus, worlds: { worldOf(agentId: number): World | undefined }): () => void {
  return events.on((event) => {
    if (event.type !== 'AGENT_EXITED' && event.type !== 'AGENT_SPAWNED') return;
    const agentId = event.data.agent_id;
    if (typeof agentId !== 'number') return;
    const world = worlds.worldOf(agentId);
    if (!world) return;
    if (event.type === 'AGENT_EXITED') world.memberExited(agentId);
    else world.memberStarted(agentId);
  });
}
