/**
 * TASK_CREATE, TASK_ASSIGN, TASK_STATUS, TASK_COMPLETE, TASK_LIST and TASK_CANCEL
 * (protocol.md §5, docs/protocol.md "Tasks"). The task engine (src/tasks/engine.ts) holds
 * the state, enforces who may do what and replies only after a change is committed; these
 * handlers check the request, name the caller, and shape the reply.
 */
import type { Session } from '../kernel/session.js';
import { defineSyscall, type KernelServices } from '../kernel/syscall.js';
import {
  TaskAssignRequest,
  TaskCancelRequest,
  TaskCompleteRequest,
  TaskCreateRequest,
  TaskListRequest,
  TaskStatusRequest,
} from '../protocol/schemas/tasks.js';
import { taskCaller } from '../tasks/kernel-deps.js';

const callerOf = (session: Session, kernel: KernelServices) => taskCaller(session.agent, kernel.agents);

export const taskCreate = defineSyscall({
  name: 'TASK_CREATE',
  request: TaskCreateRequest,
  handle: async (request, session, kernel) => {
    const created = await kernel.tasks.create(request, callerOf(session, kernel));
    return { success: true as const, ...created };
  },
});

export const taskAssign = defineSyscall({
  name: 'TASK_ASSIGN',
  request: TaskAssignRequest,
  handle: async (request, session, kernel) => {
    const assigned = await kernel.tasks.assign(request, callerOf(session, kernel));
    return { success: true as const, ...assigned };
  },
});

export const taskStatus = defineSyscall({
  name: 'TASK_STATUS',
  request: TaskStatusRequest,
  handle: async (request, session, kernel) => {
    const task = kernel.tasks.require(request.task_id, 'TASK_STATUS');
    const since = request.since_version ?? task.version;
    if (task.version > since || request.wait_ms === 0) {
      return { success: true as const, task, changed: task.version > since };
    }
    // The long poll ends when the connection closes: its waiter goes with it.
    const waited = await kernel.tasks.waitForChange(request.task_id, since, request.wait_ms, session.closed);
    return { success: true as const, ...waited };
  },
});

export const taskComplete = defineSyscall({
  name: 'TASK_COMPLETE',
  request: TaskCompleteRequest,
  handle: async (request, session, kernel) => {
    const completed = await kernel.tasks.complete(request, callerOf(session, kernel));
    return { success: true as const, ...completed };
  },
});

export const taskList = defineSyscall({
  name: 'TASK_LIST',
  request: TaskListRequest,
  handle: (request, _session, kernel) => {
    const tasks = kernel.tasks.list({ limit: request.limit, ...(request.status === undefined ? {} : { status: request.status }) });
    return { success: true as const, tasks, count: tasks.length };
  },
});

export const taskCancel = defineSyscall({
  name: 'TASK_CANCEL',
  request: TaskCancelRequest,
  handle: async (request, session, kernel) => {
    const cancelled = await kernel.tasks.cancel(request.task_id, request.reason, callerOf(session, kernel));
    return { success: true as const, ...cancelled };
  },
});
