/**
 * The relay's tokens as data: the two kinds, what `create` accepts, the record a caller
 * sees (never the secret nor its hash) and why `verify` refuses. Types come from here.
 *
 * Wire form: `aos_<kind>_<id>_<secret>`. The id is 16 lowercase hex characters (it finds
 * the row); the secret is 32 random bytes in base64url without padding (43 characters,
 * which may themselves hold `_` or `-`, so a parser splits on the first three `_` only).
 */
import { z } from 'zod';
import { Permissions } from '../../protocol/schemas/permissions.js';

export const TOKEN_KINDS = ['machine', 'agent'] as const;
export const TokenKind = z.enum(TOKEN_KINDS, { error: `expected a token kind: one of ${TOKEN_KINDS.join(', ')}` });
export type TokenKind = z.infer<typeof TokenKind>;

export const TOKEN_PREFIX = 'aos_';
export const ID_BYTES = 8;
export const SECRET_BYTES = 32;
/** 32 bytes in base64url without padding. */
export const SECRET_CHARS = 43;
/** The longest well-formed token (`aos_machine_` + id + `_` + secret): anything longer is refused before any work. */
export const MAX_TOKEN_LENGTH = TOKEN_PREFIX.length + 'machine_'.length + ID_BYTES * 2 + 1 + SECRET_CHARS;

export const TokenId = z.string().regex(/^[0-9a-f]{16}$/, 'expected a token id (16 lowercase hex characters)');
export type TokenId = z.infer<typeof TokenId>;

const MAX_MACHINES = 256;
const MAX_LABEL = 200;

/** Machine ids travel in kernel_auth and appear in URLs: keep them plain. */
export const MachineId = z
  .string({ error: 'expected a machine id (a string)' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'expected a machine id of 1-128 letters, digits, ".", "_" or "-" (not starting with a symbol)',
  );
export type MachineId = z.infer<typeof MachineId>;

/** The machines an agent token may reach: a list, or `'*'` for every machine the relay knows. */
export const MachineScope = z.union([
  z.literal('*'),
  z.array(MachineId).min(1, 'expected at least one machine id (or "*")').max(MAX_MACHINES, `expected at most ${MAX_MACHINES} machine ids`),
]);
export type MachineScope = z.infer<typeof MachineScope>;

/** A ceiling names only the fields it caps; the kernel intersects it with what the agent asks for. */
export const Ceiling = Permissions.partial().strict();
export type Ceiling = z.infer<typeof Ceiling>;

const Timestamp = z.number({ error: 'expected a time in ms since the epoch' }).int('expected whole ms').nonnegative();

/**
 * What `create` accepts. A machine token carries exactly the one machine id it may claim;
 * an agent token carries the machines it may reach (no default: deny unless stated) and
 * optionally a ceiling. Fields of the other kind are refused, not ignored, so a mistake shows.
 */
export const CreateToken = z
  .object({
    kind: TokenKind,
    machine_id: MachineId.optional(),
    machines: MachineScope.optional(),
    ceiling: Ceiling.optional(),
    expires_at: Timestamp.nullable().optional(),
    label: z.string().max(MAX_LABEL, `expected a label of at most ${MAX_LABEL} characters`).optional(),
  })
  .strict()
  .superRefine((request, context) => {
    if (request.kind === 'machine') {
      if (request.machine_id === undefined)
        context.addIssue({ code: 'custom', path: ['machine_id'], message: 'expected a machine id for a machine token' });
      if (request.machines !== undefined)
        context.addIssue({ code: 'custom', path: ['machines'], message: 'expected no "machines" on a machine token (use machine_id)' });
      if (request.ceiling !== undefined)
        context.addIssue({ code: 'custom', path: ['ceiling'], message: 'expected no "ceiling" on a machine token' });
    } else {
      if (request.machines === undefined)
        context.addIssue({ code: 'custom', path: ['machines'], message: 'expected the machines an agent token may reach (a list or "*")' });
      if (request.machine_id !== undefined)
        context.addIssue({ code: 'custom', path: ['machine_id'], message: 'expected no "machine_id" on an agent token (use machines)' });
    }
  });
export type CreateToken = z.input<typeof CreateToken>;

/** A token as callers see it: never the secret, never its hash. */
export const TokenRecord = z.object({
  id: TokenId,
  kind: TokenKind,
  label: z.string().nullable(),
  /** Machine tokens: the machine id it may claim; null on agent tokens. */
  machine_id: MachineId.nullable(),
  /** Agent tokens: the machines it may reach; null on machine tokens. */
  machines: MachineScope.nullable(),
  /** Agent tokens: the permission ceiling; null when none was given (the kernel's default applies). */
  ceiling: Ceiling.nullable(),
  created_at: Timestamp,
  expires_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});
export type TokenRecord = z.infer<typeof TokenRecord>;

/** What `create` returns: the record and the token, which is shown this once and never stored. */
export type CreatedToken = TokenRecord & { token: string };

export const VERIFY_FAILURES = ['malformed', 'unknown', 'revoked', 'expired', 'wrong_kind', 'wrong_machine'] as const;
export const VerifyFailure = z.enum(VERIFY_FAILURES);
export type VerifyFailure = z.infer<typeof VerifyFailure>;

/** What the caller expects of the token: its kind, and the machine it claims (machine) or targets (agent). */
export const VerifyExpectation = z.object({ kind: TokenKind, machine_id: z.string().optional() });
export type VerifyExpectation = z.infer<typeof VerifyExpectation>;

export type VerifyResult = { ok: true; record: TokenRecord } | { ok: false; reason: VerifyFailure };
