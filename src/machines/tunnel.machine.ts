/**
 * The kernel's outbound tunnel to a relay (issue 8, item 4), as a pure machine:
 * disconnected → connecting → authenticating → connected, and on any drop backing_off
 * (exponential delay, capped, full jitter) → connecting again. `stopped` is where
 * TUNNEL_DISCONNECT, or a relay that refuses our token, leaves it; it is idle rather than
 * final so a later TUNNEL_CONNECT can start over with the same actor.
 *
 * The socket is not here. `openSocket`, `sendAuth` and `closeSocket` are named no-op
 * actions that the effect layer provides (`tunnelMachine.provide({ actions })`), and it
 * reports back with the `socket.*`, `auth.*` and `heartbeat.timeout` events. Time and
 * randomness are injected through `createTunnelMachine`, and every wait is an XState
 * `after` delay read from context, so tests drive the machine with a `SimulatedClock`.
 */
import { assign, type SnapshotFrom, setup } from 'xstate';
import { z } from 'zod';

/**
 * Retry timing. Full jitter (AWS "Exponential Backoff and Jitter"): a whole fleet of
 * kernels dropped by one relay restart must not reconnect in lockstep. The default cap of
 * 1.5 s bounds the wait after a relay comes back, handshake included, under 2 s (issue 8:
 * reconnect within 2 s of a relay restart); a retry is one refused TCP connect while the relay is down, so a large fleet
 * that would rather wait longer raises `max_ms`.
 */
export const TunnelBackoff = z
  .object({
    initial_ms: z.number().int().min(1, 'expected backoff.initial_ms >= 1').default(250),
    max_ms: z.number().int().min(1, 'expected backoff.max_ms >= 1').default(1500),
    factor: z.number().min(1, 'expected backoff.factor >= 1').default(2),
  })
  .refine((b) => b.initial_ms <= b.max_ms, { message: 'expected backoff.initial_ms <= backoff.max_ms', path: ['initial_ms'] });
export type TunnelBackoff = z.infer<typeof TunnelBackoff>;

/** The actor's input: tuning only; where to connect arrives with `tunnel.connect`. */
export const TunnelInput = z.object({
  backoff: TunnelBackoff.prefault({}),
  /** Bounds connecting and authenticating each, so a relay that accepts TCP and then says
   * nothing cannot hold the tunnel forever. */
  handshake_timeout_ms: z.number().int().min(1, 'expected handshake_timeout_ms >= 1').default(10_000),
});
export type TunnelInput = z.infer<typeof TunnelInput>;
export type TunnelInputArg = z.input<typeof TunnelInput>;

export const TunnelConnect = z.object({
  type: z.literal('tunnel.connect'),
  relay_url: z.url({ protocol: /^wss?$/, error: 'expected relay_url as a ws:// or wss:// URL' }),
  machine_id: z.string().min(1, 'expected machine_id (a non-empty string)'),
});

export const TunnelEvent = z.discriminatedUnion('type', [
  TunnelConnect,
  z.object({ type: z.literal('socket.open') }),
  z.object({ type: z.literal('socket.error'), error: z.string() }),
  z.object({ type: z.literal('socket.close'), code: z.number().int(), reason: z.string() }),
  z.object({ type: z.literal('auth.ok') }),
  z.object({ type: z.literal('auth.error'), code: z.string(), error: z.string() }),
  z.object({ type: z.literal('heartbeat.timeout') }),
  z.object({ type: z.literal('tunnel.disconnect') }),
]);
export type TunnelEvent = z.infer<typeof TunnelEvent>;

/** Why the tunnel last went down; `code` is the relay's for auth errors, ours otherwise. */
export const TunnelError = z.object({ code: z.string(), error: z.string() });
export type TunnelError = z.infer<typeof TunnelError>;

export const TunnelState = z.enum(['disconnected', 'connecting', 'authenticating', 'connected', 'backing_off', 'stopped']);
export type TunnelState = z.infer<typeof TunnelState>;

