/** SEND, RECV, BROADCAST and REGISTER: messages between agents (protocol.md §5). */
import { z } from 'zod';
import { AgentName } from './agents.js';
import { ok } from './common.js';
import { Role } from './tasks.js';

/** The JSON size of one message: it sits in a mailbox until RECV takes it. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_RECV = 1000;
export const MAX_RECV_WAIT_MS = 60_000;

const MessageId = z.number({ error: 'expected reply_to: a message id (a number)' }).int().positive('expected reply_to above 0');
const Body = z.unknown().refine((value) => value !== undefined, { message: 'expected message (any JSON value)' });

/** `to` may also be a name (then it is read as `to_name`). */
function toNameAlias(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  return typeof record.to === 'string' && record.to_name === undefined ? { ...record, to: undefined, to_name: record.to } : record;
}

export const SendRequest = z
  .preprocess(
    toNameAlias,
    z.object({
      to: z.number({ error: 'expected to: an agent id (a number) or name' }).int().nonnegative().optional(),
      to_name: z.string({ error: 'expected to_name (a string)' }).min(1, 'expected to_name, got an empty string').optional(),
      message: Body,
      reply_to: MessageId.optional(),
    }),
  )
  .refine((r) => r.to !== undefined || r.to_name !== undefined, {
    message: 'expected "to" (an agent id) or "to_name"',
    path: ['to'],
  });
export type SendRequest = z.output<typeof SendRequest>;

export const SendReply = z.object({ ...ok, delivered_to: z.number().int(), message_id: z.number().int() });

export const RecvRequest = z.object({
  max: z.number().int().positive('expected max above 0').max(MAX_RECV, `expected max at most ${MAX_RECV}`).default(10),
  wait_ms: z
    .number()
    .int()
    .nonnegative('expected wait_ms of 0 or more')
    .max(MAX_RECV_WAIT_MS, `expected wait_ms at most ${MAX_RECV_WAIT_MS}`)
    .default(0),
});
export type RecvRequest = z.output<typeof RecvRequest>;

export const Message = z.object({
  id: z.number().int(),
  from: z.number().int(),
  from_name: z.string().nullable(),
  message: z.unknown(),
  reply_to: z.number().int().optional(),
  timestamp: z.number(),
});
export type Message = z.infer<typeof Message>;

export const RecvReply = z.object({ ...ok, messages: z.array(Message), count: z.number().int() });

export const BroadcastRequest = z.object({
  message: Body,
  include_self: z.boolean().default(false),
});
export type BroadcastRequest = z.output<typeof BroadcastRequest>;

export const BroadcastReply = z.object({
  ...ok,
  delivered_count: z.number().int(),
  /** Agents whose mailbox was full: they did not get this message. */
  full: z.array(z.number().int()),
});

/**
 * A unique `name`, a `role` (many agents per role: the task engine assigns subtasks that
 * ask for it to them; it ends with the agent), or both; at least one.
 */
export const RegisterRequest = z
  .object({ name: AgentName.optional(), role: Role.optional() })
  .refine((request) => request.name !== undefined || request.role !== undefined, {
    message: 'expected "name", "role" or both',
    path: ['name'],
  });
export type RegisterRequest = z.output<typeof RegisterRequest>;

/** `name` is the agent's name (null when it has none and only took a role); `role` when one was given. */
export const RegisterReply = z.object({
  ...ok,
  agent_id: z.number().int(),
  name: z.string().nullable(),
  role: z.string().optional(),
});
