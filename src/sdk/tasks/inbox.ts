/**
 * One RECV loop per client for the task workers on it. RECV takes every message in the
 * mailbox, so two workers each reading on their own would take each other's subtasks;
 * here one loop reads and routes: `task.assigned` to the worker of the subtask's role
 * (looked up with TASK_STATUS only when the client runs workers of several roles; a
 * subtask assigned by agent rather than role goes to the first worker), `task.cancelled`
 * to every worker (each ignores subtasks it does not hold), anything else to the first
 * worker with an `onMessage`. The loop runs while at least one worker is subscribed.
 */
import type { z } from 'zod';
import type { Message } from '../../protocol/schemas/ipc.js';
import { TaskAssignedMessage, TaskCancelledMessage } from '../../protocol/schemas/tasks.js';
import type { AgentOSClient } from '../client.js';
import { type TaskClient, taskStatus } from './create.js';

/** What a worker needs of a client: `call` for the syscalls, `messages` for its mailbox. */
export type WorkerClient = TaskClient & Pick<AgentOSClient, 'call' | 'messages'>;

export type AssignedMessage = z.infer<typeof TaskAssignedMessage>;
export type CancelledMessage = z.infer<typeof TaskCancelledMessage>;

export interface Subscriber {
  readonly role: string;
  assigned(message: AssignedMessage, envelope: Message): void;
  cancelled(message: CancelledMessage): void;
  /** The loop ended: the client closed (no error) or failed (the connection is gone); no more subtasks will come. */
  ended(error: unknown): void;
  readonly onMessage?: (message: Message) => void;
}

/**
 * How long each RECV of the loop waits. Replies on one connection come in request order,
 * so while a RECV waits, the replies to this client's other calls (TASK_COMPLETE,
 * TASK_STATUS, REGISTER) wait behind it; the kernel acts on those calls at once, only
 * their answers are held. A short wait bounds that delay (and how long stop() takes) at
 * the cost of one idle RECV a second. A message ends a RECV at once, whatever its wait.
 */
export const RECV_WAIT_MS = 1000;

/** The kernel sends task messages as agent 0. */
const KERNEL = 0;

class TaskInbox {
  readonly #client: WorkerClient;
  readonly #subscribers: Subscriber[] = [];
  #stop: AbortController | undefined;

  constructor(client: WorkerClient) {
    this.#client = client;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.push(subscriber);
    if (!this.#stop) this.#run();
    return () => {
      const index = this.#subscribers.indexOf(subscriber);
      if (index >= 0) this.#subscribers.splice(index, 1);
      if (this.#subscribers.length === 0) {
        this.#stop?.abort();
        this.#stop = undefined;
      }
    };
  }

  #run(): void {
    const stop = new AbortController();
    this.#stop = stop;
    const loop = async () => {
      for await (const envelope of this.#client.messages({ signal: stop.signal, waitMs: RECV_WAIT_MS })) await this.#route(envelope);
    };
    loop().then(
      () => this.#end(stop, undefined),
      (error: unknown) => this.#end(stop, error),
    );
  }

  #end(stop: AbortController, error: unknown): void {
    if (this.#stop !== stop) return; // stopped on purpose; a newer loop may run
    this.#stop = undefined;
    for (const subscriber of [...this.#subscribers]) subscriber.ended(error);
  }

  async #route(envelope: Message): Promise<void> {
    if (envelope.from === KERNEL) {
      const assigned = TaskAssignedMessage.safeParse(envelope.message);
      if (assigned.success) {
        (await this.#workerFor(assigned.data))?.assigned(assigned.data, envelope);
        return;
      }
      const cancelled = TaskCancelledMessage.safeParse(envelope.message);
      if (cancelled.success) {
        for (const subscriber of [...this.#subscribers]) subscriber.cancelled(cancelled.data);
        return;
      }
    }
    this.#subscribers.find((subscriber) => subscriber.onMessage)?.onMessage?.(envelope);
  }

  async #workerFor(message: AssignedMessage): Promise<Subscriber | undefined> {
    const [first] = this.#subscribers;
    if (this.#subscribers.every((subscriber) => subscriber.role === first?.role)) return first;
    try {
      const { task } = await taskStatus(this.#client, { task_id: message.task_id });
      const role = task.subtasks.find((subtask) => subtask.subtask_id === message.subtask_id)?.role;
      return this.#subscribers.find((subscriber) => subscriber.role === role) ?? this.#subscribers[0];
    } catch {
      // The task is gone (or the kernel unreachable): nobody can complete it anyway.
      return undefined;
    }
  }
}

const inboxes = new WeakMap<WorkerClient, TaskInbox>();

/** The client's task inbox (made on first use). */
export function taskInbox(client: WorkerClient): TaskInbox {
  let inbox = inboxes.get(client);
  if (!inbox) {
    inbox = new TaskInbox(client);
    inboxes.set(client, inbox);
  }
  return inbox;
}
