/**
 * How the CLI shows a world: WORLD_STATE's figures as a summary, its running score per
 * objective, and the event history as a timeline. The state is read through a loose view
 * schema: the CLI renders what it knows and tolerates what a newer kernel adds (or a
 * kernel without scoring leaves out).
 */
import { z } from 'zod';
import { table } from '../output.js';

const Targets = {
  target: z.string().optional(),
  targets: z.array(z.string()).optional(),
  value: z.unknown().optional(),
};

export const HistoryView = z.looseObject({
  seq: z.number(),
  kind: z.string(),
  type: z.string(),
  world_ms: z.number(),
  source: z.string().optional(),
  reason: z.string().optional(),
  ...Targets,
});
export type HistoryView = z.infer<typeof HistoryView>;

const EffectView = z.looseObject({
  effect_id: z.number(),
  type: z.string(),
  started_world_ms: z.number(),
  ends_world_ms: z.number().nullable().optional(),
  ...Targets,
});

export const ObjectiveView = z.looseObject({
  name: z.string(),
  weight: z.number().optional(),
  share: z.number().optional(),
  score: z.number().nullable().optional(),
  detail: z.unknown().optional(),
});

export const ScoreView = z.looseObject({ total: z.number().nullable().optional(), objectives: z.array(ObjectiveView).default([]) });
export type ScoreView = z.infer<typeof ScoreView>;

export const WorldStateView = z.looseObject({
  world_id: z.string(),
  name: z.string(),
  status: z.string().optional(),
  seed: z.number().optional(),
  agents: z.array(z.looseObject({ agent_id: z.number(), name: z.string().nullable().optional() })).default([]),
  max_agents: z.number().optional(),
  clock: z
    .looseObject({
      world_ms: z.number(),
      time_scale: z.number(),
      paused: z.boolean().optional(),
      skew_ms: z.number().optional(),
    })
    .optional(),
  active_effects: z.array(EffectView).default([]),
  history: z.array(HistoryView).default([]),
  filesystem: z.record(z.string(), z.unknown()).optional(),
  network: z.looseObject({ counters: z.record(z.string(), z.unknown()).optional() }).optional(),
  syscalls: z
    .looseObject({ total: z.number(), by_name: z.record(z.string(), z.number()).default({}) })
    .nullable()
    .optional(),
  score: ScoreView.nullable().optional(),
});
export type WorldStateView = z.infer<typeof WorldStateView>;

/** The state as the view sees it; a reply that is not a world state at all is an error naming the field. */
export function viewState(state: unknown): WorldStateView {
  const parsed = WorldStateView.safeParse(state);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`unexpected WORLD_STATE reply: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** World time for people: "+0s", "+1m05s", "+2h03m", with tenths under ten seconds. */
export function formatWorldTime(ms: number): string {
  if (ms < 10_000) return `+${(Math.floor(ms / 100) / 10).toString()}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `+${s}s`;
  if (s < 3600) return `+${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `+${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function targetsOf(entry: { target?: string | undefined; targets?: string[] | undefined }): string {
  if (entry.target !== undefined) return entry.target;
  if (entry.targets !== undefined && entry.targets.length > 0) return entry.targets.join(',');
  return '(world)';
}

function formatValue(value: unknown): string {
  return value === undefined || value === null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function renderTimeline(history: readonly HistoryView[]): string {
  if (history.length === 0) return '(no events yet)';
  return table(
    ['world time', 'event', 'target', 'value', 'what', 'source'],
    history.map((entry) => [
      formatWorldTime(entry.world_ms),
      entry.type,
      targetsOf(entry),
      formatValue(entry.value),
      entry.kind === 'healed' && entry.reason ? `healed (${entry.reason})` : entry.kind,
      entry.source ?? '-',
    ]),
  );
}

function detailOf(detail: unknown): string {
  if (detail === undefined || detail === null) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail as Record<string, unknown>)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? round(value) : formatValue(value)}`)
    .join(' ');
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Per objective: name, weight (its share of the total), score, detail; then the total. */
export function renderScore(score: ScoreView | null | undefined): string {
  if (score === undefined) return 'score: not reported by this kernel';
  if (score === null) return 'score: none (the definition has no scoring objectives)';
  const rows = score.objectives.map((objective) => [
    objective.name,
    objective.share !== undefined
      ? `${round(objective.weight ?? 0)} (${Math.round(objective.share * 100)}%)`
      : round(objective.weight ?? 0),
    objective.score === undefined || objective.score === null ? '-' : round(objective.score),
    detailOf(objective.detail),
  ]);
  const total = score.total === undefined || score.total === null ? '-' : round(score.total);
  return `${table(['objective', 'weight', 'score', 'detail'], rows)}\ntotal score: ${total} / 100`;
}

export function scoreLabel(score: ScoreView | null | undefined): string {
  return score?.total === undefined || score.total === null ? '-' : `${Math.round(score.total)}/100`;
}

function counters(record: Record<string, unknown> | undefined): string {
  if (!record) return '-';
  const parts = Object.entries(record).filter(([, value]) => typeof value !== 'object' || value === null);
  return parts.length === 0 ? '-' : parts.map(([key, value]) => `${key}=${formatValue(value)}`).join(' ');
}

const RECENT_HISTORY = 10;

/** `agentos world state`: one screen about the world. */
export function renderState(state: WorldStateView): string {
  const lines: string[] = [];
  const clock = state.clock;
  lines.push(`${state.world_id} (${state.name})  status ${state.status ?? '-'}  seed ${state.seed ?? '-'}`);
  if (clock) {
    const extras = [clock.paused ? 'paused' : '', clock.skew_ms ? `skew ${clock.skew_ms} ms` : ''].filter(Boolean).join(', ');
    lines.push(`clock: ${formatWorldTime(clock.world_ms)} world time at ×${clock.time_scale}${extras ? ` (${extras})` : ''}`);
  }
  const members = state.agents.map((agent) => (agent.name ? `${agent.agent_id} (${agent.name})` : String(agent.agent_id)));
  lines.push(`members: ${state.agents.length}/${state.max_agents ?? '-'}${members.length > 0 ? `  ${members.join(', ')}` : ''}`);
  lines.push('', 'active effects:');
  lines.push(
    state.active_effects.length === 0
      ? '(none)'
      : table(
          ['effect', 'type', 'target', 'value', 'since', 'until'],
          state.active_effects.map((effect) => [
            String(effect.effect_id),
            effect.type,
            targetsOf(effect),
            formatValue(effect.value),
            formatWorldTime(effect.started_world_ms),
            effect.ends_world_ms === null || effect.ends_world_ms === undefined ? 'healed' : formatWorldTime(effect.ends_world_ms),
          ]),
        ),
  );
  const recent = state.history.slice(-RECENT_HISTORY);
  lines.push('', `recent history (${recent.length} of ${state.history.length}):`, renderTimeline(recent));
  lines.push('', `filesystem: ${counters(state.filesystem)}`);
  lines.push(`network: ${counters(state.network?.counters)}`);
  if (state.syscalls) {
    const top = Object.entries(state.syscalls.by_name)
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name}=${count}`)
      .join(' ');
    lines.push(`syscalls: ${state.syscalls.total}${top ? `  ${top}` : ''}`);
  }
  lines.push('', renderScore(state.score));
  return lines.join('\n');
}
