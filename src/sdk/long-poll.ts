/**
 * The client side of a long-polling syscall (RECV, POLL_EVENTS): at most one long poll
 * in flight, shared by every caller waiting for what it brings, and a buffer of what it
 * brought that nobody has taken yet. A poll that outlives its waiter (an aborted
 * iterator, a caller past its deadline) still lands in the buffer, so nothing it took
 * from the kernel is lost.
 */

/** One poll: up to `max` items, waiting up to `waitMs` for the first. */
export type PollOnce<T> = (max: number, waitMs: number) => Promise<T[]>;

export interface LongPollOptions<T> {
  poll: PollOnce<T>;
  /** Items one shared long poll asks for. */
  batch: number;
  /** The longest wait the syscall accepts; longer waits are made of several polls. */
  maxWaitMs: number;
  /** Where polled items go (default: the buffer); lets a caller route some elsewhere. */
  take?: (items: T[], buffer: T[]) => void;
}

export class LongPoll<T> {
  /** Items polled and not taken yet, oldest first. */
  readonly buffer: T[] = [];
  readonly #options: LongPollOptions<T>;
  #inFlight: Promise<void> | undefined;

  constructor(options: LongPollOptions<T>) {
    this.#options = options;
  }

  /** One poll that does not wait (alongside any long poll in flight); its items go to the buffer. */
  async now(max: number): Promise<void> {
    this.#take(await this.#options.poll(max, 0));
  }

  /**
   * Waits, long polling through the shared poll, until `done()`, `deadline` (ms since the
   * epoch; Infinity for none) or `signal` aborts. Rejects with the poll's error (the client closed, no
   * subscription); a poll left in flight keeps going and fills the buffer.
   */
  async until(deadline: number, done: () => boolean, signal?: AbortSignal): Promise<void> {
    while (!done() && !signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await waitFor(this.#poll(left), left, signal);
    }
  }

  #poll(left: number): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    const { poll, batch, maxWaitMs } = this.#options;
    const inFlight = poll(batch, Math.min(left, maxWaitMs)).then((items) => this.#take(items));
    this.#inFlight = inFlight;
    // Settled, it makes way for the next; a failure nobody waits for any more is not an unhandled rejection.
    const clear = () => {
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
    };
    inFlight.then(clear, clear);
    return inFlight;
  }

  #take(items: T[]): void {
    if (this.#options.take) this.#options.take(items, this.buffer);
    else this.buffer.push(...items);
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Settles with `promise`, or resolves after `timeoutMs` or when `signal` aborts, whichever comes first. */
function waitFor(promise: Promise<void>, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => settle();
    // setTimeout fires at once beyond 2^31-1 ms; a longer wait (or none: Infinity) is cut there and waited again.
    const timer = setTimeout(onAbort, Math.min(timeoutMs, MAX_TIMER_MS));
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => settle(),
      (error: unknown) => settle(error ?? new Error('the poll failed')),
    );
  });
}
