/**
 * Chaos effects on a world's network (worlds.md §4): network_partition, latency_spike,
 * packet_loss. Each effect may end at a world time (`until_ms`, from an event's
 * `duration`); expired ones are dropped lazily when read, so no timer is needed, and
 * `heal()` ends them all. Bounded: a world holds at most MAX_EFFECTS of each kind; adding
 * one more drops the oldest (a chaos schedule firing forever must not grow memory).
 */
import { z } from 'zod';

export const MAX_EFFECTS = 64;

const WorldMs = z.number().finite().min(0);

export const PartitionEffect = z.strictObject({
  /** Agent ids or names that lose the network, or `all` for the whole world. */
  targets: z.union([z.literal('all'), z.array(z.string().min(1))]),
  until_ms: WorldMs.optional(),
});
export type PartitionEffect = z.infer<typeof PartitionEffect>;

export const LatencySpike = z.strictObject({ ms: z.number().finite().min(0), until_ms: WorldMs.optional() });
export type LatencySpike = z.infer<typeof LatencySpike>;

export const PacketLossEffect = z.strictObject({ rate: z.number().min(0).max(1), until_ms: WorldMs.optional() });
export type PacketLossEffect = z.infer<typeof PacketLossEffect>;

export const NetworkEffectsState = z.strictObject({
  partitions: z.array(PartitionEffect).max(MAX_EFFECTS),
  latency_spikes: z.array(LatencySpike).max(MAX_EFFECTS),
  /** Overrides the configured `packet_loss` while in force; the latest one set wins. */
  packet_loss: PacketLossEffect.optional(),
});
export type NetworkEffectsState = z.infer<typeof NetworkEffectsState>;

const live = (effect: { until_ms?: number | undefined }, nowMs: number) => effect.until_ms === undefined || nowMs < effect.until_ms;

function pushBounded<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_EFFECTS) list.shift();
}

export class NetworkEffects {
  #partitions: PartitionEffect[] = [];
  #spikes: LatencySpike[] = [];
  #packetLoss: PacketLossEffect | undefined;

  partition(targets: readonly string[] | 'all', untilMs?: number): void {
    pushBounded(this.#partitions, { targets: targets === 'all' ? 'all' : [...targets], until_ms: untilMs });
  }

  addLatency(ms: number, untilMs?: number): void {
    pushBounded(this.#spikes, { ms, until_ms: untilMs });
  }

  setPacketLoss(rate: number, untilMs?: number): void {
    this.#packetLoss = { rate, until_ms: untilMs };
  }

  heal(): void {
    this.#partitions = [];
    this.#spikes = [];
    this.#packetLoss = undefined;
  }

  /** Drops effects whose time has passed. */
  prune(nowMs: number): void {
    this.#partitions = this.#partitions.filter((effect) => live(effect, nowMs));
    this.#spikes = this.#spikes.filter((effect) => live(effect, nowMs));
    if (this.#packetLoss && !live(this.#packetLoss, nowMs)) this.#packetLoss = undefined;
  }

  /** Whether an agent (by id or name) is cut off now. Call prune() first. */
  isPartitioned(agentId: string, agentName: string | undefined): boolean {
    return this.#partitions.some(
      ({ targets }) => targets === 'all' || targets.includes(agentId) || (agentName !== undefined && targets.includes(agentName)),
    );
  }

  /** Extra latency of every spike in force (spikes stack). */
  extraLatencyMs(): number {
    return this.#spikes.reduce((sum, spike) => sum + spike.ms, 0);
  }

  packetLoss(configured: number): number {
    return this.#packetLoss?.rate ?? configured;
  }

  state(): NetworkEffectsState {
    return structuredClone({ partitions: this.#partitions, latency_spikes: this.#spikes, packet_loss: this.#packetLoss });
  }

  static fromState(state: NetworkEffectsState): NetworkEffects {
    const effects = new NetworkEffects();
    const copy = structuredClone(state);
    effects.#partitions = copy.partitions;
    effects.#spikes = copy.latency_spikes;
    effects.#packetLoss = copy.packet_loss;
    return effects;
  }
}
