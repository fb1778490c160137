/**
 * The kernel's live worlds: ids (`world-1`, `world-2`, ... never reused), names unique
 * among live worlds, and which world each agent is in (an agent is in at most one).
 * Creation is all or nothing: a world is registered only once its layer is made and it
 * has started; a failure removes whatever the attempt created on disk.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '../protocol/errors.js';
import type { WorldDefinition } from './definition/index.js';
import { World, type WorldHost } from './world.js';

/** Live worlds at once: each holds timers, a layer on disk and a request log. */
export const MAX_WORLDS = 256;

export interface WorldRegistryOptions {
  /** Worlds' layers go under `<dataDir>/worlds/<world_id>/layer`. */
  dataDir: string;
  host: WorldHost;
}

export class WorldRegistry {
  readonly #dataDir: string;
  readonly #host: WorldHost;
  readonly #worlds = new Map<string, World>();
  /** Names being created, so two concurrent creates cannot both take one. */
  readonly #reserved = new Set<string>();
  readonly #memberOf = new Map<number, World>();
  #nextId = 1;
  #closed = false;

  constructor(options: WorldRegistryOptions) {
    this.#dataDir = options.dataDir;
    this.#host = options.host;
  }

  get size(): number {
    return this.#worlds.size;
  }

  [Symbol.iterator](): IterableIterator<World> {
    return this.#worlds.values();
  }

  get(id: string): World | undefined {
    return this.#worlds.get(id);
  }

  /** The live world `id`, or NOT_FOUND naming it (`op` starts the message). */
  require(id: string, op: string): World {
    const world = this.#worlds.get(id);
    if (!world)
      throw new KernelError('NOT_FOUND', `${op}: world "${id}" does not exist (or was destroyed); WORLD_LIST shows the live ones`);
    return world;
  }

  byName(name: string): World | undefined {
    for (const world of this.#worlds.values()) if (world.name === name) return world;
    return undefined;
  }

  /** The world agent `agentId` is in, if any. */
  worldOf(agentId: number): World | undefined {
    return this.#memberOf.get(agentId);
  }

  async create(definition: WorldDefinition, name?: string): Promise<World> {
    if (this.#closed) throw new KernelError('UNAVAILABLE', 'WORLD_CREATE: the kernel is stopping');
    const wanted = name ?? definition.name;
    if (this.byName(wanted) || this.#reserved.has(wanted)) {
      throw new KernelError('CONFLICT', `WORLD_CREATE: a world named "${wanted}" exists already; pass another "name"`, { field: 'name' });
    }
    if (this.#worlds.size + this.#reserved.size >= MAX_WORLDS) {
      throw new KernelError('QUOTA_EXCEEDED', `WORLD_CREATE: at most ${MAX_WORLDS} worlds may be live at once; destroy one first`);
    }
    const id = `world-${this.#nextId++}`;
    const dir = join(this.#dataDir, 'worlds', id);
    this.#reserved.add(wanted);
    try {
      const world = await World.create(id, definition, { name: wanted, layerDir: join(dir, 'layer'), host: this.#host });
      if (this.#closed) {
        await world.destroy();
        throw new KernelError('UNAVAILABLE', 'WORLD_CREATE: the kernel is stopping');
      }
      this.#worlds.set(id, world);
      world.start();
      return world;
    } catch (error) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw error;
    } finally {
      this.#reserved.delete(wanted);
    }
  }

  /** Add an agent to a world: CONFLICT when it is in another one, QUOTA_EXCEEDED when the world is full. */
  join(world: World, agentId: number, name: string | null): void {
    const current = this.#memberOf.get(agentId);
    if (current === world) return;
    if (current) {
      throw new KernelError(
        'CONFLICT',
        `WORLD_JOIN: agent ${agentId} is in world "${current.id}" already; WORLD_LEAVE it first (an agent is in one world at a time)`,
      );
    }
    if (!world.join(agentId, name)) {
      throw new KernelError('QUOTA_EXCEEDED', `WORLD_JOIN: world "${world.id}" is full (resources.max_agents is ${world.maxAgents})`);
    }
    this.#memberOf.set(agentId, world);
  }

  /** Remove an agent from its world; returns the world it left, if it was in one. */
  leave(agentId: number): World | undefined {
    const world = this.#memberOf.get(agentId);
    if (!world) return undefined;
    world.leave(agentId);
    this.#memberOf.delete(agentId);
    return world;
  }

  /** Unregister at once (its id and name are free from now), then stop it and remove its layer. */
  async destroy(world: World): Promise<void> {
    if (this.#worlds.get(world.id) !== world) return;
    this.#worlds.delete(world.id);
    for (const member of world.members()) this.#memberOf.delete(member.agent_id);
    await world.destroy();
    await rm(join(this.#dataDir, 'worlds', world.id), { recursive: true, force: true });
  }

  /** Kernel stop: every world destroyed, no new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#worlds.values()].map((world) => this.destroy(world)));
  }
}
