/**
 * Long-poll waiters (RECV, POLL_EVENTS, LOGS -f): callers wait for something to arrive,
 * woken the moment it does, with a timeout and an abort signal (the caller's connection
 * closing). No busy loop, nothing left behind once a wait ends.
 */
export class Waiters {
  readonly #waiting = new Set<() => void>();

  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves on the next wakeAll(), when `signal` aborts, or after `timeoutMs`. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiting.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiting.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  wakeAll(): void {
    if (this.#waiting.size === 0) return;
    for (const wake of [...this.#waiting]) wake();
  }
}
