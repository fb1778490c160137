/** NOOP, HELLO and EXIT: the calls every client makes first and last. */
import { z } from 'zod';
import { ok } from './common.js';
import { Level } from './permissions.js';

export const PROTOCOL_VERSION = 1;

export const HelloRequest = z.object({
  name: z.string().max(128, 'expected a name of at most 128 characters').optional(),
  /** A spawned agent's one-use token, or the admin token. */
  token: z.string().max(512).optional(),
  /** Free text naming the client library, for logs. */
  client: z.string().max(128).optional(),
  protocol_version: z.number().int().positive().optional(),
});

export const KernelLimits = z.object({
  max_payload: z.number().int(),
  max_pipeline: z.number().int(),
  exec_max_timeout_s: z.number(),
  exec_max_output_bytes: z.number().int(),
  read_max_bytes: z.number().int(),
});

export const HelloReply = z.object({
  ...ok,
  protocol_version: z.number().int(),
  kernel_version: z.string(),
  agent_id: z.number().int(),
  name: z.string().nullable(),
  level: Level,
  admin: z.boolean(),
  features: z.array(z.string()),
  limits: KernelLimits,
});

export const ExitRequest = z.object({ reason: z.string().max(1024).optional() });
export const ExitReply = z.object({ ...ok, goodbye: z.literal(true), agent_id: z.number().int() });
