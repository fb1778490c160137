/**
 * The kernel's live worlds: ids (`world-1`, `world-2`, ... never reused), names unique
 * among live worlds, and which world each agent is in (an agent is in at most one).
 * Creation is all or nothing: a world is registered only once its layer is made and it
 * has started; a failure removes whatever the attempt created on disk.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelError } from '../protocol/errors.js';
import type { WorldOwner } from './control.js';
import type { WorldDefinition } from './definition/index.js';
import type { SnapshotPayload } from './snapshot/format.js';
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
  /** Who controls each live world (src/worlds/control.ts); kept here so a World stays kernel-agnostic. */
  readonly #owners = new Map<string, WorldOwner>();
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

  /** The world's owner; undefined for a world made without one (tests driving the registry). */
  ownerOf(world: World): WorldOwner | undefined {
    return this.#owners.get(world.id);
  }

  /** Record who controls a registered world (a restore registers the world, then calls this). */
  setOwner(world: World, owner: WorldOwner): void {
    if (this.#worlds.get(world.id) === world) this.#owners.set(world.id, owner);
  }

  async create(definition: WorldDefinition, name?: string, owner?: WorldOwner): Promise<World> {
    return this.#register('WORLD_CREATE', name ?? definition.name, { owner }, (id, layerDir) =>
      World.create(id, definition, { name: name ?? definition.name, layerDir, host: this.#host }),
    );
  }

  /**
   * WORLD_RESTORE: a new world (new id) continuing `payload`, named `name` (default: the
   * snapshot's). With `replacing`, that world (which must have no members) is destroyed once
   * the restored one is registered, and its name is free for it. All or nothing, as create.
   */
  async restore(
    payload: SnapshotPayload,
    definition: WorldDefinition,
    options: { name?: string | undefined; replacing?: World | undefined; owner?: WorldOwner | undefined },
  ): Promise<World> {
    const op = 'WORLD_RESTORE';
    const wanted = options.name ?? options.replacing?.name ?? payload.world.name;
    return this.#register(op, wanted, options, async (id, layerDir) => {
      try {
        return await World.restore(id, definition, payload.state, { name: wanted, layerDir, host: this.#host });
      } catch (error) {
        if (error instanceof KernelError && error.code !== 'INTERNAL') throw error;
        throw new KernelError('INVALID_REQUEST', `${op}: the snapshot cannot be restored: ${(error as Error).message ?? String(error)}`);
      }
    });
  }

  /**
   * Reserve the name and an id, build the world, then register and start it: all or
   * nothing (a failure removes whatever the attempt made on disk). A world `replacing`
   * another (WORLD_RESTORE) may take its name, and ends it once registered.
   */
  async #register(
    op: 'WORLD_CREATE' | 'WORLD_RESTORE',
    wanted: string,
    options: { replacing?: World | undefined; owner?: WorldOwner | undefined },
    build: (id: string, layerDir: string) => Promise<World>,
  ): Promise<World> {
    if (this.#closed) throw new KernelError('UNAVAILABLE', `${op}: the kernel is stopping`);
    const replacing = options.replacing;
    const holder = this.byName(wanted);
    if ((holder && holder !== replacing) || this.#reserved.has(wanted)) {
      const alternative = op === 'WORLD_RESTORE' ? ' (or its "world_id" to replace it)' : '';
      throw new KernelError('CONFLICT', `${op}: a world named "${wanted}" exists already; pass another "name"${alternative}`, {
        field: 'name',
      });
    }
    if (this.#worlds.size + this.#reserved.size >= MAX_WORLDS + (replacing ? 1 : 0)) {
      throw new KernelError('QUOTA_EXCEEDED', `${op}: at most ${MAX_WORLDS} worlds may be live at once; destroy one first`);
    }
    const id = `world-${this.#nextId++}`;
    const dir = join(this.#dataDir, 'worlds', id);
    this.#reserved.add(wanted);
    try {
      const world = await build(id, join(dir, 'layer'));
      const refusal = this.#closed
        ? new KernelError('UNAVAILABLE', `${op}: the kernel is stopping`)
        : replacing && (this.#worlds.get(replacing.id) !== replacing || replacing.members().length > 0)
          ? new KernelError('CONFLICT', `${op}: world "${replacing.id}" changed while restoring (it was destroyed or gained members)`)
          : undefined;
      if (refusal) {
        await world.destroy();
        throw refusal;
      }
      // Its maps are cleared at once (synchronously); only the layer's removal runs on.
      if (replacing) {
        this.destroy(replacing).catch((error: unknown) =>
          this.#host.warn({ world_id: replacing.id, error: String(error) }, 'the replaced world did not close cleanly'),
        );
      }
      this.#worlds.set(id, world);
      if (options.owner) this.#owners.set(id, options.owner);
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
    this.#owners.delete(world.id);
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
