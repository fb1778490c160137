/**
 * One world (worlds.md): its definition, seeded randomness, clock, chaos scheduler,
 * filesystem and network, composed, plus its members (agent ids) and the effects of
 * chaos on them. The world knows nothing of the kernel: what it needs (publishing
 * events, crashing an agent) comes in as a `WorldHost`, so it can be driven in tests.
 *
 * Lifecycle: a plain `state` field, `creating → running ⇄ paused → destroyed`. It is
 * small enough that a machine would only restate it; every transition is one method.
 *
 * Effects are *reconciled*, not toggled: when any network, disk, skew or load effect
 * starts or ends, the world recomputes that part from the scheduler's active effects.
 * So one effect healing early never undoes another still in force, and `heal` needs no
 * bookkeeping of its own.
 */
import { rm } from 'node:fs/promises';
import { WorldClock } from './clock.js';
import type { WorldDefinition } from './definition/index.js';
import { WorldFs } from './fs/index.js';
import { chaosSpecs, fsLimits, fsMounts, networkConfig, type ScheduledHeal } from './mapping.js';
import { NetworkSimulator } from './network/index.js';
import { WorldRandom } from './random.js';
import { type ActiveEffect, ChaosScheduler, type HistoryEntry, type InjectedEvent } from './scheduler.js';

export type WorldLifecycle = 'creating' | 'running' | 'paused' | 'destroyed';

/** What a world needs from its surroundings (the kernel, or a test). */
export interface WorldHost {
  /** Publish on the kernel's event bus. */
  emit(type: 'WORLD_EVENT' | 'RESOURCE_WARNING', data: Record<string, unknown>, sourceAgentId: number | null): void;
  /** Kill a member as by a crash (its supervisor's restart policy applies); false when it cannot be. */
  crash(agentId: number): boolean;
  /** Where failures of background work go (a corruption of a missing file...). */
  warn(details: Record<string, unknown>, message: string): void;
}

export interface Member {
  agent_id: number;
  name: string | null;
  joined_at: number;
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
  #state: WorldLifecycle = 'creating';
  readonly #host: WorldHost;
  readonly #members = new Map<number, Member>();
  /** Scheduled heals (the scheduler schedules effects only): due world times, one timer for the earliest. */
  #heals: Array<ScheduledHeal & { due_ms: number }>;
  #healTimer: unknown;
  #healTimerSet = false;
  #offClock: (() => void) | undefined;
  /** Loads in force (cpu_spike, memory_pressure), as percents; 0 when none. */
  #load = { cpu_percent: 0, memory_percent: 0 };
  #crashes = { killed: 0, missed: 0 };
  /** Indexes of `at: random` heals in the definition: not run (yet), reported in state(). */
  readonly #ignoredEvents: number[];

  private constructor(
    id: string,
    name: string,
    definition: WorldDefinition,
    layerDir: string,
    parts: { clock: WorldClock; random: WorldRandom; network: NetworkSimulator; fs: WorldFs },
    host: WorldHost,
  ) {
    this.id = id;
    this.name = name;
    this.definition = definition;
    this.layerDir = layerDir;
    this.clock = parts.clock;
    this.random = parts.random;
    this.network = parts.network;
    this.fs = parts.fs;
    this.#host = host;
    const { specs, heals, randomHeals } = chaosSpecs(definition.events);
    this.#heals = heals.map((heal) => ({ ...heal, due_ms: heal.at_ms }));
    this.#ignoredEvents = randomHeals;
    this.scheduler = new ChaosScheduler(specs, this.random, this.clock, {
      listener: (entry) => this.#apply(entry),
      onListenerError: (error, entry) => host.warn({ world_id: id, seq: entry.seq, error: String(error) }, 'world effect failed'),
    });
  }

