/**
 * TASK_CREATE, TASK_ASSIGN, TASK_STATUS, TASK_COMPLETE, TASK_LIST, TASK_CANCEL (protocol.md
 * §5): tasks split into subtasks that form a DAG, assigned to agents (by id, name or
 * role: agents take roles with REGISTER's `role`), delivered as IPC messages, retried
 * and reassigned by the kernel. The single source of truth for the task wire shapes.
 */
import { z } from 'zod';
import { AgentName } from './agents.js';
import { nonEmpty, ok } from './common.js';

/**
 * A result or input is JSON; this bounds its size (as serialized) so one task cannot fill
 * the database. Half the default frame limit (1 MiB), so an oversized result is answered
 * with an INVALID_REQUEST naming it rather than a BAD_FRAME that closes the connection.
 */
export const MAX_TASK_JSON_BYTES = 512 * 1024;
export const MAX_SUBTASKS = 1000;
export const MAX_TASK_WAIT_MS = 60_000;
export const MAX_TASK_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
export const MAX_RETRIES = 100;

export const TaskStatus = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled'], {
  error: 'expected status "pending", "running", "completed", "failed" or "cancelled"',
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const SubtaskStatus = z.enum(['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled']);
export type SubtaskStatus = z.infer<typeof SubtaskStatus>;

/** `task-1`, `task-2`, ...: never reused, also across kernel restarts (the database keeps the counter). */
export const TaskId = nonEmpty('a task id such as "task-1"').max(64, 'expected a task id of at most 64 characters');

