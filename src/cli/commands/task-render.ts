/** How `agentos task` draws tasks for people: the list table and one task's tree of subtasks. */
import type { z } from 'zod';
import type { SubtaskView, TaskSummary, TaskView } from '../../protocol/schemas/tasks.js';
import { table } from '../output.js';
import { formatUptime } from './tree.js';

const MAX_DESCRIPTION = 60;
const MAX_ERROR = 80;

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `1.2s`, `850ms`, `3m05s`: how long something took (or has been taking). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return formatUptime(ms);
}

/** `agentos task list`: id, status, subtasks done/total, failed, age, description. */
export function renderTaskList(tasks: readonly z.output<typeof TaskSummary>[], now = Date.now()): string {
  if (tasks.length === 0) return 'no tasks';
  return table(
    ['id', 'status', 'done', 'failed', 'age', 'description'],
    tasks.map((task) => [
      task.task_id,
      task.status,
      `${task.completed}/${task.subtasks}`,
      String(task.failed),
      formatUptime(now - task.created_at),
      clip(task.description, MAX_DESCRIPTION),
    ]),
  );
}

function duration(subtask: SubtaskView, now: number): string {
  if (subtask.started_at === null) return '-';
  return formatDuration((subtask.ended_at ?? now) - subtask.started_at);
}

function assignee(subtask: SubtaskView): string {
  if (subtask.assigned_to === null) return subtask.role ? `(role ${subtask.role})` : '-';
  return subtask.assigned_name ? `${subtask.assigned_to} (${subtask.assigned_name})` : String(subtask.assigned_to);
}

/** The subtask's state, with when it will be retried while it waits for that. */
function state(subtask: SubtaskView, now: number): string {
  if (subtask.retry_at !== null && subtask.retry_at > now) return `${subtask.status}, retry in ${formatDuration(subtask.retry_at - now)}`;
  return subtask.status;
}

/**
 * `agentos task show`: a header line (id, status, age, creator), then the task with its
 * subtasks as branches: key, state, assignee, attempts, duration, what it waits for, error.
 */
export function renderTask(task: TaskView, now = Date.now()): string {
  const by = task.created_by_name ? `${task.created_by} (${task.created_by_name})` : String(task.created_by);
  const took =
    task.ended_at === null ? `age ${formatUptime(now - task.created_at)}` : `took ${formatDuration(task.ended_at - task.created_at)}`;
  const header = `${task.task_id}  ${task.status}  ${took}  created by ${by}  version ${task.version}`;
  const rows = task.subtasks.map((subtask, index) => [
    `${index === task.subtasks.length - 1 ? '└─' : '├─'} ${subtask.key}`,
    state(subtask, now),
    assignee(subtask),
    String(subtask.attempts.length),
    duration(subtask, now),
    subtask.depends_on.length > 0 ? subtask.depends_on.join(',') : '-',
    subtask.error ? clip(subtask.error, MAX_ERROR) : '',
  ]);
  const lines = [
    header,
    clip(task.description, 200) || '(no description)',
    table(['subtask', 'state', 'assignee', 'attempts', 'duration', 'after', 'error'], rows),
  ];
  if (task.error) lines.push(`error: ${task.error}`);
  if (task.status === 'completed' && task.result !== undefined) lines.push(`result: ${clip(JSON.stringify(task.result), 200)}`);
  return lines.join('\n');
}
