/**
 * One world (worlds.md): its definition, seeded randomness, clock, chaos scheduler,
 * filesystem and network, composed, plus its members (agent ids) and the effects of
 * chaos on them. The world knows nothing of the kernel: what it needs (publishing
 * events, crashing an agent) comes in as a `WorldHost`, so it can be driven in tests.
 *
 * Lifecycle: `creating → running ⇄ paused → destroyed`, an XState actor of
 * src/machines/world.machine.ts parented to the kernel's `worlds` supervisor (so
 * visualizers see it); the machine decides which transitions are legal, this class
 * provides what each does to the clock, the schedule and the timers.
 *
 * Effects are *reconciled*, not toggled: when any network, disk, skew or load effect
 * starts or ends, the world recomputes that part from the scheduler's active effects.
 * So one effect healing early never undoes another still in force, and `heal` needs no
 * bookkeeping of its own.
 */
import { rm } from 'node:fs/promises';
import { type Actor, type AnyActorRef, createActor } from 'xstate';
import { type WorldLifecycle, worldMachine } from '../machines/world.machine.js';
import { type RealTimeSource, type TimerFacility, WorldClock } from './clock.js';
import type { WorldDefinition } from './definition/index.js';
import { WorldFs } from './fs/index.js';
import { chaosSpecs, fsLimits, fsMounts, networkConfig } from './mapping.js';
import { NetworkSimulator } from './network/index.js';
import { WorldRandom } from './random.js';
import { type ActiveEffect, ChaosScheduler, type HistoryEntry, type InjectedEvent } from './scheduler.js';
import { WorldScorer } from './scoring.js';
import type { WorldSavedState } from './snapshot/format.js';

export type { WorldLifecycle } from '../machines/world.machine.js';

/** What a world needs from its surroundings (the kernel, or a test). */
export interface WorldHost {
  /** Publish on the kernel's event bus. */
  emit(type: 'WORLD_EVENT' | 'RESOURCE_WARNING', data: Record<string, unknown>, sourceAgentId: number | null): void;
  /** Kill a member as by a crash (its supervisor's restart policy applies); false when it cannot be. */
  crash(agentId: number): boolean;
  /** Where failures of background work go (a corruption of a missing file...). */
  warn(details: Record<string, unknown>, message: string): void;
  /** The kernel's `worlds` supervisor: each world's lifecycle actor is its (temporary) child. */
  supervisor?(): AnyActorRef | undefined;
}

export interface Member {
  agent_id: number;
  name: string | null;
  joined_at: number;
}

export interface WorldOptions {
  name?: string | undefined;
  layerDir: string;
  host: WorldHost;
  /** Injected real time and timers for the world clock (tests drive them); default: the real ones. */
  time?: { realTime: RealTimeSource; timers: TimerFacility } | undefined;
}

/** Syscall names counted per world are the opcode table's: a small fixed set, so the map stays bounded. */
export interface SyscallCounts {
  total: number;
  by_name: Record<string, number>;
}

interface Parts {
  clock: WorldClock;
  random: WorldRandom;
  networkRandom: WorldRandom;
  network: NetworkSimulator;
  fs: WorldFs;
  scorer: WorldScorer;
}

const NETWORK_EFFECTS = new Set(['network_partition', 'latency_spike', 'packet_loss']);
const DISK_EFFECTS = new Set(['disk_full', 'disk_fail', 'slow_io']);
const LOAD_EFFECTS = new Set(['cpu_spike', 'memory_pressure']);
const CRASH_EFFECTS = new Set(['service_crash', 'agent_crash']);

export class World {
  readonly id: string;
  readonly name: string;
  readonly definition: WorldDefinition;
  readonly layerDir: string;
  readonly createdAt = Date.now();
  readonly clock: WorldClock;
  readonly random: WorldRandom;
  readonly network: NetworkSimulator;
  readonly fs: WorldFs;
  readonly scheduler: ChaosScheduler;
  readonly scorer: WorldScorer;
  /** The lifecycle (src/machines/world.machine.ts): it decides which transitions are legal, this class does them. */
  readonly #lifecycle: Actor<typeof worldMachine>;
  readonly #host: WorldHost;
  readonly #members = new Map<number, Member>();
  /** The network's own stream, kept here so a snapshot can save where it stands. */
  readonly #networkRandom: WorldRandom;
  /** Loads in force (cpu_spike, memory_pressure), as percents; 0 when none. */
  #load = { cpu_percent: 0, memory_percent: 0 };
  #crashes = { killed: 0, missed: 0 };
  #syscalls = { total: 0, byName: new Map<string, number>() };

