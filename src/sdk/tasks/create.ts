/**
 * The task syscalls as functions of a client: TASK_CREATE, TASK_ASSIGN, TASK_STATUS,
 * TASK_COMPLETE, TASK_LIST, TASK_CANCEL. Requests are checked by the protocol's schemas
 * on this side first, so a bad spec fails with INVALID_REQUEST naming the field before
 * anything reaches the kernel; replies are typed from the same schemas.
 */
import type { z } from 'zod';
import {
  type TaskAssignReply,
  TaskAssignRequest,
  type TaskCancelReply,
  TaskCancelRequest,
  type TaskCompleteReply,
  TaskCompleteRequest,
  type TaskCreateReply,
  TaskCreateRequest,
  type TaskListReply,
  TaskListRequest,
  type TaskStatusReply,
  TaskStatusRequest,
} from '../../protocol/schemas/tasks.js';
import type { AgentOSClient } from '../client.js';
import { validate } from '../methods/context.js';

/** What TASK_CREATE takes (fields with defaults optional): the task's description and subtasks. */
export type TaskSpec = z.input<typeof TaskCreateRequest>;
export type AssignSpec = z.input<typeof TaskAssignRequest>;
export type CompleteSpec = z.input<typeof TaskCompleteRequest>;
export type ListSpec = z.input<typeof TaskListRequest>;

export type TaskCreated = z.output<typeof TaskCreateReply>;
export type TaskAssigned = z.output<typeof TaskAssignReply>;
export type TaskStatusResult = z.output<typeof TaskStatusReply>;
export type TaskCompleted = z.output<typeof TaskCompleteReply>;
export type TaskListed = z.output<typeof TaskListReply>;
export type TaskCancelled = z.output<typeof TaskCancelReply>;

/** The parts of a client these functions use (E2's thin wrappers in methods/tasks.ts). */
export type TaskClient = Pick<AgentOSClient, 'taskCreate' | 'taskAssign' | 'taskStatus' | 'taskComplete' | 'taskList' | 'taskCancel'>;

/** TASK_CREATE: resolves with the task id and its subtasks' ids (`<task_id>/<key>`). */
export function createTask(client: TaskClient, spec: TaskSpec): Promise<TaskCreated> {
  return client.taskCreate(validate('TASK_CREATE', TaskCreateRequest, spec));
}

/** TASK_ASSIGN a subtask (key or id; none: the task's only one) to one agent by id or name, or to a role. */
export function assign(client: TaskClient, request: AssignSpec): Promise<TaskAssigned> {
  return client.taskAssign(validate('TASK_ASSIGN', TaskAssignRequest, request));
}

/** TASK_STATUS: the task's view; with `wait_ms`, once its version is above `since_version` (or the wait ends). */
export function taskStatus(client: TaskClient, request: z.input<typeof TaskStatusRequest>): Promise<TaskStatusResult> {
  return client.taskStatus(validate('TASK_STATUS', TaskStatusRequest, request));
}

/** TASK_COMPLETE a subtask with its `result`, or fail its attempt with `error` (the retry policy decides what follows). */
export function completeSubtask(client: TaskClient, request: CompleteSpec): Promise<TaskCompleted> {
  return client.taskComplete(validate('TASK_COMPLETE', TaskCompleteRequest, request));
}

/** TASK_LIST: newest first, optionally of one status. */
export function listTasks(client: TaskClient, request: ListSpec = {}): Promise<TaskListed> {
  return client.taskList(validate('TASK_LIST', TaskListRequest, request));
}

/** TASK_CANCEL: every unfinished subtask is cancelled and its assignee told. */
export function cancelTask(client: TaskClient, taskId: string, reason?: string): Promise<TaskCancelled> {
  return client.taskCancel(
    validate('TASK_CANCEL', TaskCancelRequest, reason === undefined ? { task_id: taskId } : { task_id: taskId, reason }),
  );
}
