/**
 * The relay's limits (docs/relay.md §Limits): one zod schema with every default, parsed
 * once when the relay starts, so the hot path never re-checks an option.
 */
import { z } from 'zod';

const ms = (what: string, min: number, max: number) =>
  z
    .number({ error: `expected ${what} as a number of milliseconds` })
    .int(`expected ${what} as a whole number of milliseconds`)
    .min(min, `expected ${what} of at least ${min} ms`)
    .max(max, `expected ${what} of at most ${max} ms`);

const count = (what: string, max: number) =>
  z
    .number({ error: `expected ${what} as a number` })
    .int(`expected ${what} as a whole number`)
    .positive(`expected ${what} above 0`)
    .max(max, `expected ${what} of at most ${max}`);

/** 1 MiB: a deployed script travels in one message, and agent scripts are small. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

export const RelayLimits = z
  .strictObject({
    /** Larger frames are refused with TOO_LARGE before any byte is parsed. */
    max_message_bytes: count('max_message_bytes', 64 * 1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES),
    /** A connection that has not authenticated by then is sent AUTH_TIMEOUT and closed. */
    auth_timeout_ms: ms('auth_timeout_ms', 100, 120_000).default(10_000),
    /** Each side pings this often when the link has been quiet. */
    heartbeat_interval_ms: ms('heartbeat_interval_ms', 100, 600_000).default(15_000),
    /**
     * Silence for this long closes the link. Three intervals, so one lost ping (or a
     * busy event loop) is not a disconnect.
     */
    heartbeat_timeout_ms: ms('heartbeat_timeout_ms', 200, 1_800_000).default(45_000),
    /** Token bucket per remote agent: steady calls per second ... */
    agent_calls_per_second: count('agent_calls_per_second', 100_000).default(50),
    /** ... and the burst it may spend at once. */
    agent_burst: count('agent_burst', 1_000_000).default(100),
    /**
     * Live sessions one agent token may hold at once (each is a remote agent on its
     * kernel); beyond it agent_auth is refused with RATE_LIMITED, so one leaked token cannot
     * fill a kernel's remote agents.
     */
    max_sessions_per_token: count('max_sessions_per_token', 100_000).default(64),
    /** Calls one agent may have awaiting a reply; beyond it a call is RATE_LIMITED. */
    agent_max_in_flight: count('agent_max_in_flight', 100_000).default(64),
    /**
     * Bytes queued towards one socket before the relay stops reading its source
     * (backpressure) instead of buffering without bound.
     */
    max_buffered_bytes: count('max_buffered_bytes', 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  })
  .superRefine((limits, ctx) => {
    if (limits.heartbeat_timeout_ms <= limits.heartbeat_interval_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat_timeout_ms'],
        message: `expected heartbeat_timeout_ms (${limits.heartbeat_timeout_ms}) above heartbeat_interval_ms (${limits.heartbeat_interval_ms})`,
      });
    }
    if (limits.agent_burst < limits.agent_calls_per_second) {
      ctx.addIssue({
        code: 'custom',
        path: ['agent_burst'],
        message: `expected agent_burst (${limits.agent_burst}) of at least agent_calls_per_second (${limits.agent_calls_per_second})`,
      });
    }
    // One full-size message must fit the send queue, or a legal message could never be sent.
    if (limits.max_buffered_bytes < limits.max_message_bytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_buffered_bytes'],
        message: `expected max_buffered_bytes (${limits.max_buffered_bytes}) of at least max_message_bytes (${limits.max_message_bytes})`,
      });
    }
  });
export type RelayLimits = z.infer<typeof RelayLimits>;
export type RelayLimitsInput = z.input<typeof RelayLimits>;

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze(RelayLimits.parse({}));
