/**
 * A process agent's stdout and stderr: a ring of lines bounded in bytes, so an agent
 * that floods its output costs at most `maxBytes` of kernel memory. Readers page with
 * sequence numbers and may wait for new lines (`agentos logs -f`).
 */
import { Waiters } from '../kernel/waiters.js';

export interface LogLine {
  seq: number;
  stream: 'stdout' | 'stderr' | 'kernel';
  text: string;
  timestamp: number;
}

/** A line longer than this is cut, so one huge line cannot evict the whole log. */
const MAX_LINE = 16 * 1024;

export class OutputLog {
  readonly #maxBytes: number;
  readonly #lines: LogLine[] = [];
  #head = 0;
  #bytes = 0;
  #nextSeq = 1;
  /** Lines evicted to stay under the byte bound. */
  dropped = 0;
  readonly #partial = { stdout: '', stderr: '' };
  readonly #waiters = new Waiters();

  constructor(maxBytes = 256 * 1024) {
    this.#maxBytes = maxBytes;
  }

  /** Append a chunk of a stream; complete lines are logged, a trailing partial line waits. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const text = this.#partial[stream] + chunk.toString();
    const parts = text.split('\n');
    const rest = parts.pop() ?? '';
    for (const part of parts) this.#push(stream, part);
    if (rest.length > MAX_LINE) {
      this.#push(stream, rest);
      this.#partial[stream] = '';
    } else {
      this.#partial[stream] = rest;
    }
  }

  /** A line from the kernel itself (start, exit, restart), interleaved with the output. */
  note(text: string): void {
    this.flush();
    this.#push('kernel', text);
  }

  /** Log what is left of partial lines (the process ended). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream]) {
        this.#push(stream, this.#partial[stream]);
        this.#partial[stream] = '';
      }
    }
  }

  /** Lines with seq > `afterSeq`, at most `max` (the newest `max` when `afterSeq` is 0 and tail is asked). */
  read(afterSeq: number, max: number, tail = false): { lines: LogLine[]; nextSeq: number } {
    const live = this.#lines.slice(this.#head);
    let lines = live.filter((line) => line.seq > afterSeq);
    lines = tail ? lines.slice(-max) : lines.slice(0, max);
    const last = lines[lines.length - 1];
    return { lines, nextSeq: last ? last.seq : afterSeq };
  }

  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** Resolves when a line newer than `afterSeq` exists, or after `timeoutMs`. */
  waitFor(afterSeq: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.lastSeq > afterSeq) return Promise.resolve();
    return this.#waiters.wait(timeoutMs, signal);
  }

  #push(stream: LogLine['stream'], raw: string): void {
    const text = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}… [line cut at ${MAX_LINE} characters]` : raw;
    this.#lines.push({ seq: this.#nextSeq++, stream, text, timestamp: Date.now() });
    this.#bytes += text.length + 32;
    while (this.#bytes > this.#maxBytes && this.#head < this.#lines.length - 1) {
      const evicted = this.#lines[this.#head++] as LogLine;
      this.#bytes -= evicted.text.length + 32;
      this.dropped++;
    }
    // Compact now and then instead of shifting on every eviction.
    if (this.#head > 1024 && this.#head * 2 > this.#lines.length) {
      this.#lines.splice(0, this.#head);
      this.#head = 0;
    }
    this.#waiters.wakeAll();
  }
}
