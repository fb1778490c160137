/** Which limits a request names, for the sandbox to apply. */
import type { Limits } from '../protocol/schemas/limits.js';

export { Limits, MIB, TIB } from '../protocol/schemas/limits.js';

export type LimitName = keyof Limits;
export const LIMIT_NAMES: readonly LimitName[] = ['memory_bytes', 'max_pids', 'cpu_percent'];

/** The limits actually present, in a fixed order (so reports read the same every time). */
export function requestedLimits(limits: Limits | undefined): [LimitName, number][] {
  if (!limits) return [];
  const out: [LimitName, number][] = [];
  for (const name of LIMIT_NAMES) {
    const value = limits[name];
    if (value !== undefined) out.push([name, value]);
  }
  return out;
}