  /**
   * Build a world (its layer directory is created here) without starting it. Throws what
   * the filesystem or network throw on a bad config; nothing is left running then.
   */
  static async create(
    id: string,
    definition: WorldDefinition,
    options: { name?: string | undefined; layerDir: string; host: WorldHost },
  ): Promise<World> {
    const name = options.name ?? definition.name;
    const random = WorldRandom.fromSeed(definition.seed);
    const clock = new WorldClock({ timeScale: definition.time_scale });
    const network = new NetworkSimulator(networkConfig(definition), random.fork('network'), { worldName: name, clock });
    const fs = await WorldFs.open(
      { layerDir: options.layerDir, mounts: fsMounts(definition), limits: fsLimits(definition) },
      { random: random.fork('fs') },
    );
    return new World(id, name, definition, options.layerDir, { clock, random, network, fs }, options.host);
  }

  get state(): WorldLifecycle {
    return this.#state;
  }

  get maxAgents(): number {
    return this.definition.resources.max_agents;
  }

  /** creating → running: world time starts at 0 now, and the chaos schedule with it. */
  start(): void {
    if (this.#state !== 'creating') return;
    this.#state = 'running';
    this.scheduler.start();
    this.#offClock = this.clock.onChange((change) => {
      if (change !== 'skew') this.#planHeal();
    });
    this.#planHeal();
  }

  /** running → paused: world time stands still, and no chaos fires. */
  pause(): void {
    if (this.#state !== 'running') return;
    this.#state = 'paused';
    this.clock.pause();
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    this.clock.resume();
  }

  /** Stop every timer and remove the world's own layer (off the event loop). Members are dropped. */
  async destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    this.scheduler.stop();
    this.#clearHealTimer();
    this.#offClock?.();
    this.#members.clear();
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
    return true;
  }

  leave(agentId: number): boolean {
    return this.#members.delete(agentId);
  }

  /** WORLD_EVENT: start an effect now (`heal` ends them all). Returns the entries recorded. */
  inject(event: InjectedEvent): HistoryEntry[] {
    return this.scheduler.inject(event);
  }

  /** WORLD_STATE's figures. No score yet: scoring comes with snapshots and the CLI (issue 6). */
  snapshot(): Record<string, unknown> {
    return {
      world_id: this.id,
      name: this.name,
      description: this.definition.description,
      status: this.#state,
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
      ...(this.#ignoredEvents.length > 0 ? { ignored_events: this.#ignoredEvents.map((index) => `events[${index}]`) } : {}),
      filesystem: this.fs.usage(),
      network: { counters: this.network.counters(), effects: this.network.effects() },
      metrics: { ...this.#load, crashes: this.#crashes.killed, crash_targets_missed: this.#crashes.missed },
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
  #reconcileLoad(active: ActiveEffect[], entry: HistoryEntry): void {
    const strongest = (type: string) => Math.max(0, ...active.filter((effect) => effect.type === type).map(numberOf));
    this.#load = { cpu_percent: strongest('cpu_spike'), memory_percent: strongest('memory_pressure') };
    if (entry.kind !== 'fired') return;
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
        if (this.#host.crash(member.agent_id)) this.#crashes.killed++;
        else this.#crashes.missed++;
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

  #planHeal(): void {
    this.#clearHealTimer();
    if (this.#state === 'destroyed' || this.#heals.length === 0) return;
    const next = this.#heals.reduce((soonest, heal) => (heal.due_ms < soonest.due_ms ? heal : soonest));
    const delay = this.clock.realDelayUntil(next.due_ms);
    if (!Number.isFinite(delay)) return;
    this.#healTimerSet = true;
    this.#healTimer = this.clock.timers.setTimeout(() => {
      this.#healTimerSet = false;
      const now = this.clock.now();
      for (const heal of this.#heals.filter((candidate) => candidate.due_ms <= now + 0.001)) {
        if (heal.every_ms === undefined) this.#heals = this.#heals.filter((other) => other !== heal);
        else heal.due_ms += heal.every_ms;
        this.scheduler.heal();
      }
      this.#planHeal();
    }, delay);
  }

  #clearHealTimer(): void {
    if (!this.#healTimerSet) return;
    this.clock.timers.clearTimeout(this.#healTimer);
    this.#healTimerSet = false;
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
