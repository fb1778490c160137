/**
 * Every pending deadline of the engine (task timeouts, attempt timeouts, retry backoffs)
 * behind one timer armed for the earliest. A binary heap ordered by time; cancelling only
 * forgets the key, and stale heap entries are skipped when they surface. The heap is
 * rebuilt when stale entries outnumber live ones, so it stays bounded by twice the number
 * of live deadlines (at most one per key).
 */
export interface TimeSource {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface Entry {
  at: number;
  key: string;
  token: number;
}

export class Deadlines {
  readonly #time: TimeSource;
  readonly #fire: (key: string) => void;
  #heap: Entry[] = [];
  /** key → token of its live entry. */
  readonly #live = new Map<string, number>();
  #nextToken = 1;
  #timer: unknown = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(time: TimeSource, fire: (key: string) => void) {
    this.#time = time;
    this.#fire = fire;
  }

  get size(): number {
    return this.#live.size;
  }

  /** Sets (or moves) the deadline of `key` to `at` (epoch ms). */
  set(key: string, at: number): void {
    if (this.#closed) return;
    const token = this.#nextToken++;
    this.#live.set(key, token);
    this.#push({ at, key, token });
    if (this.#heap.length > 64 && this.#heap.length > 2 * this.#live.size) this.#compact();
    this.#arm();
  }

  clear(key: string): void {
    this.#live.delete(key);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#time.clearTimeout(this.#timer);
    this.#timer = null;
    this.#heap = [];
    this.#live.clear();
  }

  #arm(): void {
    this.#dropStale();
    const top = this.#heap[0];
    if (!top) return;
    if (this.#timer !== null && this.#timerAt <= top.at) return;
    if (this.#timer !== null) this.#time.clearTimeout(this.#timer);
    this.#timerAt = top.at;
    this.#timer = this.#time.setTimeout(() => this.#run(), Math.max(0, top.at - this.#time.now()));
  }

  #run(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#time.now();
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (!top || top.at > now || this.#closed) break;
      this.#pop();
      this.#live.delete(top.key);
      this.#fire(top.key);
    }
    if (!this.#closed) this.#arm();
  }

  #dropStale(): void {
    for (let top = this.#heap[0]; top && this.#live.get(top.key) !== top.token; top = this.#heap[0]) this.#pop();
  }

  #compact(): void {
    const entries = this.#heap.filter((entry) => this.#live.get(entry.key) === entry.token);
    this.#heap = [];
    for (const entry of entries) this.#push(entry);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry).at <= entry.at) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Entry).at < (heap[left] as Entry).at ? right : left;
      if ((heap[child] as Entry).at >= last.at) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
  }
}
