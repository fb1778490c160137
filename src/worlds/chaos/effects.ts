/**
 * The catalogue of chaos effect types (worlds.md §4). The scheduler only decides *when*
 * an effect starts and ends; the world actor applies it (kills the target, partitions
 * the network, fills the disk...). Listed once here so the definition schema, the
 * scheduler and WORLD_EVENT all accept the same names.
 */
import { z } from 'zod';

export const EffectType = z.enum([
  'service_crash',
  'agent_crash',
  'network_partition',
  'latency_spike',
  'packet_loss',
  'cpu_spike',
  'memory_pressure',
  'disk_full',
  'disk_fail',
  'slow_io',
  'file_corruption',
  'clock_skew',
]);
export type EffectType = z.infer<typeof EffectType>;

/**
 * Effects that happen once and leave nothing to heal: a crash kills its target (the
 * supervisor's restart policy takes over), a corruption rewrites a file. They are
 * recorded in the history but never enter the set of active effects, so `duration`
 * means nothing for them.
 */
const INSTANT: ReadonlySet<EffectType> = new Set<EffectType>(['service_crash', 'agent_crash', 'file_corruption']);

export function isInstantEffect(type: EffectType): boolean {
  return INSTANT.has(type);
}
