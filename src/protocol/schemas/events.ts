/** Event types of protocol.md §7 and the shape every event has. */
import { z } from 'zod';
import { ok } from './common.js';

export const EVENT_TYPES = [
  'AGENT_SPAWNED',
  'AGENT_EXITED',
  'AGENT_PAUSED',
  'AGENT_RESUMED',
  'AGENT_RESTARTING',
  'AGENT_ESCALATED',
  'FILE_CHANGED',
  'MESSAGE_RECEIVED',
  'STATE_CHANGED',
  'SYSCALL_BLOCKED',
  'RESOURCE_WARNING',
  'QUOTA_EXCEEDED',
  'TASK_UPDATED',
  'WORLD_EVENT',
  'TUNNEL_STATE',
  'CUSTOM',
] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

export const KernelEvent = z.object({
  id: z.number().int(),
  type: EventType,
  data: z.record(z.string(), z.unknown()),
  source_agent_id: z.number().int().nullable(),
  timestamp: z.number(),
});
export type KernelEvent = z.infer<typeof KernelEvent>;

/** A type SUBSCRIBE accepts: one of §7, or `*` for every type. */
export const SubscribableType = z.union([EventType, z.literal('*')], {
  error: `expected an event type of protocol.md §7 (${EVENT_TYPES.join(', ')}) or "*" for all; custom types arrive as CUSTOM`,
});
export type SubscribableType = z.infer<typeof SubscribableType>;

/**
 * Only events whose `data.agent_id` and/or `source_agent_id` match are delivered.
 * `path` (FILE_CHANGED only, and required for it): a glob of the paths to watch.
 */
export const EventFilter = z.strictObject(
  {
    agent_id: z.number().int().nonnegative().optional(),
    source_agent_id: z.number().int().nonnegative().optional(),
    path: z
      .string()
      .min(1, 'expected filter.path: a non-empty glob')
      .max(4096, 'expected filter.path of at most 4096 characters')
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'expected filter fields "agent_id", "source_agent_id" and/or "path" only'
        : 'expected filter: an object with "agent_id", "source_agent_id" and/or "path"',
  },
);
export type EventFilter = z.infer<typeof EventFilter>;

/** `from` is accepted as another name of `to` (older clients send it). */
function alias(from: string, to: string) {
  return (value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const record = value as Record<string, unknown>;
    return record[to] === undefined && record[from] !== undefined ? { ...record, [to]: record[from] } : record;
  };
}

/** One type or a list of them. */
const TypeList = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z
    .array(SubscribableType, { error: 'expected event_types: a list of event types (or "*")' })
    .min(1, 'expected at least one event type')
    .max(64, 'expected at most 64 event types'),
);

export const SubscribeRequest = z.preprocess(
  alias('events', 'event_types'),
  z.object({
    event_types: TypeList,
    filter: EventFilter.optional(),
    /** WebSocket only: push each event as `{"push":"EVENT"}` instead of queueing it for POLL_EVENTS (default true). */
    push: z.boolean().default(true),
  }),
);
export type SubscribeRequest = z.output<typeof SubscribeRequest>;

export const SubscribeReply = z.object({
  ...ok,
  /** Every type the agent is now subscribed to (this request's and earlier ones). */
  subscribed: z.array(SubscribableType),
  /** Whether events are pushed to this connection (WebSocket) instead of queued for POLL_EVENTS. */
  push: z.boolean(),
});

export const UnsubscribeRequest = z
  .preprocess(
    alias('events', 'event_types'),
    z.object({
      event_types: TypeList.optional(),
      all: z.boolean().default(false),
    }),
  )
  .refine((r) => r.all || r.event_types !== undefined, {
    message: 'expected "event_types" (a list of event types) or "all": true',
    path: ['event_types'],
  });
export type UnsubscribeRequest = z.output<typeof UnsubscribeRequest>;

export const UnsubscribeReply = z.object({
  ...ok,
  /** The types removed. */
  unsubscribed: z.array(SubscribableType),
  /** The types left; none means the subscription (and its queue) ended. */
  subscribed: z.array(SubscribableType),
});

export const MAX_POLL_EVENTS = 1000;
export const MAX_EVENT_WAIT_MS = 60_000;

export const PollEventsRequest = z.object({
  max: z.number().int().positive('expected max above 0').max(MAX_POLL_EVENTS, `expected max at most ${MAX_POLL_EVENTS}`).default(100),
  wait_ms: z
    .number()
    .int()
    .nonnegative('expected wait_ms of 0 or more')
    .max(MAX_EVENT_WAIT_MS, `expected wait_ms at most ${MAX_EVENT_WAIT_MS}`)
    .default(0),
});
export type PollEventsRequest = z.output<typeof PollEventsRequest>;

export const PollEventsReply = z.object({
  ...ok,
  events: z.array(KernelEvent),
  count: z.number().int(),
  /** Events lost since the previous POLL_EVENTS (the queue was full, or a slow push refused them). */
  dropped: z.number().int(),
});

/** The JSON size of one EMIT's data: it may sit in every subscriber's queue. */
export const MAX_EMIT_DATA_BYTES = 64 * 1024;

export const EmitRequest = z.preprocess(
  alias('event', 'event_type'),
  z.object({
    event_type: z
      .string({ error: 'expected event_type (a string)' })
      .regex(
        /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/,
        'expected an event type of 1-128 letters, digits, "_", ".", ":" or "-", starting with a letter',
      ),
    data: z.record(z.string(), z.unknown(), { error: 'expected data: a JSON object' }).default({}),
    /** Deliver to the emitter too when it is subscribed (default false, like BROADCAST). */
    include_self: z.boolean().default(false),
  }),
);
export type EmitRequest = z.output<typeof EmitRequest>;

export const EmitReply = z.object({
  ...ok,
  /** How many subscribers the event reached. */
  delivered_to: z.number().int(),
  event_id: z.number().int(),
  /** Every emitted event is delivered as CUSTOM (another name is in `data.custom_type`). */
  type: z.literal('CUSTOM'),
});
