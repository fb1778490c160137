/** Record and replay (protocol.md §8): the requests of RECORD_* and REPLAY_*, and a recording's shape. */
import { z } from 'zod';
import { Level, Permissions } from './permissions.js';

export const MAX_RECORDING_ENTRIES = 1_000_000;

export const RecordStartRequest = z.object({
  /** THINK, HTTP (and DOWNLOAD), EXEC are recorded only when asked: their payloads can be large or sensitive. */
  include_think: z.boolean().default(false),
  include_http: z.boolean().default(false),
  include_exec: z.boolean().default(true),
  /** Only these agents' calls (ids); every agent's when absent. */
  filter_agents: z.array(z.number().int().positive()).max(10_000).optional(),
  max_entries: z
    .number()
    .int()
    .positive('expected max_entries above 0')
    .max(MAX_RECORDING_ENTRIES, `expected max_entries at most ${MAX_RECORDING_ENTRIES}`)
    .default(10_000),
});
export type RecordStartRequest = z.output<typeof RecordStartRequest>;

export const RecordStatusRequest = z.object({ export: z.boolean().default(false) });

/** A recording made before `can_tunnel` existed reads as without it (deny by default). */
const RecordedPermissions = Permissions.extend({ can_tunnel: z.boolean().default(false) });

export const RecordedAgent = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  level: Level,
  permissions: RecordedPermissions,
});
export type RecordedAgent = z.output<typeof RecordedAgent>;

export const RecordedEntry = z.object({
  seq: z.number().int().nonnegative(),
  agent_id: z.number().int(),
  op: z.string(),
  opcode: z.number().int().min(0).max(255),
  /** The validated request; NOOP's bytes as `{base64}`. */
  request: z.unknown(),
  reply: z.unknown(),
  /** Milliseconds since the recording started. */
  at_ms: z.number().nonnegative(),
  duration_ms: z.number().nonnegative(),
});
export type RecordedEntry = z.output<typeof RecordedEntry>;

export const Recording = z.object({
  version: z.literal(1),
  started_at: z.number(),
  stopped_at: z.number().nullable(),
  options: RecordStartRequest,
  /** Every recorded agent's rights when it was first seen: a replay acts with them. */
  agents: z.array(RecordedAgent).max(100_000),
  entries: z.array(RecordedEntry).max(MAX_RECORDING_ENTRIES),
  /** Calls left out because max_entries was reached. */
  overflow: z.number().int().nonnegative(),
});
export type Recording = z.output<typeof Recording>;

export const ReplayStartRequest = z.object({ recording: Recording });

// Replies

export const RecorderState = z.enum(['idle', 'recording', 'stopped']);
export const ReplayState = z.enum(['idle', 'running', 'done', 'failed']);

/** RECORD_START: the recording now running, with its options (defaults filled in). */
export const RecordStartReply = z.object({ success: z.literal(true), state: RecorderState, options: RecordStartRequest });

/** RECORD_STOP: where the recording stands (times in epoch ms; null while idle, or still running). */
export const RecordStopReply = z.object({
  success: z.literal(true),
  state: RecorderState,
  entry_count: z.number().int().nonnegative(),
  overflow: z.number().int().nonnegative(),
  started_at: z.number().nullable(),
  stopped_at: z.number().nullable(),
});

/** RECORD_STATUS: as RECORD_STOP; with `export`, the recording too (null while idle). */
export const RecordStatusReply = RecordStopReply.extend({ recording: Recording.nullable().optional() });

export const ReplayStartReply = z.object({ success: z.literal(true), state: z.literal('running'), entries_total: z.number().int() });

/** A field where a replayed reply differs from the recorded one. */
export const Difference = z.object({ path: z.string(), expected: z.unknown(), actual: z.unknown() });
export const Divergence = z.object({ seq: z.number().int(), op: z.string(), agent_id: z.number().int(), differences: z.array(Difference) });

export const ReplayStatusReply = z.object({
  success: z.literal(true),
  state: ReplayState,
  /** 0..1 */
  progress: z.number(),
  entries_total: z.number().int(),
  entries_replayed: z.number().int(),
  entries_skipped: z.number().int(),
  /** Every divergence; `divergences` keeps the first 1000. */
  divergence_count: z.number().int(),
  divergences: z.array(Divergence),
  /** Why a failed replay stopped. */
  error: z.string().optional(),
});
