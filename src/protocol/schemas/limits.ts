/**
 * Resource limits a spawn may ask for. Bounds are wide but finite: anything outside
 * them is a mistake in the request (INVALID_REQUEST), not a limit to try to apply.
 */
import { z } from 'zod';

export const MIB = 1024 * 1024;
export const TIB = 1024 * 1024 * MIB;

export const Limits = z.strictObject(
  {
    /** Memory of the whole agent (its processes together when a cgroup applies it). */
    memory_bytes: z
      .number({ error: 'expected a number of bytes' })
      .int('expected a whole number of bytes')
      .min(MIB, `expected at least 1 MiB (${MIB} bytes)`)
      .max(TIB, `expected at most 1 TiB (${TIB} bytes)`)
      .optional(),
    /** Processes and threads of the agent together. */
    max_pids: z
      .number({ error: 'expected a number of processes' })
      .int('expected a whole number of processes')
      .min(1, 'expected at least 1 process')
      .max(100_000, 'expected at most 100000 processes')
      .optional(),
    /** CPU share in percent of one core: 50 is half a core, 200 two full cores. */
    cpu_percent: z
      .number({ error: 'expected a percentage of one core (a number)' })
      .min(1, 'expected at least 1 (percent of one core)')
      .max(10_000, 'expected at most 10000 (100 cores)')
      .optional(),
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown limit ${issue.keys.map((k) => `"${k}"`).join(', ')}: expected only memory_bytes, max_pids and cpu_percent`;
      }
      if (issue.code === 'invalid_type') return 'expected an object of limits (memory_bytes, max_pids, cpu_percent)';
      return undefined;
    },
  },
);
export type Limits = z.infer<typeof Limits>;
