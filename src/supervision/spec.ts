/**
 * Supervision specs as data, with OTP's names and defaults (sup_princ.md: `init/1`
 * returns `{SupFlags, ChildSpecs}`), plus our per-child `backoff`. Bad specs are refused
 * here, at parse time, naming the child, so a supervisor never starts half-configured.
 */
import { z } from 'zod';
import { type RestartPolicy, SpawnRequest } from '../protocol/schemas/agents.js';

/** OTP `restart()`: when a terminated child is restarted (see `shouldRestart`). */
export const RestartType = z.enum(['permanent', 'transient', 'temporary']);
export type RestartType = z.infer<typeof RestartType>;

/**
 * Delay before a restart; OTP restarts at once, we back off so a crash loop does not
 * spin a CPU. `initial_ms: 0` turns the delay off entirely (restart at once).
 */
export const Backoff = z
  .object({
    initial_ms: z.number().int().min(0, 'expected backoff.initial_ms >= 0').default(100),
    max_ms: z.number().int().min(0, 'expected backoff.max_ms >= 0').default(30_000),
    /** At least 1, so the delay never shrinks from one attempt to the next. */
    factor: z.number().min(1, 'expected backoff.factor >= 1').default(2),
    /** Fraction of the delay added or removed at random, so siblings do not restart in lockstep. */
    jitter: z.number().min(0, 'expected backoff.jitter in 0..1').max(1, 'expected backoff.jitter in 0..1').default(0.2),
    /** A child that stayed up this long is considered healthy: its next failure starts from `initial_ms`. */
    reset_after_ms: z.number().int().min(0, 'expected backoff.reset_after_ms >= 0').default(60_000),
  })
  .refine((b) => b.initial_ms <= b.max_ms, {
    message: 'expected backoff.initial_ms <= backoff.max_ms',
    path: ['initial_ms'],
  });
export type Backoff = z.infer<typeof Backoff>;
export type BackoffInput = z.input<typeof Backoff>;

/**
 * OTP `shutdown()`: `brutal_kill` kills at once; a number of ms asks the child to stop
 * and kills it when the budget runs out; `infinity` waits for as long as it takes.
 */
export const Shutdown = z.union([
  z.literal('brutal_kill'),
  z.literal('infinity'),
  z.number().int('expected shutdown as whole milliseconds').min(0, 'expected shutdown >= 0 ms'),
]);
export type Shutdown = z.infer<typeof Shutdown>;

/** OTP's default shutdown budget for a worker. */
export const DEFAULT_WORKER_SHUTDOWN_MS = 5000;

export const ChildSpec = z.object({
  id: z.string().min(1, 'expected a child id (a non-empty string)'),
  type: z.enum(['worker', 'supervisor']).default('worker'),
  restart: RestartType.default('permanent'),
  /** Absent: 5000 ms for a worker, `infinity` for a supervisor (see `shutdownOf`). */
  shutdown: Shutdown.optional(),
  /** Counts towards the supervisor's `auto_shutdown`; never on a permanent child. */
  significant: z.boolean().default(false),
  /** Absent: the supervisor's `backoff` (see `backoffOf`). */
  backoff: Backoff.optional(),
});
export type ChildSpec = z.infer<typeof ChildSpec>;
export type ChildSpecInput = z.input<typeof ChildSpec>;

/** The shutdown a child actually gets, filling in OTP's per-type default. */
export function shutdownOf(spec: Pick<ChildSpec, 'type' | 'shutdown'>): Shutdown {
  if (spec.shutdown !== undefined) return spec.shutdown;
  // A supervisor needs time to stop its own subtree; cutting it short can orphan grandchildren.
  return spec.type === 'supervisor' ? 'infinity' : DEFAULT_WORKER_SHUTDOWN_MS;
}

export const Strategy = z.enum(['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one']);
export type Strategy = z.infer<typeof Strategy>;

export const AutoShutdown = z.enum(['never', 'any_significant', 'all_significant']);
export type AutoShutdown = z.infer<typeof AutoShutdown>;

/**
 * Intensity arithmetic (OTP sup_princ.md, "Tuning the intensity and period"):
 *
 * - More than `intensity` restarts within `period` seconds and the supervisor stops its
 *   children and itself; its parent then decides (restart it, or give up in turn).
 * - `intensity` is the burst tolerated; `intensity / period` is the sustained rate
 *   allowed forever. 1/6, 5/30 and 10/60 share a sustained rate, but 1/6 will not allow
 *   even two quick attempts. A long period with a burst (5/3600) turns separate
 *   incidents an hour apart into one escalation.
 * - Intensities multiply across levels: a worker under a supervisor allowing 10, itself
 *   under one allowing 10, is restarted about 100 times before the top gives up. Keep
 *   upper levels low (about 3).
 * - Our default is OTP's, 1 restart per 5 s; SPAWN's default (5 per 300 s, see
 *   `flagsFromSpawn`) is a burst of 5 and one restart a minute sustained.
 */
