/** WORLD_CREATE to WORLD_STATE (protocol.md §5, worlds.md): the wire shapes of the world syscalls. */
import { z } from 'zod';
import { nonEmpty, ok } from './common.js';

/** The definition's own size cap applies to `yaml`; the object form is bounded by the frame. */
const MAX_YAML_CHARS = 1024 * 1024;

export const WorldId = nonEmpty('a world id such as "world-1"').max(64, 'expected a world id of at most 64 characters');

const AgentId = z
  .number({ error: 'expected an agent id (a number)' })
  .int('expected a whole agent id')
  .positive('expected an agent id ≥ 1');

const WorldName = z
  .string({ error: 'expected a world name (a string)' })
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, 'expected a name of letters, digits, "-" and "_" (at most 64, starting with a letter or digit)');

/**
 * Exactly one source of the definition: a preset name (or a definition file path the
 * caller may read), an object, or YAML text. `params` fill `${NAME}` placeholders.
 */
export const WorldCreateRequest = z
  .object({
    name: WorldName.optional(),
    preset: nonEmpty('a preset name such as "dev"').optional(),
    config: z.record(z.string(), z.unknown(), { error: 'expected "config" to be an object (a world definition)' }).optional(),
    yaml: z
      .string({ error: 'expected "yaml" to be the text of a world definition' })
      .min(1, 'expected "yaml" to be the text of a world definition, got an empty string')
      .max(MAX_YAML_CHARS, `expected at most ${MAX_YAML_CHARS} characters of YAML`)
      .optional(),
    params: z.record(z.string(), z.string({ error: 'expected parameter values to be strings' })).optional(),
  })
  .superRefine((request, ctx) => {
    const given = (['preset', 'config', 'yaml'] as const).filter((key) => request[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1] ?? 'preset'],
        message:
          given.length === 0
            ? 'expected one of "preset" (e.g. "dev"), "config" (an object) or "yaml" (text)'
            : `expected only one of "preset", "config" or "yaml", got ${given.join(' and ')}`,
      });
    }
  });
export type WorldCreateRequest = z.infer<typeof WorldCreateRequest>;

export const WorldCreateReply = z.object({ ...ok, world_id: z.string(), name: z.string() });

export const WorldDestroyRequest = z.object({
  world_id: WorldId,
  /** false: refused (CONFLICT) while the world has members; true: they are let go. */
  force: z.boolean({ error: 'expected "force" to be true or false' }).default(false),
});

export const WorldTarget = z.object({ world_id: WorldId });

export const WorldJoinRequest = z.object({ world_id: WorldId, agent_id: AgentId.optional() });

export const WorldLeaveRequest = z.object({ world_id: WorldId.optional(), agent_id: AgentId.optional() });

/** The parameters an injected event may carry; `duration` as in a definition ("30s") or ms. */
export const WorldEventParams = z.strictObject(
  {
    target: z.string({ error: 'expected a target name' }).min(1).optional(),
    targets: z.array(z.string({ error: 'expected target names' }).min(1)).optional(),
    value: z.number({ error: 'expected a number' }).optional(),
    duration: z.union([z.string(), z.number()], { error: 'expected a duration such as "30s" or a number of ms' }).optional(),
  },
  { error: 'expected "params" to be an object (target, targets, value, duration)' },
);

/** `event_type` (also `type`) and `params` (also `config`), as protocol.md §5 allows both names. */
export const WorldEventRequest = z
  .object({
    world_id: WorldId,
    event_type: nonEmpty('an event type such as "latency_spike" or "heal"').optional(),
    type: nonEmpty('an event type such as "latency_spike" or "heal"').optional(),
    params: WorldEventParams.optional(),
    config: WorldEventParams.optional(),
  })
  .superRefine((request, ctx) => {
    if (request.event_type === undefined && request.type === undefined) {
      ctx.addIssue({ code: 'custom', path: ['event_type'], message: 'expected "event_type" (or "type"), e.g. "latency_spike" or "heal"' });
    }
    if (request.params !== undefined && request.config !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['config'], message: 'give "params" or its alias "config", not both' });
    }
  })
  .transform(({ world_id, event_type, type, params, config }) => ({
    world_id,
    event_type: (event_type ?? type) as string,
    params: params ?? config ?? {},
  }));
export type WorldEventRequest = z.infer<typeof WorldEventRequest>;

export const WorldDestroyReply = z.object({ ...ok, world_id: z.string(), destroyed: z.literal(true), members_released: z.number().int() });

/** Who created the world (its spawners and the admin also control it); null when made without a caller. */
export const WorldOwnerSummary = z.object({ agent_id: z.number().int(), name: z.string().nullable() }).nullable();

export const WorldSummary = z.object({
  world_id: z.string(),
  name: z.string(),
  owner: WorldOwnerSummary,
  status: z.enum(['creating', 'running', 'paused', 'destroyed']),
  agents: z.number().int(),
  max_agents: z.number().int(),
  time_scale: z.number(),
  created_at: z.number(),
});
export const WorldListReply = z.object({ ...ok, worlds: z.array(WorldSummary), count: z.number().int() });

export const WorldMembershipReply = z.object({ ...ok, world_id: z.string(), agent_id: z.number().int() });

export const WorldEventReply = z.object({
  ...ok,
  world_id: z.string(),
  /** The history `seq` of what the event recorded; null when nothing happened (a heal with nothing active). */
  event_id: z.number().int().nullable(),
  effect_id: z.number().int().nullable().optional(),
  /** heal only: how many effects it ended. */
  healed: z.number().int().optional(),
});

/** WORLD_STATE's figures (src/worlds/world.ts `snapshot()`), documented in docs/protocol.md, Worlds. */
export const WorldStateReply = z.object({ ...ok, world_id: z.string(), state: z.record(z.string(), z.unknown()) });

/** WORLD_SNAPSHOT: `path` (a host path the caller may write) or the default under the data directory. */
export const WorldSnapshotRequest = z.object({
  world_id: WorldId,
  path: nonEmpty('a file path for the snapshot').max(4096, 'expected a path of at most 4096 characters').optional(),
});
export type WorldSnapshotRequest = z.infer<typeof WorldSnapshotRequest>;

export const WorldSnapshotReply = z.object({
  ...ok,
  world_id: z.string(),
  snapshot_id: z.string(),
  path: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
});

/**
 * WORLD_RESTORE: exactly one of `snapshot_path` (a file the caller may read) or `snapshot`
 * (the file's bytes, base64). `world_id`: an existing world without members that the
 * restored one replaces (it takes that world's name); `name` overrides the name.
 */
export const WorldRestoreRequest = z
  .object({
    snapshot_path: nonEmpty('the path of a snapshot file').max(4096, 'expected a path of at most 4096 characters').optional(),
    snapshot: z.base64({ error: 'expected "snapshot" to be a snapshot file\'s bytes in base64' }).optional(),
    world_id: WorldId.optional(),
    name: WorldName.optional(),
  })
  .superRefine((request, ctx) => {
    if ((request.snapshot_path === undefined) === (request.snapshot === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['snapshot_path'],
        message: 'expected exactly one of "snapshot_path" (a file) or "snapshot" (the file in base64)',
      });
    }
  });
export type WorldRestoreRequest = z.infer<typeof WorldRestoreRequest>;

export const WorldRestoreReply = z.object({
  ...ok,
  world_id: z.string(),
  name: z.string(),
  snapshot_id: z.string(),
  /** The world the snapshot was taken of (it may be gone). */
  restored_from: z.string(),
  /** The world replaced (with `world_id`), if any. */
  replaced: z.string().nullable(),
});
