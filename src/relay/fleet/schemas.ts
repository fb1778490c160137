/**
 * The fleet REST API's bodies and answers (docs/relay.md §11). Request bodies are zod
 * schemas built from the token store's and the wire protocol's own fields, so a field is
 * checked the same way whichever door it came in by.
 */
import { z } from 'zod';
import { Deploy, MachineId } from '../protocol/schemas.js';
import { CreateToken } from '../tokens/schema.js';

/** Deploy targets per request: enough for a fleet, not a way to make the relay fan out without bound. */
export const MAX_DEPLOY_MACHINES = 256;

/** 10 years: beyond that an expiry is a typo, not a plan. */
const MAX_EXPIRES_IN_S = 10 * 365 * 24 * 3600;

/**
 * POST /v1/tokens: what the token store creates, plus `expires_in_s` (turned into
 * `expires_at` here). The kind-specific rules stay in the store's own CreateToken.
 */
export const CreateTokenBody = z
  .strictObject({
    ...CreateToken.shape,
    expires_in_s: z
      .number({ error: 'expected expires_in_s as a number of seconds' })
      .int('expected expires_in_s as a whole number of seconds')
      .positive('expected expires_in_s above 0')
      .max(MAX_EXPIRES_IN_S, `expected expires_in_s of at most ${MAX_EXPIRES_IN_S} (10 years)`)
      .optional(),
  })
  .superRefine((body, context) => {
    if (body.expires_in_s !== undefined && body.expires_at !== undefined && body.expires_at !== null)
      context.addIssue({ code: 'custom', path: ['expires_in_s'], message: 'expected expires_in_s or expires_at, not both' });
  });
export type CreateTokenBody = z.infer<typeof CreateTokenBody>;

const { type: _type, request_id: _requestId, ...deployFields } = Deploy.shape;

/** POST /v1/agents: the deploy message's fields, and where to: exactly one of machine_id, machines, all. */
export const DeployBody = z
  .strictObject({
    ...deployFields,
    machine_id: MachineId.optional(),
    machines: z
      .array(MachineId, { error: 'expected machines as a list of machine ids' })
      .min(1, 'expected at least one machine id')
      .max(MAX_DEPLOY_MACHINES, `expected at most ${MAX_DEPLOY_MACHINES} machine ids`)
      .optional(),
    all: z.literal(true, { error: 'expected all as true (every online machine)' }).optional(),
  })
  .superRefine((body, context) => {
    const given = (['machine_id', 'machines', 'all'] as const).filter((key) => body[key] !== undefined);
    if (given.length !== 1)
      context.addIssue({
        code: 'custom',
        // None: the first choice is what is missing; several: the second is the one too many.
        path: [given[1] ?? 'machine_id'],
        message: `expected exactly one of machine_id, machines or all (got ${given.length === 0 ? 'none' : given.join(', ')})`,
      });
  });
export type DeployBody = z.infer<typeof DeployBody>;

export const AgentNameParam = Deploy.shape.name;
export const MachineIdParam = MachineId;

/** Error codes of the REST API, each with its one HTTP status. */
export const HTTP_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  TOO_LARGE: 413,
  INTERNAL: 500,
} as const;
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export interface DeployOutcome {
  machine_id: string;
  ok: boolean;
  agent_id?: number;
  code?: string;
  error?: string;
}

export interface StopOutcome {
  machine_id: string;
  ok: boolean;
  code?: string;
  error?: string;
}

export interface RemoteAgentView {
  kind: 'session' | 'deployed';
  machine_id: string;
  name: string | null;
  session?: number;
  agent_id?: number;
  since: number;
}
