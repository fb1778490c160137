/**
 * Why a child ended, in the three kinds OTP's restart rules care about. Everything a
 * supervisor decides about one exit goes through this value, so the classification
 * below is the only place that reads exit codes and signals.
 */
import { z } from 'zod';

export const ExitReason = z.discriminatedUnion('kind', [
  /** Ended by itself with exit code 0 (OTP `normal`). */
  z.object({ kind: z.literal('normal') }),
  /** Stopped on purpose: by its supervisor, or by a KILL (OTP `shutdown`). */
  z.object({ kind: z.literal('shutdown') }),
  /** Anything else: a non-zero code, a signal nobody asked for, or an error. */
  z.object({
    kind: z.literal('crash'),
    exitCode: z.number().int().optional(),
    signal: z.string().optional(),
    error: z.string().optional(),
  }),
]);
export type ExitReason = z.infer<typeof ExitReason>;

export interface ObservedExit {
  exitCode?: number | null;
  signal?: string | null;
  error?: string;
  /** True when the supervisor or a KILL asked the child to stop before it ended. */
  stopRequested: boolean;
}

/**
 * Classify an observed exit. A requested stop wins over the code: a child killed on
 * purpose often dies by signal, and that must not read as a crash (a transient child
 * would then be restarted against its supervisor's wish).
 */
export function exitReasonOf(exit: ObservedExit): ExitReason {
  if (exit.stopRequested) return { kind: 'shutdown' };
  const signal = exit.signal ?? undefined;
  if (exit.exitCode === 0 && signal === undefined && exit.error === undefined) return { kind: 'normal' };
  return {
    kind: 'crash',
    ...(exit.exitCode != null && { exitCode: exit.exitCode }),
    ...(signal !== undefined && { signal }),
    ...(exit.error !== undefined && { error: exit.error }),
  };
}
