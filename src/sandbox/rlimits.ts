/**
 * The fallback when no cgroup can hold a limit: per-process rlimits, set by util-linux
 * `prlimit` on itself just before it execs the launch (node cannot setrlimit a child).
 * Weaker than a cgroup, and the report says how.
 */
import type { NotApplied } from './isolation.js';
import type { LimitName } from './limits.js';
import { findExecutable, probe } from './probe.js';

export interface RlimitPlan {
  /** argv to put before the launch (empty when nothing applies). */
  prefix: string[];
  applied: string[];
  notApplied: NotApplied[];
  appliedLimits: LimitName[];
}

const lookups = new Map<string, Promise<string | null>>();

/** The prlimit executable if it runs (`prlimit --version`), looked up once per name/path. */
export function findPrlimit(options: { path?: string } = {}): Promise<string | null> {
  const name = options.path ?? 'prlimit';
  let found = lookups.get(name);
  if (!found) {
    found = findExecutable(name).then(async (path) => (path && (await probe(path, ['--version'])).ok ? path : null));
    lookups.set(name, found);
  }
  return found;
}

/**
 * The prlimit options for `limits`. `uid` is who the agent runs as: RLIMIT_NPROC is not
 * enforced for root, and otherwise counts every process of that user, not the agent's.
 */
export function rlimitPlan(limits: readonly [LimitName, number][], prlimit: string | null, uid = process.getuid?.() ?? 0): RlimitPlan {
  const plan: RlimitPlan = { prefix: [], applied: [], notApplied: [], appliedLimits: [] };
  if (limits.length === 0) return plan;
  const options: string[] = [];
  for (const [name, value] of limits) {
    if (!prlimit) {
      plan.notApplied.push({ what: name, why: 'prlimit (util-linux) is not installed' });
      continue;
    }
    switch (name) {
      case 'memory_bytes':
        options.push(`--as=${value}`);
        plan.applied.push(`memory_bytes=${value} via rlimit RLIMIT_AS (address space of each process, not their total)`);
        plan.appliedLimits.push(name);
        break;
      case 'max_pids':
        if (uid === 0) {
          plan.notApplied.push({ what: name, why: 'RLIMIT_NPROC is not enforced for root' });
        } else {
          options.push(`--nproc=${value}`);
          plan.applied.push(`max_pids=${value} via rlimit RLIMIT_NPROC (counts all processes of uid ${uid})`);
          plan.appliedLimits.push(name);
        }
        break;
      case 'cpu_percent':
        plan.notApplied.push({ what: name, why: 'rlimits cannot cap a CPU share (RLIMIT_CPU only bounds total CPU seconds)' });
        break;
    }
  }
  if (options.length > 0) plan.prefix = [prlimit!, ...options, '--'];
  return plan;
}
