/** An agent and its spawners, nearest first: who is answerable for what it makes (worlds, tasks). */
import type { AgentRecord, AgentRegistry } from './registry.js';

export function lineageOf(agent: AgentRecord, agents: Pick<AgentRegistry, 'get'>): number[] {
  const lineage = [agent.id];
  // Bounded by the supervision tree's depth; the guard only stops a corrupt parent cycle.
  for (let parent = agent.parentId; parent !== null && lineage.length < 1024; ) {
    lineage.push(parent);
    parent = agents.get(parent)?.parentId ?? null;
  }
  return lineage;
}
