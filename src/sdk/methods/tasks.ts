/**
 * Tasks (docs/protocol.md, Tasks): TASK_CREATE, TASK_ASSIGN, TASK_STATUS, TASK_COMPLETE,
 * TASK_LIST, TASK_CANCEL as thin typed calls. The friendlier layer (createTask, waitFor,
 * worker, workflow) is built on these.
 */
import { Op } from '../../protocol/opcodes.js';
import type {
  TaskAssignReply,
  TaskAssignRequest,
  TaskCancelReply,
  TaskCancelRequest,
  TaskCompleteReply,
  TaskCompleteRequest,
  TaskCreateReply,
  TaskCreateRequest,
  TaskListReply,
  TaskListRequest,
  TaskStatusReply,
  TaskStatusRequest,
} from '../../protocol/schemas/tasks.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const taskMethods = ({ call }: Context) => ({
  /** TASK_CREATE: a task, with `subtasks` (a DAG by `depends_on` keys) or one implicit subtask "main". */
  taskCreate(request: Request<typeof TaskCreateRequest>): Promise<Reply<typeof TaskCreateReply>> {
    return call(Op.TASK_CREATE, request);
  },

  /** TASK_ASSIGN: a subtask (by key or id; omitted: "main") to one of `agent_id`, `agent_name` or `role`. */
  taskAssign(request: Request<typeof TaskAssignRequest>): Promise<Reply<typeof TaskAssignReply>> {
    return call(Op.TASK_ASSIGN, request);
  },

  /** TASK_STATUS: the task's view; with `wait_ms`, waits for a version above `since_version` (default: the current one). */
  taskStatus(request: Request<typeof TaskStatusRequest>): Promise<Reply<typeof TaskStatusReply>> {
    return call(Op.TASK_STATUS, request);
  },

  /** TASK_COMPLETE: `result` completes a subtask, `error` fails its attempt (the retry policy decides what follows). */
  taskComplete(request: Request<typeof TaskCompleteRequest>): Promise<Reply<typeof TaskCompleteReply>> {
    return call(Op.TASK_COMPLETE, request);
  },

  /** TASK_LIST: tasks, newest first, optionally of one `status`. */
  taskList(request: Request<typeof TaskListRequest> = {}): Promise<Reply<typeof TaskListReply>> {
    return call(Op.TASK_LIST, request);
  },

  /** TASK_CANCEL: every unfinished subtask is cancelled; assignees holding one get a task.cancelled message. */
  taskCancel(request: Request<typeof TaskCancelRequest>): Promise<Reply<typeof TaskCancelReply>> {
    return call(Op.TASK_CANCEL, request);
  },
});
