/**
 * worker({ role, handle }): an agent that takes subtasks. It REGISTERs the role, then
 * runs each `task.assigned` message the kernel delivers through `handle` (at most
 * `concurrency` at once; the rest wait in a bounded queue) and answers TASK_COMPLETE with
 * the handler's result, or with `error` (the thrown error's message) so the kernel's
 * retry policy takes over. A `task.cancelled` message, or the attempt's deadline, aborts
 * that subtask's `signal`; an aborted attempt is not reported (the kernel has moved on).
 */
import type { Message } from '../../protocol/schemas/ipc.js';
import { AgentOSError } from '../errors.js';
import { completeSubtask } from './create.js';
import { type AssignedMessage, type CancelledMessage, taskInbox, type WorkerClient } from './inbox.js';

/** What `handle` gets: the delivered subtask (its input, its dependencies' results by key), and a signal. */
export interface SubtaskContext extends Omit<AssignedMessage, 'type'> {
  /** Aborted when the subtask is cancelled, its deadline passes, or the worker stops. */
  signal: AbortSignal;
  /** The IPC message it came in. */
  envelope: Message;
}

export interface WorkerOptions {
  role: string;
  /** Its return value (JSON) completes the subtask; a throw fails the attempt with the error's message. */
  handle: (subtask: SubtaskContext) => unknown;
  /** Subtasks handled at once (default 1). */
  concurrency?: number;
  /** Messages that are not the kernel's task messages (RECV takes every message, so they come here). */
  onMessage?: (message: Message) => void;
  /** A TASK_COMPLETE that failed for another reason than the kernel having moved on, or the inbox loop ending. */
  onError?: (error: unknown, subtask?: SubtaskContext) => void;
  /** REGISTER `{ role }` first (default true; false when the agent took it already). */
  register?: boolean;
}

export interface WorkerStats {
  completed: number;
  failed: number;
  running: number;
  queued: number;
}

export interface TaskWorker {
  readonly role: string;
  readonly stats: Readonly<WorkerStats>;
  /** Resolves once the worker stopped (stop(), or the client closed: then running handlers are aborted, not awaited). */
  readonly done: Promise<void>;
  /** Takes no more subtasks, hands queued ones back (failed, so the kernel retries them), waits for running ones and their reports. */
  stop(): Promise<void>;
}

export const MAX_CONCURRENCY = 256;
/** Delivered but not started; beyond it a subtask is handed back at once, not kept in memory. */
export const MAX_QUEUED = 1000;
/** TaskCompleteRequest's limit on `error`. */
const MAX_ERROR_CHARS = 10_000;

/** Kernel answers that mean the subtask is no longer this attempt's to report: cancelled, timed out, reassigned. */
const MOVED_ON = new Set(['CONFLICT', 'NOT_FOUND', 'PERMISSION_DENIED']);

export async function worker(client: WorkerClient, options: WorkerOptions): Promise<TaskWorker> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new AgentOSError('INVALID_REQUEST', `expected concurrency to be a whole number from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`);
  }
  // REGISTER before the RECV loop starts: replies come in request order, so behind a long poll it would wait for it.
  if (options.register !== false) await client.call('REGISTER', { role: options.role });
  return new Worker(client, options, concurrency);
}

class Worker implements TaskWorker {
  readonly role: string;
  readonly stats: WorkerStats = { completed: 0, failed: 0, running: 0, queued: 0 };
  readonly done: Promise<void>;
  readonly #client: WorkerClient;
  readonly #options: WorkerOptions;
  readonly #concurrency: number;
  readonly #queue: { message: AssignedMessage; envelope: Message }[] = [];
  /** Subtask id → the abort of its running attempt. */
  readonly #running = new Map<string, AbortController>();
  /** TASK_COMPLETEs sent and not answered yet: stop() waits for them. */
  readonly #reporting = new Set<Promise<void>>();
  readonly #unsubscribe: () => void;
  #stopping = false;
  /** The client closed or failed: stop() does not wait for handlers. */
  #gone = false;
  #resolveDone!: () => void;