/** Everything TUNNEL_STATUS reports. Times are ms since the epoch from the injected clock. */
export const TunnelStatus = z.object({
  state: TunnelState,
  relay_url: z.string().nullable(),
  machine_id: z.string().nullable(),
  /** Failed attempts in a row since the last successful authentication. */
  attempt: z.number().int().min(0),
  /** Retries made (backing_off → connecting) since the last `tunnel.connect`. */
  reconnects: z.number().int().min(0),
  last_error: TunnelError.nullable(),
  connected_since: z.number().nullable(),
  next_retry_at: z.number().nullable(),
});
export type TunnelStatus = z.infer<typeof TunnelStatus>;

export interface TunnelContext extends Omit<TunnelStatus, 'state'>, TunnelInput {
  /** The delay the current backing_off waits; read by the `retryDelay` delay. */
  retry_delay_ms: number;
}

/** Our error codes for drops that are not the relay's word. */
export const TunnelErrorCode = {
  SOCKET_ERROR: 'SOCKET_ERROR',
  SOCKET_CLOSED: 'SOCKET_CLOSED',
  HEARTBEAT_TIMEOUT: 'HEARTBEAT_TIMEOUT',
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
} as const;

/** A source of uniform numbers in [0, 1), like `Math.random` or a seeded generator. */
export type Random = () => number;

export interface TunnelEnvironment {
  random: Random;
  /** Wall time in ms; a test passes its SimulatedClock's `now`. */
  now: () => number;
}

/**
 * Milliseconds to wait before retry number `attempt` (0 = the first): a uniform pick in
 * [0, min(max_ms, initial_ms * factor^attempt)]. Mirrors `baseDelay` of
 * src/supervision/backoff.ts, with full instead of ± jitter.
 */
