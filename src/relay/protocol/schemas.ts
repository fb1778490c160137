/**
 * The relay's wire protocol (docs/relay.md): JSON text frames over WebSocket, one
 * message per frame, each an object discriminated on `type`. There are four directions,
 * and each has its own union, so a kernel cannot send what only the relay may send.
 * Every object is strict: an unknown key is refused, so a typo fails loudly.
 */
import { z } from 'zod';
import { Ceiling } from '../tokens/schema.js';

export { Ceiling };

// ---------------------------------------------------------------------------------------
// Codes

export const RELAY_ERROR_CODES = [
  /** Not JSON, not UTF-8, unknown type, a missing or wrong field. */
  'BAD_MESSAGE',
  /** A frame above max_message_bytes; refused before parsing. */
  'TOO_LARGE',
  /** Anything but an auth message before auth_ok. */
  'UNAUTHENTICATED',
  /** No auth message within auth_timeout_ms. */
  'AUTH_TIMEOUT',
  /** Unknown, forged or mismatched token (one code, so a prober learns nothing). */
  'AUTH_FAILED',
  'TOKEN_EXPIRED',
  'TOKEN_REVOKED',
  /** The agent token is not scoped to the machine it asked for. */
  'FORBIDDEN',
  /** A flood from one agent: over its rate or its in-flight cap. */
  'RATE_LIMITED',
  /** The target kernel has no live link to the relay. */
  'MACHINE_OFFLINE',
  /** A call id already in flight on this connection. */
  'DUPLICATE_ID',
  /** The peer sent nothing (not even pong) for heartbeat_timeout_ms. */
  'HEARTBEAT_TIMEOUT',
  /** A kernel link was replaced by a newer one for the same machine. */
  'REPLACED',
  /** Deploy/stop: no agent of that name, or the kernel refused. */
  'NOT_FOUND',
  'CONFLICT',
  'SHUTTING_DOWN',
  'INTERNAL',
] as const;
export const RelayErrorCode = z.enum(RELAY_ERROR_CODES);
export type RelayErrorCode = z.infer<typeof RelayErrorCode>;

export const SESSION_CLOSE_REASONS = [
  'agent_closed',
  'heartbeat_timeout',
  'token_revoked',
  'token_expired',
  'stopped',
  'relay_shutdown',
  'kernel_request',
] as const;
export const SessionCloseReason = z.enum(SESSION_CLOSE_REASONS);
export type SessionCloseReason = z.infer<typeof SessionCloseReason>;

// ---------------------------------------------------------------------------------------
// Fields

export const MachineId = z.string({ error: 'expected machine_id as a string' }).regex(
  // As long as the token store's machine ids: a token for any id it issues can authenticate.
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  'expected machine_id of 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
);

/** Tokens are opaque here; the token store decides what they look like. */
export const Token = z
  .string({ error: 'expected token as a string' })
  .min(1, 'expected a non-empty token')
  .max(512, 'expected a token of at most 512 characters');

/** The agent's own correlation id, echoed back as it was sent (as in the kernel's ws envelope). */
export const AgentCallId = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(128)], {
  error: 'expected id as a non-negative integer or a string of 1-128 characters',
});

/** Relay-assigned ids (kernel-link call ids, sessions, deploy requests): positive safe integers. */
const LinkId = (what: string) =>
  z
    .number({ error: `expected ${what} as a number` })
    .int(`expected ${what} as an integer`)
    .positive(`expected ${what} above 0`)
    .max(Number.MAX_SAFE_INTEGER, `expected ${what} of at most 2^53-1`);

export const KernelCallId = LinkId('id');
export const SessionId = LinkId('session');
export const RequestId = LinkId('request_id');

export const Op = z.union([z.string().min(1).max(64), z.number().int().min(0).max(255)], {
  error: 'expected op as an opcode name or a number 0-255',
});

