/**
 * A world's running score (worlds.md §5), from what the world itself measures, in world
 * time. The formulas (documented in docs/protocol.md, Worlds):
 *
 * - uptime: the targets are the world's members. Each member's time in the world is
 *   split into up and down (down from a chaos crash or an exit until it runs again);
 *   share = Σ up / Σ time in the world, over every member the world has had. No member
 *   time yet: 1.
 * - response_time: each simulated request (blocked ones are refused, not timed) scores
 *   min(1, target_ms / latency_ms) (a latency of 0 scores 1); a failed request scores 0;
 *   share = the mean. No requests yet: 1.
 * - errors_handled: a failure is a chaos crash of a member or a failed simulated request.
 *   A crash is recovered when the member runs again; a failed request when the same agent
 *   later gets a response from the same host. share = recovered / failures; none: 1.
 *
 * Each objective scores share × 100; the total is Σ normalised weight × objective score.
 * Memory is bounded: running sums, one record per member, and at most MAX_OPEN_FAILURES
 * (agent, host) pairs awaiting recovery (the oldest drops out, unrecovered).
 */
import { z } from 'zod';
import type { ScoringDefinition } from './definition/index.js';
import type { RequestLogEntry } from './network/index.js';

export const MAX_OPEN_FAILURES = 1024;

const Count = z.number().int().min(0);
const Ms = z.number().finite().min(0);

const TargetState = z.strictObject({
  agent_id: z.number().int().min(1),
  up: z.boolean(),
  /** World ms since which `up` holds. */
  since_ms: Ms,
  up_ms: Ms,
  tracked_ms: Ms,
  /** Chaos crashes not yet followed by a restart. */
  crashes_open: Count,
});

export const ScorerState = z.strictObject({
  targets: z.array(TargetState),
  /** Time of members that have left. */
  retired: z.strictObject({ up_ms: Ms, tracked_ms: Ms }),
  response: z.strictObject({ requests: Count, points: z.number().finite().min(0), latency_ms: Ms }),
  errors: z.strictObject({ crashes: Count, crashes_recovered: Count, request_failures: Count, requests_recovered: Count }),
  /** "agent_id host" → failed requests awaiting a success; oldest first. */
  open_failures: z.array(z.tuple([z.string(), Count])).max(MAX_OPEN_FAILURES),
});
export type ScorerState = z.infer<typeof ScorerState>;

export const ObjectiveScore = z.object({
  name: z.string(),
  weight: z.number(),
  share: z.number(),
  score: z.number(),
  detail: z.record(z.string(), z.unknown()),
});
export const WorldScore = z.object({ total: z.number(), objectives: z.array(ObjectiveScore) });
export type WorldScore = z.infer<typeof WorldScore>;

type Target = z.infer<typeof TargetState>;

export class WorldScorer {
  readonly #objectives: ScoringDefinition['objectives'] | undefined;
  readonly #now: () => number;
  readonly #targets = new Map<number, Target>();
  #retired = { up_ms: 0, tracked_ms: 0 };
  #response = { requests: 0, points: 0, latency_ms: 0 };
  #errors = { crashes: 0, crashes_recovered: 0, request_failures: 0, requests_recovered: 0 };
  readonly #open = new Map<string, number>();

  /** `now`: the world's clock (world ms). No `scoring`: measured all the same, but `score()` is null. */
  constructor(scoring: ScoringDefinition | undefined, now: () => number, state?: ScorerState) {
    this.#objectives = scoring?.objectives;
    this.#now = now;
    if (!state) return;
    const saved = ScorerState.parse(state);
    for (const target of saved.targets) this.#targets.set(target.agent_id, { ...target });
    this.#retired = { ...saved.retired };
    this.#response = { ...saved.response };
    this.#errors = { ...saved.errors };
    for (const [key, count] of saved.open_failures) this.#open.set(key, count);
  }

