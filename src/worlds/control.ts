/**
 * Who may steer a world. A world belongs to the agent that created (or restored) it and to
 * that agent's ancestors at the time: they, and the admin, may destroy it, inject events,
 * snapshot it, and put agents in or take them out. The lineage is recorded at creation,
 * not looked up later, so the creator's spawner keeps control after the creator exits.
 *
 * Members are not owners: an agent placed in a world cannot leave it, heal it or destroy
 * it on its own (that would be an escape from the test it is in). It may read its world's
 * state.
 */
import { lineageOf } from '../agents/lineage.js';
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import { KernelError } from '../protocol/errors.js';
import type { World } from './world.js';

export interface WorldOwner {
  agent_id: number;
  name: string | null;
  /** The owner and its ancestors, nearest first: each of them controls the world. */
  lineage: number[];
}

/** The owner record for a world `caller` creates now. */
export function ownerFor(caller: AgentRecord, agents: Pick<AgentRegistry, 'get'>): WorldOwner {
  return { agent_id: caller.id, name: caller.name, lineage: lineageOf(caller, agents) };
}

export function controls(caller: AgentRecord, owner: WorldOwner | undefined): boolean {
  return caller.admin || owner?.lineage.includes(caller.id) === true;
}

/** PERMISSION_DENIED (audited by the router) unless `caller` controls `world`. */
export function requireControl(world: World, owner: WorldOwner | undefined, caller: AgentRecord, op: string, action: string): void {
  if (controls(caller, owner)) return;
  const by = owner ? `agent ${owner.agent_id}${owner.name ? ` (${owner.name})` : ''}` : 'the kernel';
  throw new KernelError(
    'PERMISSION_DENIED',
    `${op} denied: agent ${caller.id} may not ${action} world "${world.id}": it was created by ${by}; only its creator, the creator's spawners and the admin may`,
  );
}

/**
 * WORLD_SNAPSHOT's default files sit in the kernel's data directory, which no agent may
 * read: restoring one is allowed to the world's controllers of this kernel run and the
 * admin, so a snapshot never hands one agent's world (its files included) to another.
 * Agent ids restart with the kernel, hence the run check.
 */
export function requireSnapshotOwner(
  saved: { id: string; owner: { kernel_started_at: number; lineage: number[] } | null },
  caller: AgentRecord,
  kernelStartedAt: number,
): void {
  if (caller.admin) return;
  const owner = saved.owner;
  if (owner && owner.kernel_started_at === kernelStartedAt && owner.lineage.includes(caller.id)) return;
  throw new KernelError(
    'PERMISSION_DENIED',
    `WORLD_RESTORE denied: agent ${caller.id} did not control world "${saved.id}" when this snapshot was taken (in this kernel run); the kernel's snapshot directory is restored by the world's owners and the admin. Snapshot to a path you may read to share one`,
  );
}
