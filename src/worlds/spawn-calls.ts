/**
 * SPAWN and worlds: the child of a world member joins its parent's world, and a SPAWN
 * with `world_id` puts its child in that world. The world is chosen and its room
 * checked before the agent record exists, and the child joins in the same tick as its
 * record is made, before its process starts: it never makes a call outside the world.
 *
 * The child's process itself is launched as any SPAWN's (sandboxed by default, with its
 * usual binds): the world governs its syscalls, the ordinary SPAWN sandbox its direct
 * access to host files.
 */
import type { AgentRecord } from '../agents/registry.js';
import type { KernelServices } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { requireControl } from './control.js';
import type { World } from './world.js';

/**
 * The world a child of `caller` joins: the caller's own, or `worldId` (which the caller
 * must control). CONFLICT when a member names another world, QUOTA_EXCEEDED when the
 * world is full; nothing has been created when either is thrown.
 */
export function worldForSpawn(kernel: KernelServices, caller: AgentRecord, worldId: string | undefined): World | undefined {
  const own = kernel.worlds.worldOf(caller.id);
  let world = own;
  if (worldId !== undefined) {
    if (own && own.id !== worldId) {
      throw new KernelError(
        'CONFLICT',
        `SPAWN: agent ${caller.id} is in world "${own.id}", so its children join that world; "world_id" names "${worldId}"`,
        { field: 'world_id', world_id: own.id },
      );
    }
    world = kernel.worlds.require(worldId, 'SPAWN');
    if (!own) requireControl(world, kernel.worlds.ownerOf(world), caller, 'SPAWN', 'put agents in');
  }
  if (world && world.members().length >= world.maxAgents) {
    throw new KernelError(
      'QUOTA_EXCEEDED',
      `SPAWN: world "${world.id}" is full (resources.max_agents is ${world.maxAgents}); nothing was spawned`,
      { field: 'max_agents', world_id: world.id },
    );
  }
  return world;
}

/** Puts a just-created child in `world`; call it in the same tick as `worldForSpawn` and the record's creation. */
export function joinSpawned(kernel: KernelServices, world: World | undefined, record: AgentRecord): void {
  if (world) kernel.worlds.join(world, record.id, record.name);
}
