/**
 * The `isolation` field of a SPAWN reply: what protects the agent, stated truthfully.
 * A caller asking for a sandbox or limits learns what it got and, for anything it did
 * not get, why, instead of assuming.
 */
import { z } from 'zod';

export const NotApplied = z.object({
  /** The protection or limit, e.g. "cpu_percent" or "no network". */
  what: z.string(),
  /** Why it could not be applied on this machine. */
  why: z.string(),
});
export type NotApplied = z.infer<typeof NotApplied>;

export const Mechanism = z.enum(['bubblewrap', 'none']);
export type Mechanism = z.infer<typeof Mechanism>;

export const IsolationReport = z.object({
  /** True only when the agent really runs inside a sandbox. */
  sandboxed: z.boolean(),
  mechanism: Mechanism,
  /** Whether the agent can reach the network (true whenever no sandbox isolates it). */
  network: z.boolean(),
  /** Human-readable protections and limits in force, e.g. "memory_bytes=67108864 via cgroup v1 memory". */
  applied: z.array(z.string()),
  not_applied: z.array(NotApplied),
});
export type IsolationReport = z.infer<typeof IsolationReport>;
