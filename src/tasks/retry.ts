/**
 * Retry arithmetic, as pure functions: how long a failed attempt waits, whether another
 * attempt is allowed, and which agent of a role takes a subtask.
 */
import type { RetryPolicy } from '../protocol/schemas/tasks.js';

/** backoff_ms × 2^(attempt-1), capped at max_backoff_ms; `attempt` is the one that failed (1-based). */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  // 2^30 already exceeds any cap (max_backoff_ms ≤ 1 h), and keeps the power finite.
  const factor = 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(policy.backoff_ms * factor, policy.max_backoff_ms);
}

/** After `attempts` attempts (all failed so far), may another one start? */
export function hasRetriesLeft(policy: RetryPolicy, attempts: number): boolean {
  return attempts < 1 + policy.max_retries;
}

/**
 * The agent of a role to take a subtask: the least loaded (fewest subtasks held), ties
 * broken round-robin from `cursor`; `avoid` (the agent that just failed it) only when
 * it is the only one. Returns the agent and the cursor for the next pick.
 */
export function pickAgent(
  candidates: readonly number[],
  load: (agentId: number) => number,
  cursor: number,
  avoid: number | null,
): { agentId: number; cursor: number } | undefined {
  const pool = candidates.length > 1 && avoid !== null ? candidates.filter((id) => id !== avoid) : candidates;
  if (pool.length === 0) return undefined;
  let best = -1;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (let step = 0; step < pool.length; step++) {
    const i = (cursor + step) % pool.length;
    const held = load(pool[i] as number);
    if (held < bestLoad) {
      bestLoad = held;
      best = i;
    }
  }
  return { agentId: pool[best] as number, cursor: best + 1 };
}
