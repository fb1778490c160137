/**
 * One subtask's lifecycle (issue 7) as a transition table, and the same table as a machine
 * for `agentos statecharts`. The engine moves thousands of subtasks per second, so it does
 * not run an actor per subtask: it asks `subtaskTransition()` whether a move is legal and
 * refuses (or ignores) the ones that are not. The machine is built from the table, so the
 * exported chart cannot drift from what the engine enforces.
 *
 *   pending   no assignee yet (or waiting for its role's next free agent, or a retry backoff)
 *   assigned  has an assignee, waiting for its dependencies (or a retry backoff)
 *   running   delivered: the task.assigned message is in the assignee's mailbox
 *   completed | failed | cancelled   final
 */
import { createMachine } from 'xstate';
import type { SubtaskStatus } from '../protocol/schemas/tasks.js';

export type SubtaskEventType =
  | 'subtask.assign' // an assignee is chosen (TASK_ASSIGN, or its role when ready)
  | 'subtask.unassign' // the assignee exited before delivery, or TASK_ASSIGN gave it a role
  | 'subtask.deliver' // the message is in the assignee's mailbox: an attempt starts
  | 'subtask.complete' // TASK_COMPLETE with a result
  | 'subtask.retry' // an attempt failed with retries left: back to the same assignee
  | 'subtask.requeue' // an attempt failed with retries left: back to its role (or TASK_ASSIGN)
  | 'subtask.fail' // an attempt failed with no retries left, or the creator failed it
  | 'subtask.cancel'; // TASK_CANCEL, or the task failed

export const SUBTASK_TRANSITIONS: Readonly<Record<SubtaskStatus, Readonly<Partial<Record<SubtaskEventType, SubtaskStatus>>>>> = {
  pending: {
    'subtask.assign': 'assigned',
    'subtask.unassign': 'pending',
    'subtask.complete': 'completed',
    'subtask.fail': 'failed',
    'subtask.cancel': 'cancelled',
  },
  assigned: {
    'subtask.assign': 'assigned',
    'subtask.unassign': 'pending',
    'subtask.deliver': 'running',
    'subtask.complete': 'completed',
    'subtask.fail': 'failed',
    'subtask.cancel': 'cancelled',
  },
  running: {
    'subtask.complete': 'completed',
    'subtask.retry': 'assigned',
    'subtask.requeue': 'pending',
    'subtask.fail': 'failed',
    'subtask.cancel': 'cancelled',
  },
  completed: {},
  failed: {},
  cancelled: {},
};

/** The state after `event`, or undefined when the table has no such move. */
export function subtaskTransition(from: SubtaskStatus, event: SubtaskEventType): SubtaskStatus | undefined {
  return SUBTASK_TRANSITIONS[from][event];
}

export function isFinalSubtask(status: SubtaskStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

export const subtaskMachine = createMachine({
  id: 'subtask',
  types: {} as { events: { type: SubtaskEventType } },
  initial: 'pending',
  states: Object.fromEntries(
    (Object.keys(SUBTASK_TRANSITIONS) as SubtaskStatus[]).map((status) => [
      status,
      isFinalSubtask(status) ? { type: 'final' as const } : { on: { ...SUBTASK_TRANSITIONS[status] } },
    ]),
  ),
});
