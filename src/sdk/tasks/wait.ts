/**
 * waitFor: TASK_STATUS long polls with `since_version` until a task ends. Each poll waits
 * at most MAX_TASK_WAIT_MS (the syscall's limit), so a long wait is a chain of polls, and
 * every version seen in between is passed to `onUpdate` (several changes between two
 * polls arrive as one view: the newest).
 */
import { MAX_TASK_WAIT_MS, type TaskStatus, type TaskView } from '../../protocol/schemas/tasks.js';
import { AgentOSError } from '../errors.js';
import { type TaskClient, taskStatus } from './create.js';

export interface WaitForOptions {
  /** Give up after this long (TIMEOUT); default: wait as long as the task runs. */
  timeoutMs?: number;
  /** Every new version of the task, the first one included. */
  onUpdate?: (task: TaskView) => void;
  /** Stops waiting (rejects with the signal's reason); the task itself goes on. */
  signal?: AbortSignal;
}

const ENDED: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isEnded(status: TaskStatus): boolean {
  return ENDED.has(status);
}

/** A task that ended failed or cancelled; `task` is its final view (which subtask failed, and why, is in it). */
export class TaskEndedError extends Error {
  readonly task: TaskView;
  readonly status: 'failed' | 'cancelled';

  constructor(task: TaskView) {
    super(`task ${task.task_id} ${task.status}${task.error ? `: ${task.error}` : ''}`);
    this.name = 'TaskEndedError';
    this.task = task;
    this.status = task.status as 'failed' | 'cancelled';
  }
}

/**
 * Resolves with the task's final view once it completed; rejects with TaskEndedError when
 * it failed or was cancelled, AgentOSError TIMEOUT after `timeoutMs`, NOT_FOUND for an
 * unknown task.
 */
export async function waitFor(client: TaskClient, taskId: string, options: WaitForOptions = {}): Promise<TaskView> {
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  let version = -1;
  for (;;) {
    options.signal?.throwIfAborted();
    const left = deadline - Date.now();
    // The first poll does not wait: it reports the current view (which may have ended already).
    const waitMs = version < 0 ? 0 : Math.max(0, Math.min(left, MAX_TASK_WAIT_MS));
    const poll = taskStatus(client, version < 0 ? { task_id: taskId } : { task_id: taskId, wait_ms: waitMs, since_version: version });
    const { task } = await abortable(poll, options.signal);
    if (task.version !== version) {
      version = task.version;
      options.onUpdate?.(task);
    }
    if (task.status === 'completed') return task;
    if (isEnded(task.status)) throw new TaskEndedError(task);
    if (Date.now() >= deadline) {
      throw new AgentOSError('TIMEOUT', `task ${taskId} is still ${task.status} after ${options.timeoutMs} ms (timeoutMs)`);
    }
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts (the poll itself runs out on its own). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
