/**
 * The SDK for tasks: the syscalls as functions (create.ts), waitFor (wait.ts), worker
 * (worker.ts) and workflows (workflow.ts); `tasks(client)` binds them to one client.
 */
import {
  type AssignSpec,
  assign,
  cancelTask,
  completeSubtask,
  createTask,
  type ListSpec,
  listTasks,
  type TaskSpec,
  taskStatus,
} from './create.js';
import type { WorkerClient } from './inbox.js';
import { type WaitForOptions, waitFor } from './wait.js';
import { type WorkerOptions, worker } from './worker.js';

export {
  type AssignSpec,
  assign,
  type CompleteSpec,
  cancelTask,
  completeSubtask,
  createTask,
  type ListSpec,
  listTasks,
  type TaskAssigned,
  type TaskCancelled,
  type TaskClient,
  type TaskCompleted,
  type TaskCreated,
  type TaskListed,
  type TaskSpec,
  type TaskStatusResult,
  taskStatus,
} from './create.js';
export type { WorkerClient } from './inbox.js';
export { isEnded, TaskEndedError, type WaitForOptions, waitFor } from './wait.js';
export {
  MAX_CONCURRENCY,
  MAX_QUEUED,
  type SubtaskContext,
  type TaskWorker,
  type WorkerOptions,
  type WorkerStats,
  worker,
} from './worker.js';
export { type StepSpec, Workflow, type WorkflowRun, type WorkflowRunOptions, workflow } from './workflow.js';

/** The task functions bound to one client: `const t = tasks(client); await t.waitFor((await t.create(spec)).task_id)`. */
export function tasks(client: WorkerClient) {
  return {
    create: (spec: TaskSpec) => createTask(client, spec),
    assign: (request: AssignSpec) => assign(client, request),
    status: (taskId: string, options: { waitMs?: number; sinceVersion?: number } = {}) =>
      taskStatus(client, {
        task_id: taskId,
        ...(options.waitMs === undefined ? {} : { wait_ms: options.waitMs }),
        ...(options.sinceVersion === undefined ? {} : { since_version: options.sinceVersion }),
      }),
    complete: (request: Parameters<typeof completeSubtask>[1]) => completeSubtask(client, request),
    list: (request: ListSpec = {}) => listTasks(client, request),
    cancel: (taskId: string, reason?: string) => cancelTask(client, taskId, reason),
    waitFor: (taskId: string, options?: WaitForOptions) => waitFor(client, taskId, options),
    worker: (options: WorkerOptions) => worker(client, options),
  };
}
