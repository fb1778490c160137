/**
 * Pauses and resumes a process agent through its agent machine, as PAUSE and RESUME do
 * (SIGSTOP and SIGCONT to its process group; AGENT_PAUSED and AGENT_RESUMED events), so
 * a suspension by a quota looks like any other pause to the rest of the kernel.
 */
import type { AgentRecord } from '../agents/registry.js';
import type { Suspender } from './quotas.js';

export const processSuspender: Suspender = {
  pause(agent: AgentRecord): boolean {
    const slot = agent.kind === 'process' ? agent.runtime?.slot : undefined;
    if (!slot?.getSnapshot().matches({ alive: 'running' })) return false;
    slot.send({ type: 'agent.pause' });
    return true;
  },
  resume(agent: AgentRecord): void {
    const slot = agent.runtime?.slot;
    if (slot?.getSnapshot().matches({ alive: 'paused' })) slot.send({ type: 'agent.resume' });
  },
};