  constructor(client: WorkerClient, options: WorkerOptions, concurrency: number) {
    this.role = options.role;
    this.#client = client;
    this.#options = options;
    this.#concurrency = concurrency;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#unsubscribe = taskInbox(client).subscribe({
      role: options.role,
      assigned: (message, envelope) => this.#assigned(message, envelope),
      cancelled: (message) => this.#cancelled(message),
      ended: (error) => {
        if (!this.#stopping && error !== undefined) options.onError?.(error);
        // Nothing a running handler produces can be reported any more: abort them, and do not wait.
        this.#gone = true;
        for (const abort of this.#running.values()) abort.abort(new Error('the client closed'));
        void this.stop();
      },
      ...(options.onMessage ? { onMessage: options.onMessage } : {}),
    });
  }

  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#unsubscribe();
      // Handed back so the kernel retries them now rather than at their timeout; with the client gone it will see the exit.
      for (const { message } of this.#queue.splice(0)) if (!this.#gone) this.#handBack(message, 'the worker stopped before starting it');
      this.stats.queued = 0;
      this.#settleIfIdle();
    }
    return this.done;
  }

  #assigned(message: AssignedMessage, envelope: Message): void {
    if (this.#stopping || this.#queue.length >= MAX_QUEUED) {
      this.#handBack(message, this.#stopping ? 'the worker is stopping' : `the worker's queue is full (${MAX_QUEUED} subtasks)`);
      return;
    }
    // A new attempt at a subtask this worker still runs: the old attempt is over for the kernel.
    this.#running.get(message.subtask_id)?.abort(new Error('superseded by a new attempt'));
    this.#queue.push({ message, envelope });
    this.stats.queued = this.#queue.length;
    this.#pump();
  }

  #cancelled(message: CancelledMessage): void {
    const index = this.#queue.findIndex((queued) => queued.message.subtask_id === message.subtask_id);
    if (index >= 0) this.#queue.splice(index, 1);
    this.stats.queued = this.#queue.length;
    this.#running.get(message.subtask_id)?.abort(new Error(`cancelled: ${message.reason}`));
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#queue.length > 0) {
      const next = this.#queue.shift() as { message: AssignedMessage; envelope: Message };
      this.stats.queued = this.#queue.length;
      void this.#run(next.message, next.envelope);
    }
  }

  async #run(message: AssignedMessage, envelope: Message): Promise<void> {
    const abort = new AbortController();
    this.#running.set(message.subtask_id, abort);
    this.stats.running = this.#running.size;
    const { type: _type, ...delivered } = message;
    const context: SubtaskContext = { ...delivered, signal: abort.signal, envelope };
    const untilDeadline = message.deadline === null ? undefined : Math.max(0, message.deadline - Date.now());
    const deadline =
      untilDeadline === undefined ? undefined : setTimeout(() => abort.abort(new Error('the attempt passed its deadline')), untilDeadline);
    let outcome: { result: unknown } | { error: string };
    try {
      outcome = { result: await this.#options.handle(context) };
    } catch (error) {
      outcome = { error: errorText(error) };
    }
    clearTimeout(deadline);
    if (this.#running.get(message.subtask_id) === abort) this.#running.delete(message.subtask_id);
    this.stats.running = this.#running.size;
    // The slot is free once the handler returned: the report's reply may wait behind this client's RECV long poll.
    if (!this.#stopping) this.#pump();
    if (!abort.signal.aborted) {
      if ('error' in outcome) this.stats.failed += 1;
      else this.stats.completed += 1;
      await this.#track(this.#report(message, outcome, context));
    }
    this.#settleIfIdle();
  }

  /** TASK_COMPLETE with the handler's outcome; a result the schema refuses (too big, not JSON) fails the attempt instead of leaving it to time out. */
  async #report(message: AssignedMessage, outcome: { result: unknown } | { error: string }, context: SubtaskContext): Promise<void> {
    const address = { task_id: message.task_id, subtask_id: message.subtask_id };
    try {
      try {
        await completeSubtask(this.#client, {
          ...address,
          ...('error' in outcome ? { error: outcome.error } : outcome.result === undefined ? {} : { result: outcome.result }),
        });
      } catch (error) {
        if (!(error instanceof AgentOSError && error.code === 'INVALID_REQUEST' && 'result' in outcome)) throw error;
        this.stats.completed -= 1;
        this.stats.failed += 1;
        await completeSubtask(this.#client, { ...address, error: errorText(`the result was refused: ${error.message}`) });
      }
    } catch (error) {
      if (!(error instanceof AgentOSError && MOVED_ON.has(error.code))) this.#options.onError?.(error, context);
    }
  }

  async #track(report: Promise<void>): Promise<void> {
    this.#reporting.add(report);
    try {
      await report;
    } finally {
      this.#reporting.delete(report);
    }
  }

  /** Fails the attempt so the kernel's retry policy gives it to another agent (or this one, later). */
  #handBack(message: AssignedMessage, why: string): void {
    const report = completeSubtask(this.#client, { task_id: message.task_id, subtask_id: message.subtask_id, error: why }).then(
      () => undefined,
      (error: unknown) => {
        if (!(error instanceof AgentOSError && MOVED_ON.has(error.code))) this.#options.onError?.(error);
      },
    );
    void this.#track(report).then(() => this.#settleIfIdle());
  }

  #settleIfIdle(): void {
    if (this.#stopping && (this.#gone || (this.#running.size === 0 && this.#reporting.size === 0))) this.#resolveDone();
  }
}

function errorText(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)) || 'the handler failed without a message';
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}
