/**
 * The restart rules, each stated once (OTP sup_princ.md, "Restart Strategy" and
 * `restart`). Machines ask these functions and never re-derive a rule themselves.
 */
import type { ExitReason } from './exit-reason.js';
import type { RestartType, Strategy } from './spec.js';

/**
 * Whether a child that ended for `reason` is restarted. Permanent: always. Transient:
 * only after an abnormal exit (not `normal`, not `shutdown`). Temporary: never.
 */
export function shouldRestart(restart: RestartType, reason: ExitReason): boolean {
  switch (restart) {
    case 'permanent':
      return true;
    case 'transient':
      return reason.kind === 'crash';
    case 'temporary':
      return false;
  }
}

/**
 * Indexes (in start order) of the children a strategy touches when the child at
 * `failedIndex` is to be restarted: one_for_one and simple_one_for_one only that child,
 * one_for_all every child, rest_for_one that child and every child started after it.
 */
export function affected(strategy: Strategy, childIds: readonly string[], failedIndex: number): number[] {
  if (!Number.isInteger(failedIndex) || failedIndex < 0 || failedIndex >= childIds.length) {
    throw new RangeError(`failedIndex ${failedIndex} is outside the ${childIds.length} children`);
  }
  switch (strategy) {
    case 'one_for_one':
    case 'simple_one_for_one':
      return [failedIndex];
    case 'one_for_all':
      return childIds.map((_, index) => index);
    case 'rest_for_one':
      return childIds.slice(failedIndex).map((_, offset) => failedIndex + offset);
  }
}

export interface RestartPlan {
  /** Running siblings to stop, in reverse start order; the failed child is already down. */
  stop: number[];
  /** Children to start again, in start order. */
  start: number[];
}

/**
 * What a supervisor does after the child at `failedIndex` ended for `reason`.
 *
 * Only a restart of the failed child triggers the strategy: when `shouldRestart` says
 * no, siblings are left alone under every strategy (OTP just forgets the child). A
 * temporary sibling stopped on the failed child's account is not started again. An
 * empty `start` means no restart happened, so nothing counts towards intensity; a
 * non-empty one counts as a single restart however many children it names.
 */
export function restartPlan(
  strategy: Strategy,
  children: readonly { id: string; restart: RestartType }[],
  failedIndex: number,
  reason: ExitReason,
): RestartPlan {
  const ids = children.map((child) => child.id);
  const touched = affected(strategy, ids, failedIndex);
  const failed = children[failedIndex]!;
  if (!shouldRestart(failed.restart, reason)) return { stop: [], start: [] };
  return {
    stop: touched.filter((index) => index !== failedIndex).reverse(),
    start: touched.filter((index) => index === failedIndex || children[index]!.restart !== 'temporary'),
  };
}