  private constructor(
    id: string,
    name: string,
    definition: WorldDefinition,
    layerDir: string,
    parts: Parts,
    host: WorldHost,
    saved?: WorldSavedState,
  ) {
    this.id = id;
    this.name = name;
    this.definition = definition;
    this.layerDir = layerDir;
    this.clock = parts.clock;
    this.random = parts.random;
    this.#networkRandom = parts.networkRandom;
    this.network = parts.network;
    this.fs = parts.fs;
    this.scorer = parts.scorer;
    this.#host = host;
    const specs = chaosSpecs(definition.events);
    const options = {
      listener: (entry: HistoryEntry) => this.#apply(entry),
      onListenerError: (error: unknown, entry: HistoryEntry) =>
        host.warn({ world_id: id, seq: entry.seq, error: String(error) }, 'world effect failed'),
    };
    this.scheduler = saved
      ? ChaosScheduler.fromState(specs, saved.scheduler, this.clock, options)
      : new ChaosScheduler(specs, this.random, this.clock, options);
    const lifecycle = worldMachine.provide({
      actions: {
        startWorld: () => this.#startParts(),
        pauseWorld: () => this.clock.pause(),
        resumeWorld: () => this.clock.resume(),
        stopWorld: () => {
          this.scheduler.stop();
          this.#members.clear();
        },
      },
    });
    const parent = host.supervisor?.();
    this.#lifecycle = createActor(lifecycle, { id, input: { worldId: id, name }, ...(parent ? { parent } : {}) }).start();
    if (saved) {
      this.#crashes = { ...saved.metrics.crashes };
      this.#syscalls = { total: saved.metrics.syscalls.total, byName: new Map(Object.entries(saved.metrics.syscalls.by_name)) };
      // Members are not restored, so the scorer's targets leave now (their time so far still counts).
      for (const target of saved.scorer.targets) this.scorer.leave(target.agent_id);
    }
  }

  /**
   * Build a world (its layer directory is created here) without starting it. Throws what
   * the filesystem or network throw on a bad config; nothing is left running then.
   */
  static async create(id: string, definition: WorldDefinition, options: WorldOptions): Promise<World> {
    return World.#build(id, definition, options);
  }

  /**
   * A world continuing a snapshot (src/worlds/snapshot/): the same definition, clock,
   * random streams, chaos schedule, network, layer, metrics and score, with no members.
   * Call `start()` as for a new world; a world saved paused stays paused until `resume()`.
   * Throws what the parts throw on a state they refuse; the layer directory is the caller's to remove then.
   */
  static async restore(id: string, definition: WorldDefinition, saved: WorldSavedState, options: WorldOptions): Promise<World> {
    const world = await World.#build(id, definition, options, saved);
    await world.fs.importLayer(saved.layer);
    return world;
  }