/** A subtask's key: unique within its task; `depends_on` and results name subtasks by it. */
export const SubtaskKey = z
  .string({ error: 'expected a subtask key (a string)' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'expected a key of 1-64 letters, digits, ".", "_", ":" or "-"');

/** A role agents take with REGISTER `{ role }` (many agents per role); subtasks may ask for one. Same alphabet as agent names. */
export const Role = AgentName;

/** Any JSON value, at most MAX_TASK_JSON_BYTES serialized: the error says how big it was. */
export const TaskJson = z.unknown().superRefine((value, ctx) => {
  if (value === undefined) return;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > MAX_TASK_JSON_BYTES) {
    ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_TASK_JSON_BYTES} bytes of JSON, got ${bytes}` });
  }
});

const Milliseconds = (what: string, max: number) =>
  z
    .number({ error: `expected ${what} in milliseconds (a number)` })
    .int(`expected a whole number of milliseconds for ${what}`)
    .positive(`expected ${what} above 0`)
    .max(max, `expected ${what} of at most ${max} ms`);

/** How a failed attempt is retried: `max_retries` more attempts, waiting `backoff_ms` × 2^n (capped) before each. */
export const RetryPolicy = z.strictObject({
  max_retries: z.number().int().min(0).max(MAX_RETRIES, `expected max_retries of at most ${MAX_RETRIES}`).default(0),
  backoff_ms: Milliseconds('backoff_ms', 3_600_000).default(100),
  max_backoff_ms: Milliseconds('max_backoff_ms', 3_600_000).default(30_000),
  /** On a retry, prefer another agent of the subtask's role than the one that failed it. */
  reassign: z.boolean().default(true),
});
export type RetryPolicy = z.output<typeof RetryPolicy>;

export const SubtaskSpec = z.strictObject({
  key: SubtaskKey,
  description: z.string().max(10_000, 'expected a description of at most 10,000 characters').default(''),
  /** Given to the assignee with its dependencies' results. */
  input: TaskJson.optional(),
  /** Keys of subtasks of the same task that must complete first; their results are passed on. */
  depends_on: z.array(SubtaskKey).max(MAX_SUBTASKS).default([]),
  /** Assigned automatically, when ready, to a live agent that took this role (REGISTER `role`). */
  role: Role.optional(),
  /** Per attempt, from delivery to TASK_COMPLETE. */
  timeout_ms: Milliseconds('timeout_ms', MAX_TASK_TIMEOUT_MS).optional(),
  retry: RetryPolicy.optional(),
});
export type SubtaskSpec = z.output<typeof SubtaskSpec>;

export const TaskCreateRequest = z.strictObject({
  description: z.string({ error: 'expected description (a string)' }).max(10_000, 'expected a description of at most 10,000 characters'),
  /** None: the task is one piece of work, an implicit subtask with key "main". */
  subtasks: z.array(SubtaskSpec).max(MAX_SUBTASKS, `expected at most ${MAX_SUBTASKS} subtasks`).optional(),
  /** Other tasks that must complete before this one's subtasks become ready. */
  depends_on: z.array(TaskId).max(100).default([]),
  /** The whole task, from creation: past it the task fails and its subtasks are cancelled. */
  timeout_ms: Milliseconds('timeout_ms', MAX_TASK_TIMEOUT_MS).optional(),
  /** Seconds, as protocol.md's `timeout`; `timeout_ms` wins when both are given. */
  timeout: z
    .number()
    .positive('expected timeout above 0 seconds')
    .max(MAX_TASK_TIMEOUT_MS / 1000)
    .optional(),
  /** The default retry policy of its subtasks. */
  retry: RetryPolicy.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type TaskCreateRequest = z.output<typeof TaskCreateRequest>;

/** One attempt at a subtask: who had it, and how it ended. */
export const Attempt = z.object({
  agent_id: z.number().int(),
  agent_name: z.string().nullable(),
  started_at: z.number(),
  ended_at: z.number().nullable(),
  outcome: z.enum(['running', 'completed', 'failed', 'timed_out', 'agent_exited', 'cancelled']),
  error: z.string().nullable(),
});

export const SubtaskView = z.object({
  subtask_id: z.string(),
  key: z.string(),
  description: z.string(),
  status: SubtaskStatus,
  role: z.string().nullable(),
  depends_on: z.array(z.string()),
  assigned_to: z.number().int().nullable(),
  assigned_name: z.string().nullable(),
  attempts: z.array(Attempt),
  result: z.unknown().optional(),
  error: z.string().nullable(),
  /** When a failed attempt will be retried (epoch ms), while waiting. */
  retry_at: z.number().nullable(),
  created_at: z.number(),
  started_at: z.number().nullable(),
  ended_at: z.number().nullable(),
});
export type SubtaskView = z.infer<typeof SubtaskView>;

export const TaskView = z.object({
  task_id: z.string(),
  description: z.string(),
  status: TaskStatus,
  created_by: z.number().int(),
  created_by_name: z.string().nullable(),
  depends_on: z.array(z.string()),
  subtasks: z.array(SubtaskView),
  /** completed: `{ <key>: result }` of every subtask (a single "main" subtask: its result itself). */
  result: z.unknown().optional(),
  error: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  /** Bumped on every change: TASK_STATUS with `since_version` waits for a newer one. */
  version: z.number().int(),
  created_at: z.number(),
  updated_at: z.number(),
  ended_at: z.number().nullable(),
  deadline: z.number().nullable(),
});
export type TaskView = z.infer<typeof TaskView>;

export const TaskCreateReply = z.object({
  ...ok,
  task_id: z.string(),
  status: TaskStatus,
  subtasks: z.array(z.object({ subtask_id: z.string(), key: z.string() })),
});

/** Exactly one of agent_id, agent_name or role; `subtask` is a key or subtask id (omitted: the task's only one). */
export const TaskAssignRequest = z
  .strictObject({
    task_id: TaskId,
    subtask: z.string().min(1).optional(),
    agent_id: z.number({ error: 'expected agent_id (a number)' }).int().positive().optional(),
    agent_name: AgentName.optional(),
    role: Role.optional(),
  })
  .superRefine((request, ctx) => {
    const given = (['agent_id', 'agent_name', 'role'] as const).filter((key) => request[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1] ?? 'agent_id'],
        message:
          given.length === 0
            ? 'expected one of "agent_id", "agent_name" or "role"'
            : `expected only one of "agent_id", "agent_name" or "role", got ${given.join(' and ')}`,
      });
    }
  });
export type TaskAssignRequest = z.output<typeof TaskAssignRequest>;

export const TaskAssignReply = z.object({
  ...ok,
  task_id: z.string(),
  subtask_id: z.string(),
  /** null while no live agent has the requested role (the subtask stays pending). */
  assigned_to: z.number().int().nullable(),
  status: SubtaskStatus,
});

export const TaskStatusRequest = z.strictObject({
  task_id: TaskId,
  /** Wait up to this long for a change (a version above `since_version`, default: the current one). */
  wait_ms: z.number().int().min(0).max(MAX_TASK_WAIT_MS, `expected wait_ms of at most ${MAX_TASK_WAIT_MS}`).default(0),
  since_version: z.number().int().min(0).optional(),
});
export type TaskStatusRequest = z.output<typeof TaskStatusRequest>;

export const TaskStatusReply = z.object({ ...ok, task: TaskView, changed: z.boolean() });

/** `error` marks the subtask (attempt) failed; otherwise `result` completes it. */
export const TaskCompleteRequest = z.strictObject({
  task_id: TaskId,
  subtask_id: z.string().min(1).optional(),
  result: TaskJson.optional(),
  error: z.string().min(1).max(10_000, 'expected an error of at most 10,000 characters').optional(),
});
export type TaskCompleteRequest = z.output<typeof TaskCompleteRequest>;

export const TaskCompleteReply = z.object({
  ...ok,
  task_id: z.string(),
  subtask_id: z.string(),
  status: TaskStatus,
  subtask_status: SubtaskStatus,
});

export const TaskListRequest = z.strictObject({
  status: TaskStatus.optional(),
  limit: z.number().int().positive().max(1000).default(100),
});

export const TaskSummary = z.object({
  task_id: z.string(),
  description: z.string(),
  status: TaskStatus,
  created_by: z.number().int(),
  subtasks: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type TaskSummary = z.infer<typeof TaskSummary>;
export const TaskListReply = z.object({ ...ok, tasks: z.array(TaskSummary), count: z.number().int() });

export const TaskCancelRequest = z.strictObject({ task_id: TaskId, reason: z.string().max(1000).optional() });
export const TaskCancelReply = z.object({ ...ok, task_id: z.string(), status: TaskStatus, cancelled_subtasks: z.number().int() });

/** What an assignee finds in its mailbox (from agent 0, the kernel). */
export const TaskAssignedMessage = z.object({
  type: z.literal('task.assigned'),
  task_id: z.string(),
  subtask_id: z.string(),
  key: z.string(),
  description: z.string(),
  input: z.unknown().optional(),
  /** The results of the subtasks it depends on, by key. */
  inputs: z.record(z.string(), z.unknown()),
  attempt: z.number().int(),
  deadline: z.number().nullable(),
});
export type TaskAssignedMessage = z.infer<typeof TaskAssignedMessage>;

export const TaskCancelledMessage = z.object({
  type: z.literal('task.cancelled'),
  task_id: z.string(),
  subtask_id: z.string(),
  reason: z.string(),
});
export type TaskCancelledMessage = z.infer<typeof TaskCancelledMessage>;
