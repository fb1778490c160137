/** Requests and replies of the state store (protocol.md §5: STORE 0x30 to INCR 0x35). */
import { z } from 'zod';
import { ok } from './common.js';

export const STATE_SCOPES = ['global', 'agent', 'session'] as const;
export const StateScope = z.enum(STATE_SCOPES, { error: 'expected scope "global", "agent" or "session"' });
export type StateScope = z.infer<typeof StateScope>;

/** The scope when a request names none: private to the caller. */
export const DEFAULT_STATE_SCOPE: StateScope = 'agent';
export const MAX_STATE_KEY_LENGTH = 512;
/** Ten years: long enough for anything, small enough that `now + ttl` stays exact. */
export const MAX_STATE_TTL_S = 10 * 365 * 24 * 3600;
export const MAX_KEYS_LIMIT = 10_000;

const Key = z
  .string({ error: 'expected key (a string)' })
  .min(1, 'expected key, got an empty string')
  .max(MAX_STATE_KEY_LENGTH, `expected key of at most ${MAX_STATE_KEY_LENGTH} characters`);

/** Any JSON value but null (null is what FETCH answers for a missing key). */
const Value = z.unknown().refine((value) => value !== undefined && value !== null, {
  message: 'expected value: any JSON value but null (DELETE removes a key)',
});

const Ttl = z
  .number({ error: 'expected ttl: a number of seconds' })
  .positive('expected ttl above 0 seconds')
  .max(MAX_STATE_TTL_S, `expected ttl at most ${MAX_STATE_TTL_S} seconds`);

const scope = StateScope.default(DEFAULT_STATE_SCOPE);

export const StoreRequest = z.object({ key: Key, value: Value, scope, ttl: Ttl.optional() });
export type StoreRequest = z.output<typeof StoreRequest>;

export const FetchRequest = z.object({ key: Key, scope });
export type FetchRequest = z.output<typeof FetchRequest>;

export const DeleteRequest = z.object({ key: Key, scope });
export type DeleteRequest = z.output<typeof DeleteRequest>;

export const KeysRequest = z.object({
  prefix: z.string({ error: 'expected prefix (a string)' }).max(MAX_STATE_KEY_LENGTH).default(''),
  scope,
  limit: z.number().int().positive('expected limit above 0').max(MAX_KEYS_LIMIT, `expected limit at most ${MAX_KEYS_LIMIT}`).default(1000),
});
export type KeysRequest = z.output<typeof KeysRequest>;

export const CasRequest = z.object({
  key: Key,
  /** null: the key must not exist. */
  expected: z.unknown().transform((value) => value ?? null),
  value: Value,
  scope,
  ttl: Ttl.optional(),
});
export type CasRequest = z.output<typeof CasRequest>;

export const IncrRequest = z.object({
  key: Key,
  by: z.number({ error: 'expected by: a number' }).finite('expected by: a finite number').default(1),
  scope,
});
export type IncrRequest = z.output<typeof IncrRequest>;

// Replies (src/syscalls/state.ts). `expires_in`: seconds left, present only for a key with a TTL.
const ExpiresIn = z.number().nonnegative().optional();

export const StoreReply = z.object({ ...ok, key: z.string(), scope: StateScope, expires_in: ExpiresIn });

/** A missing (or expired) key is `exists: false, value: null`, not an error. */
export const FetchReply = z.object({
  ...ok,
  key: z.string(),
  exists: z.boolean(),
  value: z.unknown(),
  scope: StateScope,
  expires_in: ExpiresIn,
});

export const DeleteReply = z.object({ ...ok, key: z.string(), scope: StateScope, deleted: z.boolean() });

export const KeysReply = z.object({ ...ok, keys: z.array(z.string()), count: z.number().int(), truncated: z.boolean(), scope: StateScope });

/** A mismatch is not this reply but CONFLICT, carrying `swapped: false`, `exists` and the current `value`. */
export const CasReply = z.object({ ...ok, swapped: z.literal(true), key: z.string(), scope: StateScope, value: z.unknown() });

export const IncrReply = z.object({ ...ok, key: z.string(), scope: StateScope, value: z.number() });
