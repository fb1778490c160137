/**
 * Shared by the task syscall tests (not a test file itself): workers that RECV the
 * kernel's task messages, and typed shortcuts for TASK_STATUS.
 */
import type { SubtaskView, TaskAssignedMessage, TaskCancelledMessage, TaskView } from '../../src/protocol/schemas/tasks.js';
import type { AgentOSClient } from '../../src/sdk/client.js';

export type TaskMessage = (TaskAssignedMessage | TaskCancelledMessage) & { from: number; from_name: string | null };

/** Messages a worker RECVed but nobody asked for yet, per client. */
const inboxes = new WeakMap<AgentOSClient, TaskMessage[]>();

/**
 * The next kernel message of `type` in `worker`'s mailbox (others stay for later calls);
 * fails after `timeoutMs`.
 */
export async function nextMessage<T extends TaskMessage['type']>(
  worker: AgentOSClient,
  type: T,
  timeoutMs = 10_000,
): Promise<Extract<TaskMessage, { type: T }>> {
  let inbox = inboxes.get(worker);
  if (!inbox) {
    inbox = [];
    inboxes.set(worker, inbox);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const index = inbox.findIndex((message) => message.type === type);
    if (index >= 0) return inbox.splice(index, 1)[0] as Extract<TaskMessage, { type: T }>;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`agent ${worker.agentId} received no ${type} message within ${timeoutMs} ms`);
    const messages = await worker.recv({ max: 100, waitMs: Math.min(left, 1000) });
    for (const received of messages) {
      inbox.push({
        ...(received.message as TaskAssignedMessage | TaskCancelledMessage),
        from: received.from,
        from_name: received.from_name,
      });
    }
  }
}

/** Nothing of `type` arrives within `ms` (a short check that only fails when something does arrive). */
export async function noMessage(worker: AgentOSClient, type: TaskMessage['type'], ms = 200): Promise<boolean> {
  try {
    await nextMessage(worker, type, ms);
    return false;
  } catch {
    return true;
  }
}

export function subtask(task: TaskView, key: string): SubtaskView {
  const found = task.subtasks.find((s) => s.key === key);
  if (!found) throw new Error(`task ${task.task_id} has no subtask "${key}"`);
  return found;
}

/** The task's view through TASK_STATUS. */
export async function statusOf(client: AgentOSClient, taskId: string): Promise<TaskView> {
  return (await client.taskStatus({ task_id: taskId })).task;
}

/** Long-polls TASK_STATUS until `check` holds for the task; fails after `timeoutMs`. */
export async function waitTask(
  client: AgentOSClient,
  taskId: string,
  check: (task: TaskView) => boolean,
  timeoutMs = 10_000,
): Promise<TaskView> {
  const deadline = Date.now() + timeoutMs;
  let task = await statusOf(client, taskId);
  while (!check(task)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`task ${taskId} did not reach the expected state: ${JSON.stringify(task)}`);
    task = (await client.taskStatus({ task_id: taskId, since_version: task.version, wait_ms: Math.min(left, 1000) })).task;
  }
  return task;
}