export function retryDelayMs(attempt: number, backoff: TunnelBackoff, random: Random): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be a whole number >= 0, got ${attempt}`);
  // factor^attempt may overflow to Infinity; min() then yields max_ms, never NaN (initial_ms >= 1).
  const cap = Math.min(backoff.max_ms, backoff.initial_ms * backoff.factor ** attempt);
  // Clamped so a generator returning 1 or more, or a negative, cannot leave [0, cap].
  const unit = Math.min(1, Math.max(0, random()));
  return Math.floor(cap * unit);
}

function errorOf(event: TunnelEvent): TunnelError | null {
  switch (event.type) {
    case 'socket.error':
      return { code: TunnelErrorCode.SOCKET_ERROR, error: event.error };
    case 'socket.close':
      return { code: TunnelErrorCode.SOCKET_CLOSED, error: `closed with ${event.code}${event.reason ? `: ${event.reason}` : ''}` };
    case 'heartbeat.timeout':
      return { code: TunnelErrorCode.HEARTBEAT_TIMEOUT, error: 'no heartbeat from the relay in time' };
    case 'auth.error':
      return { code: event.code, error: event.error };
    default:
      return null;
  }
}

/** The tunnel machine with its clock and random source; effects still come from `.provide()`. */
export function createTunnelMachine(env: TunnelEnvironment) {
  return setup({
    types: {
      context: {} as TunnelContext,
      input: {} as TunnelInputArg,
      events: {} as TunnelEvent,
    },
    delays: {
      retryDelay: ({ context }) => context.retry_delay_ms,
      handshakeTimeout: ({ context }) => context.handshake_timeout_ms,
    },
    actions: {
      // Effects, provided by the kernel's tunnel service. closeSocket must be idempotent:
      // it runs on every way down, including after the socket has closed on its own.
      openSocket: () => {},
      sendAuth: () => {},
      closeSocket: () => {},
      startSession: assign({
        relay_url: ({ context, event }) => (event.type === 'tunnel.connect' ? event.relay_url : context.relay_url),
        machine_id: ({ context, event }) => (event.type === 'tunnel.connect' ? event.machine_id : context.machine_id),
        attempt: 0,
        reconnects: 0,
        last_error: null,
        connected_since: null,
        next_retry_at: null,
      }),
      recordConnected: assign({ attempt: 0, connected_since: () => env.now(), next_retry_at: null }),
      recordError: assign({ last_error: ({ context, event }) => errorOf(event) ?? context.last_error }),
      recordHandshakeTimeout: assign({
        last_error: { code: TunnelErrorCode.HANDSHAKE_TIMEOUT, error: 'the relay did not complete the handshake in time' },
      }),
      scheduleRetry: assign(({ context }) => {
        const delay = retryDelayMs(context.attempt, context.backoff, env.random);
        return {
          retry_delay_ms: delay,
          next_retry_at: env.now() + delay,
          connected_since: null,
          // Past ~64 doublings the cap has long been reached; stopping here keeps the count a small integer.
          attempt: Math.min(context.attempt + 1, 64),
        };
      }),
      recordRetry: assign({ reconnects: ({ context }) => context.reconnects + 1, next_retry_at: null }),
      recordDown: assign({ connected_since: null, next_retry_at: null }),
    },
  }).createMachine({
    id: 'tunnel',
    context: ({ input }) => ({
      ...TunnelInput.parse(input),
      relay_url: null,
      machine_id: null,
      attempt: 0,
      reconnects: 0,
      last_error: null,
      connected_since: null,
      next_retry_at: null,
      retry_delay_ms: 0,
    }),
    initial: 'disconnected',
    // From anywhere: the admin's word wins over a pending retry or a live session.
    on: { 'tunnel.disconnect': { target: '.stopped', actions: 'closeSocket' } },
    states: {
      disconnected: {
        on: { 'tunnel.connect': { target: 'online', actions: 'startSession' } },
      },
      online: {
        initial: 'connecting',
        on: {
          'socket.error': { target: 'backing_off', actions: 'recordError' },
          'socket.close': { target: 'backing_off', actions: 'recordError' },
        },
        states: {
          connecting: {
            entry: 'openSocket',
            on: { 'socket.open': 'authenticating' },
            after: { handshakeTimeout: { target: '#tunnel.backing_off', actions: 'recordHandshakeTimeout' } },
          },
          authenticating: {
            entry: 'sendAuth',
            on: {
              'auth.ok': 'connected',
              // A refused token stays refused: retrying would only hammer the relay.
              'auth.error': { target: '#tunnel.stopped', actions: ['recordError', 'closeSocket'] },
            },
            after: { handshakeTimeout: { target: '#tunnel.backing_off', actions: 'recordHandshakeTimeout' } },
          },
          connected: {
            entry: 'recordConnected',
            on: {
              'heartbeat.timeout': { target: '#tunnel.backing_off', actions: 'recordError' },
              // Revocation closes live sessions; the token will not come back by retrying.
              'auth.error': { target: '#tunnel.stopped', actions: ['recordError', 'closeSocket'] },
            },
          },
        },
      },
      backing_off: {
        // The socket may be half-dead (heartbeat or handshake timeout): drop it before waiting.
        entry: ['closeSocket', 'scheduleRetry'],
        after: { retryDelay: { target: 'online', actions: 'recordRetry' } },
      },
      stopped: {
        entry: 'recordDown',
        on: { 'tunnel.connect': { target: 'online', actions: 'startSession' } },
      },
    },
  });
}

/** The machine with the real clock and `Math.random`; what the statechart export draws. */
export const tunnelMachine = createTunnelMachine({ random: Math.random, now: Date.now });

export type TunnelMachine = ReturnType<typeof createTunnelMachine>;

/** The flat state name of a snapshot (`online.connected` → `connected`). */
export function tunnelStateOf(snapshot: SnapshotFrom<TunnelMachine>): TunnelState {
  const value = snapshot.value;
  if (typeof value === 'string') return TunnelState.parse(value);
  return TunnelState.parse(value.online);
}

/** What TUNNEL_STATUS replies with. */
export function tunnelStatusOf(snapshot: SnapshotFrom<TunnelMachine>): TunnelStatus {
  const { context } = snapshot;
  return {
    state: tunnelStateOf(snapshot),
    relay_url: context.relay_url,
    machine_id: context.machine_id,
    attempt: context.attempt,
    reconnects: context.reconnects,
    last_error: context.last_error,
    connected_since: context.connected_since,
    next_retry_at: context.next_retry_at,
  };
}