  join(agentId: number, running = true): void {
    if (this.#targets.has(agentId)) return;
    this.#targets.set(agentId, { agent_id: agentId, up: running, since_ms: this.#now(), up_ms: 0, tracked_ms: 0, crashes_open: 0 });
  }

  leave(agentId: number): void {
    const target = this.#targets.get(agentId);
    if (!target) return;
    this.#settle(target);
    this.#retired.up_ms += target.up_ms;
    this.#retired.tracked_ms += target.tracked_ms;
    this.#targets.delete(agentId);
  }

  /** The member stopped running (a crash, an exit before a restart). */
  down(agentId: number): void {
    const target = this.#targets.get(agentId);
    if (!target?.up) return;
    this.#settle(target);
    target.up = false;
  }

  /** The member runs (again): an open chaos crash of it counts as recovered. */
  up(agentId: number): void {
    const target = this.#targets.get(agentId);
    if (!target) return;
    this.#errors.crashes_recovered += target.crashes_open;
    target.crashes_open = 0;
    if (target.up) return;
    this.#settle(target);
    target.up = true;
  }

  /** Chaos killed the member: a failure to recover from, and down from now. */
  crashed(agentId: number): void {
    const target = this.#targets.get(agentId);
    if (!target) return;
    this.#errors.crashes++;
    target.crashes_open++;
    this.down(agentId);
  }

  /** One simulated request, as the network logged it. */
  request(entry: RequestLogEntry): void {
    if (entry.kind === 'blocked') return;
    const key = `${entry.agent_id} ${hostOf(entry.url)}`;
    if (entry.kind === 'fail') {
      this.#response.requests++;
      this.#response.latency_ms += entry.latency_ms;
      this.#errors.request_failures++;
      const open = this.#open.get(key) ?? 0;
      // Re-inserted so the map's order stays oldest-touched first.
      this.#open.delete(key);
      this.#open.set(key, open + 1);
      if (this.#open.size > MAX_OPEN_FAILURES) this.#open.delete(this.#open.keys().next().value as string);
      return;
    }
    const target = this.#objectives?.find((objective) => objective.name === 'response_time')?.target_ms;
    this.#response.requests++;
    this.#response.latency_ms += entry.latency_ms;
    this.#response.points += target === undefined || entry.latency_ms <= 0 ? 1 : Math.min(1, target / entry.latency_ms);
    const open = this.#open.get(key);
    if (open !== undefined) {
      this.#errors.requests_recovered += open;
      this.#open.delete(key);
    }
  }

  /** The running score, or null when the definition has no `scoring`. */
  score(): WorldScore | null {
    if (!this.#objectives) return null;
    const objectives = this.#objectives.map((objective) => {
      const { share: measured, detail } = this.#measure(objective.name, objective.target_ms);
      return { name: objective.name, weight: objective.weight, share: objective.share, score: round(measured * 100), detail };
    });
    const total = objectives.reduce((sum, objective) => sum + objective.share * objective.score, 0);
    return { total: round(total), objectives };
  }

  state(): ScorerState {
    return {
      targets: [...this.#targets.values()].map((target) => {
        const copy = { ...target };
        this.#settle(copy);
        return copy;
      }),
      retired: { ...this.#retired },
      response: { ...this.#response },
      errors: { ...this.#errors },
      open_failures: [...this.#open.entries()],
    };
  }

  #measure(name: string, targetMs: number | undefined): { share: number; detail: Record<string, unknown> } {
    if (name === 'uptime') {
      let up = this.#retired.up_ms;
      let tracked = this.#retired.tracked_ms;
      const down: number[] = [];
      for (const target of this.#targets.values()) {
        const copy = { ...target };
        this.#settle(copy);
        up += copy.up_ms;
        tracked += copy.tracked_ms;
        if (!copy.up) down.push(copy.agent_id);
      }
      return {
        share: tracked > 0 ? up / tracked : 1,
        detail: { up_ms: round(up), tracked_ms: round(tracked), targets: this.#targets.size, down_now: down },
      };
    }
    if (name === 'response_time') {
      const { requests, points, latency_ms } = this.#response;
      return {
        share: requests > 0 ? points / requests : 1,
        detail: { target_ms: targetMs ?? null, requests, mean_latency_ms: requests > 0 ? round(latency_ms / requests) : null },
      };
    }
    const errors = this.#errors;
    const failures = errors.crashes + errors.request_failures;
    const recovered = errors.crashes_recovered + errors.requests_recovered;
    return { share: failures > 0 ? recovered / failures : 1, detail: { failures, recovered, ...errors } };
  }

  /** Fold the time since `since_ms` into the target's sums. */
  #settle(target: Target): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - target.since_ms);
    target.tracked_ms += elapsed;
    if (target.up) target.up_ms += elapsed;
    target.since_ms = Math.max(target.since_ms, now);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 256);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
