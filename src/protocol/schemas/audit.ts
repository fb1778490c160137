/** The audit log (protocol.md §5: GET_AUDIT_LOG 0x76, SET_AUDIT_CONFIG 0x77; both admin-only). */
import { z } from 'zod';
import { ok } from './common.js';

/**
 * What an entry is about. A closed set, so a reader can filter without guessing:
 * - `denial`: a call refused with PERMISSION_DENIED (the router's check or a handler's own);
 * - `lifecycle`: AGENT_SPAWNED, AGENT_EXITED, AGENT_PAUSED, AGENT_RESUMED, AGENT_RESTARTING, AGENT_ESCALATED;
 * - `permission`: an agent's rights changed (SET_PERMS);
 * - `quota`: a call refused for a limit (QUOTA_EXCEEDED);
 * - `admin`: the admin token presented in HELLO, SET_AUDIT_CONFIG, and the log's own
 *   notices (kernel_start, kernel_stop, audit_dropped). Always written: no switch turns it off.
 */
export const AUDIT_CATEGORIES = ['denial', 'lifecycle', 'permission', 'quota', 'admin'] as const;
export const AuditCategory = z.enum(AUDIT_CATEGORIES, {
  error: `expected category: one of ${AUDIT_CATEGORIES.map((c) => `"${c}"`).join(', ')}`,
});
export type AuditCategory = z.infer<typeof AuditCategory>;

export const MAX_AUDIT_PAGE = 1000;
export const DEFAULT_AUDIT_PAGE = 100;
export const MIN_AUDIT_MAX_ENTRIES = 10;
export const MAX_AUDIT_MAX_ENTRIES = 10_000_000;
export const DEFAULT_AUDIT_MAX_ENTRIES = 100_000;

export const AuditEntry = z.object({
  /** Increasing in write order and never reused, even after retention deleted older entries. */
  id: z.number().int(),
  timestamp: z.number(),
  category: AuditCategory,
  /** The agent the entry is about; null for the kernel's own notices. Ids start again at 1 with each kernel (see kernel_start). */
  agent_id: z.number().int().nullable(),
  agent_name: z.string().nullable(),
  /** The syscall (denial, quota, permission), the event type (lifecycle) or the notice (admin). */
  op: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Refuses fields the schema does not name, with the offending field as the error's `field`. */
function onlyKnownFields<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const known = Object.keys(shape);
  return z.looseObject(shape).superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `unknown field "${key}"; ${what} takes ${known.join(', ')}` });
      }
    }
  });
}

const maxEntries = z
  .number({ error: 'expected max_entries: a whole number' })
  .int('expected max_entries: a whole number')
  .min(MIN_AUDIT_MAX_ENTRIES, `expected max_entries of at least ${MIN_AUDIT_MAX_ENTRIES}`)
  .max(MAX_AUDIT_MAX_ENTRIES, `expected max_entries of at most ${MAX_AUDIT_MAX_ENTRIES}`);

/** What is written (one switch per category but `admin`) and how many entries are kept. */
export const AuditConfig = z.object({
  log_denials: z.boolean(),
  log_lifecycle: z.boolean(),
  log_permissions: z.boolean(),
  log_quota: z.boolean(),
  /** Retention: beyond it the oldest entries are deleted. */
  max_entries: maxEntries,
});
export type AuditConfig = z.infer<typeof AuditConfig>;

/** The category each switch governs. */
export const AUDIT_SWITCHES = {
  denial: 'log_denials',
  lifecycle: 'log_lifecycle',
  permission: 'log_permissions',
  quota: 'log_quota',
} as const satisfies Record<Exclude<AuditCategory, 'admin'>, keyof AuditConfig>;

const since = z.number({ error: 'expected since_id: a whole number' }).int('expected since_id: a whole number').nonnegative();

export const GetAuditLogRequest = onlyKnownFields(
  {
    category: AuditCategory.optional(),
    agent_id: z.number({ error: 'expected agent_id: a whole number' }).int('expected agent_id: a whole number').nonnegative().optional(),
    /** Exclusive: entries with a larger id. */
    since_id: since.default(0),
    limit: z
      .number({ error: 'expected limit: a whole number' })
      .int('expected limit: a whole number')
      .positive('expected limit above 0')
      .max(MAX_AUDIT_PAGE, `expected limit at most ${MAX_AUDIT_PAGE}`)
      .default(DEFAULT_AUDIT_PAGE),
  },
  'GET_AUDIT_LOG',
);
export type GetAuditLogRequest = z.output<typeof GetAuditLogRequest>;

export const GetAuditLogReply = z.object({
  ...ok,
  /** In ascending id order. */
  entries: z.array(AuditEntry),
  count: z.number().int(),
  /** The last id returned, or the request's since_id when none: pass it back to read on. */
  next_since_id: z.number().int(),
  /** The oldest id still kept (null: the log is empty); a reader whose since_id + 1 is below it lost entries to retention. */
  oldest_id: z.number().int().nullable(),
});

export const SetAuditConfigRequest = onlyKnownFields(
  {
    log_denials: z.boolean({ error: 'expected log_denials: true or false' }).optional(),
    log_lifecycle: z.boolean({ error: 'expected log_lifecycle: true or false' }).optional(),
    log_permissions: z.boolean({ error: 'expected log_permissions: true or false' }).optional(),
    log_quota: z.boolean({ error: 'expected log_quota: true or false' }).optional(),
    max_entries: maxEntries.optional(),
  },
  'SET_AUDIT_CONFIG',
);
export type SetAuditConfigRequest = z.output<typeof SetAuditConfigRequest>;

export const SetAuditConfigReply = z.object({
  ...ok,
  /** The whole configuration now in force (persisted). */
  config: AuditConfig,
  /** The fields this request changed. */
  changed: z.array(z.string()),
});