export const AgentName = z
  .string({ error: 'expected name as a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a name of 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** Milliseconds on the sender's clock; the peer only echoes it, so clocks need not agree. */
const Timestamp = z.number({ error: 'expected ts as a number' }).int('expected ts as an integer').min(0).max(Number.MAX_SAFE_INTEGER);

/** A kernel reply as the router makes it: always an object with `success`. */
export const CallResult = z.looseObject({ success: z.boolean({ error: 'expected result.success as a boolean' }) });

const ErrorText = z.string({ error: 'expected error as a string' }).max(4096);

// ---------------------------------------------------------------------------------------
// Messages, each in one place; the unions below say who may send it.

export const KernelAuth = z.strictObject({
  type: z.literal('kernel_auth'),
  machine_id: MachineId,
  token: Token,
  kernel_version: z.string({ error: 'expected kernel_version as a string' }).min(1).max(64),
});

export const AgentAuth = z.strictObject({
  type: z.literal('agent_auth'),
  token: Token,
  machine_id: MachineId,
  name: AgentName.optional(),
});

/** What the relay tells both kinds of peer about the link once authenticated. */
const LinkTerms = {
  heartbeat_interval_ms: z.number().int().positive(),
  heartbeat_timeout_ms: z.number().int().positive(),
  max_message_bytes: z.number().int().positive(),
};

export const KernelAuthOk = z.strictObject({
  type: z.literal('auth_ok'),
  machine_id: MachineId,
  ...LinkTerms,
});

export const AgentAuthOk = z.strictObject({
  type: z.literal('auth_ok'),
  machine_id: MachineId,
  session: SessionId,
  /** The most the token lets the agent hold on the kernel; null: the kernel's remote level alone. */
  ceiling: Ceiling.nullable(),
  ...LinkTerms,
});

export const AuthError = z.strictObject({
  type: z.literal('auth_error'),
  code: RelayErrorCode,
  error: ErrorText,
});

export const AgentCall = z.strictObject({
  type: z.literal('call'),
  id: AgentCallId,
  op: Op,
  payload: z.unknown().optional(),
});

export const KernelCall = z.strictObject({
  type: z.literal('call'),
  id: KernelCallId,
  session: SessionId,
  op: Op,
  payload: z.unknown().optional(),
});

export const AgentReply = z.strictObject({
  type: z.literal('reply'),
  id: AgentCallId,
  result: CallResult,
});

export const KernelReply = z.strictObject({
  type: z.literal('reply'),
  id: KernelCallId,
  result: CallResult,
});

export const SessionOpen = z.strictObject({
  type: z.literal('session_open'),
  session: SessionId,
  token_id: z.string({ error: 'expected token_id as a string' }).min(1).max(128),
  /** Permission fields the token caps (a partial permission object); null: no cap beyond the kernel's. */
  ceiling: Ceiling.nullable(),
  name: AgentName.optional(),
});

export const SessionClose = z.strictObject({
  type: z.literal('session_close'),
  session: SessionId,
  reason: SessionCloseReason,
});

export const Deploy = z.strictObject({
  type: z.literal('deploy'),
  request_id: RequestId,
  name: AgentName,
  /** The script's content, not a path: the relay's disk means nothing to the kernel. */
  script: z.string({ error: 'expected script as a string (its content)' }).min(1, 'expected a non-empty script'),
  /** The script's file name (its extension picks the interpreter, as for SPAWN): a plain name, no directory. */
  filename: z
    .string({ error: 'expected filename as a string' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected filename as a plain file name (letters, digits, ".", "_", "-")')
    .optional(),
  args: z.array(z.string().max(65_536)).max(1024, 'expected at most 1024 arguments').optional(),
  interpreter: z.string().min(1).max(256).optional(),
  env: z.record(z.string().regex(/^[^=\0]+$/, 'expected an environment variable name without "=" or NUL'), z.string()).optional(),
  /** The deployed agent's rights, capped by the kernel at what the relay may grant. */
  ceiling: Ceiling.optional(),
});

export const Stop = z.strictObject({
  type: z.literal('stop'),
  request_id: RequestId,
  name: AgentName,
});

const Failure = { ok: z.literal(false), code: RelayErrorCode, error: ErrorText };

export const DeployResult = z.discriminatedUnion('ok', [
  z.strictObject({
    type: z.literal('deploy_result'),
    request_id: RequestId,
    ok: z.literal(true),
    name: AgentName,
    agent_id: z.number().int().nonnegative(),
  }),
  z.strictObject({ type: z.literal('deploy_result'), request_id: RequestId, ...Failure }),
]);

export const StopResult = z.discriminatedUnion('ok', [
  z.strictObject({ type: z.literal('stop_result'), request_id: RequestId, ok: z.literal(true), name: AgentName }),
  z.strictObject({ type: z.literal('stop_result'), request_id: RequestId, ...Failure }),
]);

const DeployedAgent = { name: AgentName, agent_id: z.number().int().nonnegative() };

/** A deployed agent ended for good on its own (it exited, or its restarts ran out): the relay stops listing it. */
export const DeploymentEnded = z.strictObject({ type: z.literal('deployment_ended'), ...DeployedAgent });

/**
 * The deployed agents the kernel runs, sent on every authentication: the relay marks any
 * other deployment of that machine stopped (they ended while the link was down, or with
 * a kernel restart).
 */
export const DeploymentsReport = z.strictObject({
  type: z.literal('deployments'),
  agents: z.array(z.strictObject(DeployedAgent)).max(10_000, 'expected at most 10000 deployed agents'),
});

export const Ping = z.strictObject({ type: z.literal('ping'), ts: Timestamp });
export const Pong = z.strictObject({ type: z.literal('pong'), ts: Timestamp });

/** `id` present: the error answers that call (e.g. RATE_LIMITED); absent: the whole link. */
export const AgentError = z.strictObject({
  type: z.literal('error'),
  code: RelayErrorCode,
  error: ErrorText,
  id: AgentCallId.optional(),
  field: z.string().max(256).optional(),
});

export const KernelError = z.strictObject({
  type: z.literal('error'),
  code: RelayErrorCode,
  error: ErrorText,
  id: KernelCallId.optional(),
  field: z.string().max(256).optional(),
});

// ---------------------------------------------------------------------------------------
// Directions

export const KernelToRelay = z.discriminatedUnion('type', [
  KernelAuth,
  KernelReply,
  SessionClose,
  DeployResult,
  StopResult,
  DeploymentEnded,
  DeploymentsReport,
  Ping,
  Pong,
  KernelError,
]);
export const RelayToKernel = z.discriminatedUnion('type', [
  KernelAuthOk,
  AuthError,
  KernelCall,
  SessionOpen,
  SessionClose,
  Deploy,
  Stop,
  Ping,
  Pong,
  KernelError,
]);
export const AgentToRelay = z.discriminatedUnion('type', [AgentAuth, AgentCall, Ping, Pong]);
export const RelayToAgent = z.discriminatedUnion('type', [AgentAuthOk, AuthError, AgentReply, Ping, Pong, AgentError]);

export type KernelToRelay = z.infer<typeof KernelToRelay>;
export type RelayToKernel = z.infer<typeof RelayToKernel>;
export type AgentToRelay = z.infer<typeof AgentToRelay>;
export type RelayToAgent = z.infer<typeof RelayToAgent>;

/** Which union a frame is read with, named by who sent it to whom. */
export const DIRECTIONS = {
  kernel_to_relay: KernelToRelay,
  relay_to_kernel: RelayToKernel,
  agent_to_relay: AgentToRelay,
  relay_to_agent: RelayToAgent,
} as const;
export type Direction = keyof typeof DIRECTIONS;
export type MessageOf<D extends Direction> = z.infer<(typeof DIRECTIONS)[D]>;
export type RelayMessage = MessageOf<Direction>;
