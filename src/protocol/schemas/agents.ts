/** SPAWN, KILL, LIST, PAUSE, RESUME: process agents and the agents table. */
import { z } from 'zod';
import { ok } from './common.js';
import { IsolationReport } from './isolation.js';
import { Limits } from './limits.js';
import { Level, Permissions } from './permissions.js';
import { WorldId } from './worlds.js';

export const RestartPolicy = z.enum(['always', 'on-failure', 'never'], {
  error: 'expected restart_policy "always", "on-failure" or "never"',
});
export type RestartPolicy = z.infer<typeof RestartPolicy>;

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const AgentName = z
  .string({ error: 'expected an agent name (a string)' })
  .regex(AGENT_NAME, 'expected a name of 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** SPAWN's `limits`: the schema lives with the other wire schemas in limits.ts. */
export const SpawnLimits = Limits;

export const SpawnRequest = z.object({
  name: AgentName,
  script: z.string({ error: 'expected the path of the script or program to run' }).min(1, 'expected a script path'),
  args: z.array(z.string().max(65_536)).max(1024, 'expected at most 1024 arguments').default([]),
  interpreter: z.string().min(1).optional(),
  env: z.record(z.string().regex(/^[^=\0]+$/, 'expected an environment variable name without "=" or NUL'), z.string()).optional(),
  cwd: z.string().min(1).optional(),
  level: Level.optional(),
  permissions: Permissions.partial().strict().optional(),
  /**
   * Run in bubblewrap. Absent: sandboxed unless the granted rights are unrestricted (deny
   * by default: an unsandboxed agent can read the admin token). `false` opts out, for
   * trusted code; a sandboxed spawner cannot.
   */
  sandboxed: z.boolean().optional(),
  network: z.boolean().default(false),
  limits: SpawnLimits.optional(),
  restart_policy: RestartPolicy.default('never'),
  max_restarts: z.number().int().nonnegative().max(1000, 'expected at most 1000').default(5),
  restart_window: z.number().positive('expected a positive number of seconds').max(86_400, 'expected at most 86400 seconds').default(300),
  /**
   * The world the child joins before it runs (the caller must control it). A world
   * member's children always join its own world: naming another is CONFLICT.
   */
  world_id: WorldId.optional(),
});
export type SpawnRequest = z.infer<typeof SpawnRequest>;

/** LIST and TREE take no fields (unknown ones are ignored, as older clients send some). */
export const NoFields = z.object({});

/** KILL, PAUSE and RESUME name their target by id or by name. */
export const AgentTarget = z
  .object({
    id: z.number().int().positive().optional(),
    agent_id: z.number().int().positive().optional(),
    name: z.string().min(1).optional(),
  })
  .refine((t) => t.id !== undefined || t.agent_id !== undefined || t.name !== undefined, {
    message: 'expected "id" (or "agent_id") or "name" of the agent',
    path: ['id'],
  });

export const KillRequest = z.intersection(
  AgentTarget,
  z.object({
    signal: z.enum(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']).default('SIGTERM'),
    grace_ms: z.number().int().nonnegative().max(600_000).default(5_000),
  }),
);

export const AgentKind = z.enum(['client', 'process', 'actor', 'worker', 'supervisor', 'remote']);
export type AgentKind = z.infer<typeof AgentKind>;

export const AgentInfo = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  kind: AgentKind,
  pid: z.number().int().nullable(),
  state: z.string(),
  parent_id: z.number().int().nullable(),
  restarts: z.number().int(),
  uptime_ms: z.number(),
  level: Level,
  world: z.string().optional(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

export const SpawnReply = z.object({
  ...ok,
  agent_id: z.number().int(),
  /** The same as agent_id (the original kernel's field). */
  id: z.number().int(),
  name: z.string().nullable(),
  pid: z.number().int().nullable(),
  restart_policy: RestartPolicy,
  isolation: IsolationReport.nullable(),
  /** The world the child joined (its parent's, or the request's `world_id`); absent when none. */
  world_id: z.string().optional(),
});

export const KillReply = z.object({ ...ok, killed: z.boolean(), agent_id: z.number().int() });
export const PauseReply = z.object({ ...ok, paused: z.boolean(), agent_id: z.number().int() });
export const ResumeReply = z.object({ ...ok, resumed: z.boolean(), agent_id: z.number().int() });

export const LogsRequest = z.intersection(
  AgentTarget,
  z.object({
    /** How many lines at most. */
    lines: z.number().int().positive().max(10_000, 'expected at most 10000 lines').default(200),
    /** Lines after this sequence number; 0 means the newest `lines`. */
    after_seq: z.number().int().nonnegative().default(0),
    /** Wait up to this long for a new line when none is newer than after_seq (follow mode). */
    wait_ms: z.number().int().nonnegative().max(60_000, 'expected at most 60000 ms').default(0),
  }),
);

export const LogLine = z.object({
  seq: z.number().int(),
  stream: z.enum(['stdout', 'stderr', 'kernel']),
  text: z.string(),
  timestamp: z.number(),
});

export const LogsReply = z.object({
  ...ok,
  agent_id: z.number().int(),
  name: z.string().nullable(),
  lines: z.array(LogLine),
  next_seq: z.number().int(),
  dropped: z.number().int(),
  ended: z.boolean(),
});

// A recursive schema needs its type spelled out once (zod cannot infer through z.lazy).
export interface TreeNode {
  actor: string;
  kind: string;
  agent_id: number | null;
  name: string | null;
  state: string;
  restarts: number;
  uptime_ms: number;
  pid: number | null;
  strategy?: string;
  children?: TreeNode[];
}
export const TreeNode: z.ZodType<TreeNode> = z.lazy(() =>
  z.object({
    actor: z.string(),
    kind: z.string(),
    agent_id: z.number().int().nullable(),
    name: z.string().nullable(),
    state: z.string(),
    restarts: z.number().int(),
    uptime_ms: z.number(),
    pid: z.number().int().nullable(),
    strategy: z.string().optional(),
    children: z.array(TreeNode).optional(),
  }),
);
export const TreeReply = z.object({ ...ok, tree: TreeNode });
