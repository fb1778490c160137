/**
 * One task's lifecycle (issue 7), as a pure machine: pending until a subtask runs, running,
 * then completed (every subtask completed), failed (a subtask ran out of retries, a task it
 * depends on did not complete, or its deadline passed) or cancelled (TASK_CANCEL). The
 * machine only decides which transitions are legal, so a late TASK_COMPLETE after a cancel
 * or a second failure is ignored rather than half-applied; what each end does (cancel the
 * unfinished subtasks and tell their assignees, release timers, wake dependent tasks) is
 * provided by src/tasks/engine.ts.
 *
 * Tasks are *temporary* children of the kernel's `tasks` supervisor: a task actor is never
 * restarted by it; a kernel restart rebuilds live tasks from the database instead.
 */
import { assign, setup } from 'xstate';

export interface TaskMachineInput {
  taskId: string;
}

export interface TaskMachineContext extends TaskMachineInput {
  /** Why it failed or was cancelled; null otherwise. */
  error: string | null;
}

export type TaskMachineEvent =
  | { type: 'task.start' }
  | { type: 'task.complete' }
  | { type: 'task.fail'; error: string }
  | { type: 'task.cancel'; reason: string };

function reasonOf(event: TaskMachineEvent): string | null {
  if (event.type === 'task.fail') return event.error;
  if (event.type === 'task.cancel') return event.reason;
  return null;
}

export const taskMachine = setup({
  types: {
    context: {} as TaskMachineContext,
    input: {} as TaskMachineInput,
    events: {} as TaskMachineEvent,
  },
  actions: {
    // Provided by the engine: cancel every unfinished subtask (telling assignees of delivered ones).
    cancelUnfinished: () => {},
    // Provided by the engine: stop the task's timers, wake dependent tasks, retire the record.
    settle: () => {},
    recordError: assign({ error: ({ event }) => reasonOf(event) }),
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => ({ ...input, error: null }),
  initial: 'pending',
  states: {
    pending: {
      on: {
        'task.start': 'running',
        // A creator (or admin) may complete every subtask before any was delivered.
        'task.complete': 'completed',
        'task.fail': 'failed',
        'task.cancel': 'cancelled',
      },
    },
    running: {
      on: {
        'task.complete': 'completed',
        'task.fail': 'failed',
        'task.cancel': 'cancelled',
      },
    },
    completed: { type: 'final', entry: 'settle' },
    failed: { type: 'final', entry: ['recordError', 'cancelUnfinished', 'settle'] },
    cancelled: { type: 'final', entry: ['recordError', 'cancelUnfinished', 'settle'] },
  },
});

export type TaskLifecycle = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