export const SupervisorFlags = z.object({
  strategy: Strategy.default('one_for_one'),
  intensity: z.number().int('expected intensity as a whole number').min(0, 'expected intensity >= 0').default(1),
  /** Seconds, as in OTP. */
  period: z.number().positive('expected period as seconds above 0').default(5),
  auto_shutdown: AutoShutdown.default('never'),
  /** The backoff of every child that does not bring its own. */
  backoff: Backoff.prefault({}),
});
export type SupervisorFlags = z.infer<typeof SupervisorFlags>;
export type SupervisorFlagsInput = z.input<typeof SupervisorFlags>;

type SpecBody = SupervisorFlags & { children: ChildSpec[] };
type Problem = { message: string; path: (string | number)[] };

/** Every reason OTP (or we) would refuse the spec, each naming the child concerned. */
function specProblems(spec: SpecBody): Problem[] {
  const problems: Problem[] = [];
  const firstIndex = new Map<string, number>();
  spec.children.forEach((child, index) => {
    const at = (field: string): (string | number)[] => ['children', index, field];
    const name = `child "${child.id}"`;
    const seen = firstIndex.get(child.id);
    if (seen === undefined) firstIndex.set(child.id, index);
    else problems.push({ message: `${name}: duplicate id (first used at children[${seen}])`, path: at('id') });
    if (child.significant && child.restart === 'permanent') {
      // A permanent child is always restarted, so it can never end the work unit it would signal.
      problems.push({ message: `${name}: significant: true is invalid on a permanent child`, path: at('significant') });
    }
    if (child.significant && spec.auto_shutdown === 'never') {
      problems.push({
        message: `${name}: significant: true needs auto_shutdown any_significant or all_significant, not never`,
        path: at('significant'),
      });
    }
    if (child.type === 'supervisor' && shutdownOf(child) !== 'infinity') {
      // OTP warns the child may unlink its own children and be killed before stopping them.
      problems.push({
        message: `${name}: a supervisor child needs shutdown 'infinity' (got ${JSON.stringify(child.shutdown)}); a shorter budget can orphan its children`,
        path: at('shutdown'),
      });
    }
  });
  if (spec.strategy === 'simple_one_for_one' && spec.children.length !== 1) {
    const ids = spec.children.map((c) => `"${c.id}"`).join(', ');
    problems.push({
      message: `simple_one_for_one needs exactly one child spec (its template); got ${spec.children.length === 0 ? 'none' : ids}`,
      path: ['children'],
    });
  }
  return problems;
}

export const SupervisorSpec = SupervisorFlags.extend({ children: z.array(ChildSpec) }).superRefine((spec, ctx) => {
  for (const problem of specProblems(spec)) ctx.addIssue({ code: 'custom', input: spec, ...problem });
});
export type SupervisorSpec = z.infer<typeof SupervisorSpec>;
export type SupervisorSpecInput = z.input<typeof SupervisorSpec>;

/** The backoff a child actually gets: its own, else its supervisor's. */
export function backoffOf(child: Pick<ChildSpec, 'backoff'>, flags: Pick<SupervisorFlags, 'backoff'>): Backoff {
  return child.backoff ?? flags.backoff;
}

// Wire mapping: SPAWN speaks in restart policies and a window, the supervisor in OTP terms.

// SPAWN's `restart_policy` is defined once, with the wire schemas.
export { RestartPolicy } from '../protocol/schemas/agents.js';

const TYPE_OF_POLICY = { always: 'permanent', 'on-failure': 'transient', never: 'temporary' } as const satisfies Record<
  RestartPolicy,
  RestartType
>;
const POLICY_OF_TYPE = { permanent: 'always', transient: 'on-failure', temporary: 'never' } as const satisfies Record<
  RestartType,
  RestartPolicy
>;

export function restartTypeFromPolicy(policy: RestartPolicy): RestartType {
  return TYPE_OF_POLICY[policy];
}

export function restartPolicyFromType(type: RestartType): RestartPolicy {
  return POLICY_OF_TYPE[type];
}

/** SPAWN's restart limits: the wire schema's fields, with its defaults and bounds. */
export const SpawnRestartLimits = SpawnRequest.pick({ max_restarts: true, restart_window: true });
export type SpawnRestartLimits = z.infer<typeof SpawnRestartLimits>;
export type SpawnRestartLimitsInput = z.input<typeof SpawnRestartLimits>;

/** `max_restarts` within `restart_window` seconds is OTP's `intensity` within `period`. Throws a ZodError on bad input. */
export function flagsFromSpawn(input: SpawnRestartLimitsInput = {}): Pick<SupervisorFlags, 'intensity' | 'period'> {
  const limits = SpawnRestartLimits.parse(input);
  return { intensity: limits.max_restarts, period: limits.restart_window };
}
