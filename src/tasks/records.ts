/**
 * The engine's in-memory records of live tasks, and their views. A record wraps the stored
 * shape (what the database keeps) with the links the engine walks at run time.
 */
import type { Actor } from 'xstate';
import type { taskMachine } from '../machines/task.machine.js';
import type { SubtaskView, TaskView } from '../protocol/schemas/tasks.js';
import type { StoredSubtask, StoredTask, StoredTaskTree } from './store.js';

export interface LiveSubtask {
  data: StoredSubtask;
  task: LiveTask;
  /** Subtasks of the same task that wait for this one. */
  dependents: LiveSubtask[];
  /** Dependencies not completed yet: ready at 0. */
  waitingOn: number;
}

export interface LiveTask {
  data: StoredTask;
  subtasks: LiveSubtask[];
  byKey: Map<string, LiveSubtask>;
  actor: Actor<typeof taskMachine>;
  /** Tasks in `depends_on` not completed yet: no subtask is ready before 0. */
  waitingOnTasks: number;
  /** Loaded at start: its agent ids belong to the previous run, so only names identify agents. */
  previousRun: boolean;
  settled: boolean;
}

// Field by field rather than a rest spread: views are built for every commit's changes, and
// this is several times faster on the hot path (profiled with 5,000 tasks).
export function subtaskView(d: StoredSubtask): SubtaskView {
  const view: SubtaskView = {
    subtask_id: d.subtask_id,
    key: d.key,
    description: d.description,
    status: d.status,
    role: d.role,
    depends_on: d.depends_on.slice(),
    assigned_to: d.assigned_to,
    assigned_name: d.assigned_name,
    attempts: d.attempts.map((a) => ({
      agent_id: a.agent_id,
      agent_name: a.agent_name,
      started_at: a.started_at,
      ended_at: a.ended_at,
      outcome: a.outcome,
      error: a.error,
    })),
    error: d.error,
    retry_at: d.retry_at,
    created_at: d.created_at,
    started_at: d.started_at,
    ended_at: d.ended_at,
  };
  if (d.result !== undefined) view.result = d.result;
  return view;
}

export function taskView(t: StoredTask, subtasks: readonly StoredSubtask[]): TaskView {
  const view: TaskView = {
    task_id: t.task_id,
    description: t.description,
    status: t.status,
    created_by: t.created_by,
    created_by_name: t.created_by_name,
    depends_on: t.depends_on.slice(),
    subtasks: subtasks.map(subtaskView),
    error: t.error,
    metadata: { ...t.metadata },
    version: t.version,
    created_at: t.created_at,
    updated_at: t.updated_at,
    ended_at: t.ended_at,
    deadline: t.deadline,
  };
  if (t.result !== undefined) view.result = t.result;
  return view;
}

export function liveView(task: LiveTask): TaskView {
  return taskView(
    task.data,
    task.subtasks.map((sub) => sub.data),
  );
}

export function treeView(tree: StoredTaskTree): TaskView {
  return taskView(tree.task, tree.subtasks);
}

/** `<task_id>/<key>` → [task_id, key]. */
export function splitSubtaskId(subtaskId: string): [string, string] {
  const slash = subtaskId.indexOf('/');
  return slash < 0 ? ['', subtaskId] : [subtaskId.slice(0, slash), subtaskId.slice(slash + 1)];
}
