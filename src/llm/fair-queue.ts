/**
 * Fair queuing of LLM calls: one FIFO per agent, served round-robin, with at most
 * `concurrency` calls running across every agent. An agent that floods THINK waits
 * behind itself: another agent's call starts after the calls already running and at
 * most one call of each agent that was waiting before it, however long their queues.
 *
 * The round-robin ring is the insertion order of a Map holding only agents with
 * waiting calls: serving an agent takes it from the front and, while it still has
 * calls waiting, puts it back at the end. Every step is O(1) but dropping a cancelled
 * call, which is O(its agent's queue), bounded by `maxQueuedPerKey`.
 */
import { KernelError } from '../protocol/errors.js';
import { type LinkedAbort, linkedAbort, onAbort } from './linked-abort.js';

export interface FairQueueOptions {
  /** Calls running at once, across every key. */
  concurrency: number;
  /** Calls one key may have waiting; beyond it run() refuses with QUOTA_EXCEEDED. */
  maxQueuedPerKey: number;
  /** Calls waiting across every key; beyond it run() refuses with UNAVAILABLE. */
  maxQueued: number;
}

export type Task<T> = (signal: AbortSignal) => Promise<T>;

interface Waiting {
  readonly key: number;
  readonly start: () => void;
  readonly cancel: (reason: KernelError) => void;
}

export class FairQueue {
  readonly #options: FairQueueOptions;
  /** Keys with calls waiting, in round-robin order; each holds its FIFO. */
  readonly #ring = new Map<number, Waiting[]>();
  #queued = 0;
  #running = 0;
  /** Set by close(): no new call, and every running one aborted. */
  #closed = false;
  readonly #runningAborts = new Set<LinkedAbort>();

  constructor(options: FairQueueOptions) {
    this.#options = options;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queued;
  }

  /** Calls `key` has waiting (not running). */
  queuedFor(key: number): number {
    return this.#ring.get(key)?.length ?? 0;
  }

  /** Throws the refusal run() would give when `key` cannot queue one more call now. */
  assertRoom(key: number): void {
    if (this.#closed) throw new KernelError('UNAVAILABLE', 'the kernel is stopping: no new LLM calls');
    if (this.#running < this.#options.concurrency && this.#queued === 0) return;
    if (this.queuedFor(key) >= this.#options.maxQueuedPerKey) {
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `agent ${key} already has ${this.#options.maxQueuedPerKey} LLM calls waiting (llm.maxQueuePerAgent); wait for their replies`,
      );
    }
    if (this.#queued >= this.#options.maxQueued) {
      throw new KernelError(
        'UNAVAILABLE',
        `the LLM queue is full (${this.#options.maxQueued} calls waiting across agents); try again shortly`,
      );
    }
  }

  /**
   * Runs `task` when `key`'s turn comes. When `signal` aborts (the caller's connection
   * closed), a waiting call is dropped at once and a running one sees its task's signal abort.
   */
  run<T>(key: number, task: Task<T>, signal: AbortSignal): Promise<T> {
    try {
      this.assertRoom(key);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal.aborted) return Promise.reject(cancelled());
    if (this.#running < this.#options.concurrency && this.#queued === 0) return this.#start(task, signal);
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        key,
        start: () => {
          stopWatching();
          this.#start(task, signal).then(resolve, reject);
        },
        cancel: (reason) => {
          stopWatching();
          reject(reason);
        },
      };
      const stopWatching = onAbort(signal, () => {
        this.#drop(entry);
        reject(cancelled());
      });
      const fifo = this.#ring.get(key);
      if (fifo) fifo.push(entry);
      else this.#ring.set(key, [entry]);
      this.#queued++;
    });
  }

  /** Refuses every waiting call and aborts the running ones. */
  close(): void {
    this.#closed = true;
    for (const abort of this.#runningAborts) abort.abort(new KernelError('UNAVAILABLE', 'the kernel is stopping'));
    const waiting = [...this.#ring.values()].flat();
    this.#ring.clear();
    this.#queued = 0;
    for (const entry of waiting) entry.cancel(new KernelError('UNAVAILABLE', 'the kernel is stopping: the LLM call was not made'));
  }

  async #start<T>(task: Task<T>, caller: AbortSignal): Promise<T> {
    this.#running++;
    const abort = linkedAbort([caller]);
    this.#runningAborts.add(abort);
    try {
      return await task(abort.signal);
    } finally {
      this.#runningAborts.delete(abort);
      abort.dispose();
      this.#running--;
      this.#next();
    }
  }

  /** Starts waiting calls, one per key in ring order, while there is room. */
  #next(): void {
    while (this.#running < this.#options.concurrency && this.#queued > 0) {
      const first = this.#ring.entries().next();
      if (first.done) return;
      const [key, fifo] = first.value;
      const entry = fifo.shift() as Waiting;
      this.#queued--;
      this.#ring.delete(key);
      if (fifo.length > 0) this.#ring.set(key, fifo);
      entry.start();
    }
  }

  #drop(entry: Waiting): void {
    const fifo = this.#ring.get(entry.key);
    const index = fifo?.indexOf(entry) ?? -1;
    if (!fifo || index < 0) return;
    fifo.splice(index, 1);
    this.#queued--;
    if (fifo.length === 0) this.#ring.delete(entry.key);
  }
}

function cancelled(): KernelError {
  return new KernelError('UNAVAILABLE', 'the LLM call was dropped: its connection closed while it waited for its turn');
}
