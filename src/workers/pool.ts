/**
 * The one owner of the Piscina pool where heavy work runs (EXEC, file I/O), so the
 * kernel's event loop never blocks. Cancellation travels over a MessagePort rather
 * than Piscina's abort signal: aborting a Piscina task terminates its whole thread,
 * and a thread here serves many concurrent I/O-bound tasks.
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from '../kernel/logger.js';
import { KernelError } from '../protocol/errors.js';
import type { TaskName, TaskOutcome, Tasks } from './tasks.js';

export interface PoolOptions {
  minThreads: number;
  maxThreads: number;
  concurrentTasksPerWorker: number;
  /** Tasks waiting for a thread before run() answers UNAVAILABLE. */
  maxQueue?: number;
}

// Under tsx (tests, `npm run bench`) the sources are .ts and the worker registers tsx itself.
// A path, not a file URL: Piscina loads it with require() first.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_FILE = fileURLToPath(new URL(fromSource ? './tasks.source.cjs' : './tasks.js', import.meta.url));

export class WorkerPool {
  readonly #piscina: Piscina;
  readonly #log: Logger;

  constructor(options: PoolOptions, log: Logger) {
    this.#log = log.child({ component: 'workers' });
    this.#piscina = new Piscina({
      filename: WORKER_FILE,
      minThreads: Math.min(options.minThreads, options.maxThreads),
      maxThreads: options.maxThreads,
      concurrentTasksPerWorker: options.concurrentTasksPerWorker,
      maxQueue: options.maxQueue ?? 4096,
      idleTimeout: 60_000,
      // 'sync' parks an idle worker in Atomics.wait, which freezes its event loop: kept-alive
      // HTTP connections then go stale unnoticed and timers of finished tasks stall.
      atomics: 'async',
    });
    // A worker that fails to load or dies is logged; its task's caller gets the error.
    this.#piscina.on('error', (error: unknown) => this.#log.error({ err: error }, 'worker thread failed'));
  }

  /**
   * Run a task in a worker. `cancel` (the caller's connection closing) is forwarded to
   * the task, which stops its work (a command's process group is killed).
   */
  async run<N extends TaskName>(
    name: N,
    input: Parameters<Tasks[N]>[0],
    cancel?: AbortSignal,
  ): Promise<Awaited<ReturnType<Tasks[N]>> extends TaskOutcome<infer V> ? V : never> {
    if (cancel?.aborted) throw new KernelError('UNAVAILABLE', 'the connection closed before the work started');
    const channel = new MessageChannel();
    const onAbort = () => channel.port1.postMessage('cancel');
    cancel?.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = (await this.#piscina.run(
        { input, cancelPort: channel.port2 },
        { name, transferList: [channel.port2] },
      )) as TaskOutcome<unknown>;
      if (!outcome.ok) throw new KernelError(outcome.code, outcome.message);
      return outcome.value as never;
    } catch (error) {
      if (error instanceof KernelError) throw error;
      const message = (error as Error).message ?? String(error);
      if (/queue is at limit|task queue is at limit/i.test(message)) {
        throw new KernelError('UNAVAILABLE', 'the kernel is overloaded: its worker queue is full; try again shortly');
      }
      throw error;
    } finally {
      cancel?.removeEventListener('abort', onAbort);
      channel.port1.close();
    }
  }

  get stats(): { threads: number; queued: number; completed: number } {
    return { threads: this.#piscina.threads.length, queued: this.#piscina.queueSize, completed: this.#piscina.completed };
  }

  async close(): Promise<void> {
    try {
      await this.#piscina.close({ force: true });
    } catch (error) {
      this.#log.warn({ err: error }, 'worker pool did not close cleanly');
    }
  }
}