  static async #build(id: string, definition: WorldDefinition, options: WorldOptions, saved?: WorldSavedState): Promise<World> {
    const name = options.name ?? definition.name;
    const random = WorldRandom.fromSeed(definition.seed);
    const clock = saved
      ? WorldClock.fromState(saved.clock, options.time ?? {})
      : new WorldClock({ timeScale: definition.time_scale, ...options.time });
    const scorer = new WorldScorer(definition.scoring, () => clock.now(), saved?.scorer);
    const networkRandom = saved ? WorldRandom.fromState(saved.random.network) : random.fork('network');
    const networkOptions = { worldName: name, clock, onRecord: scorer.request.bind(scorer) };
    const network = saved
      ? NetworkSimulator.fromState(networkConfig(definition), networkRandom, saved.network, networkOptions)
      : new NetworkSimulator(networkConfig(definition), networkRandom, networkOptions);
    const fs = await WorldFs.open(
      { layerDir: options.layerDir, mounts: fsMounts(definition), limits: fsLimits(definition) },
      { random: random.fork('fs') },
    );
    const parts = { clock, random, networkRandom, network, fs, scorer };
    return new World(id, name, definition, options.layerDir, parts, options.host, saved);
  }

  /** The lifecycle actor, for inspection: read it, drive the world through its methods. */
  get lifecycle(): AnyActorRef {
    return this.#lifecycle;
  }

  get state(): WorldLifecycle {
    return this.#lifecycle.getSnapshot().value;
  }

  get maxAgents(): number {
    return this.definition.resources.max_agents;
  }

  /** `resources.memory_limit` and `cpu_limit`: caps on each member's own limits (the metrics enforcer applies them). */
  memberLimits(): { memory_bytes: number | null; cpu_percent: number | null } {
    const { memory_limit, cpu_limit } = this.definition.resources;
    return { memory_bytes: memory_limit ?? null, cpu_percent: cpu_limit ?? null };
  }

  /**
   * creating → running: world time starts at 0 now, and the chaos schedule with it. A
   * restored world continues from its saved time (a world saved paused starts paused).
   */
  start(): void {
    this.#lifecycle.send({ type: 'world.start' });
    if (this.clock.paused) this.#lifecycle.send({ type: 'world.pause' });
  }

  #startParts(): void {
    this.scheduler.start();
    // Effects in force when the snapshot was taken: the disk and loads follow the active list (the network saved its own).
    const active = this.scheduler.activeEffects();
    this.#reconcileDisk(active);
    this.#reconcileLoad(active, undefined);
  }

  /** running → paused: world time stands still, and no chaos fires. */
  pause(): void {
    this.#lifecycle.send({ type: 'world.pause' });
  }

  resume(): void {
    this.#lifecycle.send({ type: 'world.resume' });
  }

  /** Stop every timer and remove the world's own layer (off the event loop). Members are dropped. */
  async destroy(): Promise<void> {
    if (this.state === 'destroyed') return;
    this.#lifecycle.send({ type: 'world.destroy' });
    await rm(this.layerDir, { recursive: true, force: true });
  }

  members(): Member[] {
    return [...this.#members.values()];
  }

  hasMember(agentId: number): boolean {
    return this.#members.has(agentId);
  }

  /** Returns false when the world is full (`resources.max_agents`); joining twice is a no-op. */
  join(agentId: number, name: string | null): boolean {
    if (this.#members.has(agentId)) return true;
    if (this.#members.size >= this.maxAgents) return false;
    this.#members.set(agentId, { agent_id: agentId, name, joined_at: Date.now() });
    this.scorer.join(agentId);
    return true;
  }

  leave(agentId: number): boolean {
    this.scorer.leave(agentId);
    return this.#members.delete(agentId);
  }

  /** A member's process ended (a crash, before any restart): it is down for uptime until it runs again. */
  memberExited(agentId: number): void {
    if (this.#members.has(agentId)) this.scorer.down(agentId);
  }

  /** A member's process (re)started. */
  memberStarted(agentId: number): void {
    if (this.#members.has(agentId)) this.scorer.up(agentId);
  }

  /** One syscall a member made while in the world (the router's hot path: no allocation once a name is seen). */
  countSyscall(name: string): void {
    this.#syscalls.total++;
    this.#syscalls.byName.set(name, (this.#syscalls.byName.get(name) ?? 0) + 1);
  }

  syscallCounts(): SyscallCounts {
    return { total: this.#syscalls.total, by_name: Object.fromEntries(this.#syscalls.byName) };
  }

  /** Everything WORLD_SNAPSHOT saves but the definition and identity (see src/worlds/snapshot/format.ts). */
  async saveState(): Promise<WorldSavedState> {
    const layer = await this.fs.exportLayer();
    return {
      clock: this.clock.state(),
      random: { network: [...this.#networkRandom.state()] },
      scheduler: this.scheduler.state(),
      network: this.network.state(),
      layer,
      metrics: { crashes: { ...this.#crashes }, syscalls: this.syscallCounts() },
      scorer: this.scorer.state(),
      members: this.members(),
    };
  }

  /** WORLD_EVENT: start an effect now (`heal` ends them all). Returns the entries recorded. */
  inject(event: InjectedEvent): HistoryEntry[] {
    return this.scheduler.inject(event);
  }

  /** WORLD_STATE's figures, with the running score (null without `scoring`) and the members' syscall counts. */
  snapshot(): Record<string, unknown> {
    return {
      world_id: this.id,
      name: this.name,
      description: this.definition.description,
      status: this.state,
      seed: this.definition.seed,
      created_at: this.createdAt,
      agents: this.members(),
      agent_count: this.#members.size,
      max_agents: this.maxAgents,
      clock: {
        world_ms: this.clock.now(),
        agent_ms: this.clock.agentNow(),
        time_scale: this.clock.timeScale,
        paused: this.clock.paused,
        skew_ms: this.clock.skewMs,
      },
      active_effects: this.scheduler.activeEffects(),
      history: this.scheduler.history(),
      upcoming: this.scheduler.upcoming(),
      filesystem: this.fs.usage(),
      network: { counters: this.network.counters(), effects: this.network.effects() },
      metrics: { ...this.#load, crashes: this.#crashes.killed, crash_targets_missed: this.#crashes.missed },
      syscalls: this.syscallCounts(),
      score: this.scorer.score(),
    };
  }

  /** The scheduler's listener: apply the change, then publish it. */
  #apply(entry: HistoryEntry): void {
    const active = this.scheduler.activeEffects();
    if (NETWORK_EFFECTS.has(entry.type)) this.#reconcileNetwork(active);
    else if (DISK_EFFECTS.has(entry.type)) this.#reconcileDisk(active);
    else if (entry.type === 'clock_skew') this.clock.setSkew(sumOf(active, 'clock_skew'));
    else if (LOAD_EFFECTS.has(entry.type)) this.#reconcileLoad(active, entry);
    else if (entry.kind === 'fired' && CRASH_EFFECTS.has(entry.type)) this.#crashTargets(entry);
    else if (entry.kind === 'fired' && entry.type === 'file_corruption') this.#corrupt(entry);
    this.#host.emit('WORLD_EVENT', { world_id: this.id, world: this.name, ...entry }, null);
  }

  #reconcileNetwork(active: ActiveEffect[]): void {
    this.network.heal();
    for (const effect of active) {
      const until = effect.ends_world_ms ?? undefined;
      if (effect.type === 'network_partition') this.network.partition(targetsOf(effect) ?? 'all', until);
      else if (effect.type === 'latency_spike') this.network.addLatency(numberOf(effect), until);
      else if (effect.type === 'packet_loss') this.network.setPacketLoss(numberOf(effect), until);
    }
  }

  #reconcileDisk(active: ActiveEffect[]): void {
    this.fs.setEffects({
      diskFull: active.some((effect) => effect.type === 'disk_full'),
      diskFail: active.some((effect) => effect.type === 'disk_fail'),
      slowIoMs: sumOf(active, 'slow_io'),
    });
  }

  /** The strongest load in force counts; each new one warns every member. */
  #reconcileLoad(active: ActiveEffect[], entry: HistoryEntry | undefined): void {
    const strongest = (type: string) => Math.max(0, ...active.filter((effect) => effect.type === type).map(numberOf));
    this.#load = { cpu_percent: strongest('cpu_spike'), memory_percent: strongest('memory_pressure') };
    if (entry?.kind !== 'fired') return;
    const resource = entry.type === 'cpu_spike' ? 'cpu' : 'memory';
    for (const member of this.#members.values()) {
      this.#host.emit(
        'RESOURCE_WARNING',
        { agent_id: member.agent_id, resource, percent: numberOf(entry), world_id: this.id, world: this.name, source: 'world' },
        member.agent_id,
      );
    }
  }

  /** Targets name members by id or by name; a target that is no member is counted as missed. */
  #crashTargets(entry: HistoryEntry): void {
    for (const target of targetsOf(entry) ?? []) {
      const hits = [...this.#members.values()].filter((member) => String(member.agent_id) === target || member.name === target);
      if (hits.length === 0) this.#crashes.missed++;
      for (const member of hits) {
        if (this.#host.crash(member.agent_id)) {
          this.#crashes.killed++;
          this.scorer.crashed(member.agent_id);
        } else this.#crashes.missed++;
      }
    }
  }

  /** file_corruption's targets are world paths; corrupting runs in the background, in the fs's own order. */
  #corrupt(entry: HistoryEntry): void {
    for (const path of targetsOf(entry) ?? []) {
      this.fs
        .corrupt(path)
        .catch((error: unknown) =>
          this.#host.warn({ world_id: this.id, path, error: String(error) }, 'file_corruption could not corrupt its target'),
        );
    }
  }
}

function targetsOf(effect: { target?: string | undefined; targets?: string[] | undefined }): string[] | undefined {
  if (effect.targets) return effect.targets;
  return effect.target === undefined ? undefined : [effect.target];
}

function numberOf(effect: { value?: unknown }): number {
  return typeof effect.value === 'number' && Number.isFinite(effect.value) ? effect.value : 0;
}

function sumOf(active: readonly ActiveEffect[], type: string): number {
  return active.filter((effect) => effect.type === type).reduce((sum, effect) => sum + numberOf(effect), 0);
}
