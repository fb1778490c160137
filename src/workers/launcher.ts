/**
 * The kernel's side of the launcher thread: one worker, started on first use, through
 * which every process agent is spawned. Signals go straight from the kernel to the
 * process group (process.kill needs no thread); spawning and reading pipes do not.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../kernel/logger.js';
import type { LauncherCommand, LauncherEvent, LaunchRequest } from './launcher-protocol.js';

export interface LaunchHandlers {
  spawned(pid: number): void;
  error(message: string): void;
  output(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  exit(code: number | null, signal: string | null): void;
  /** Nothing more will come for this launch. */
  closed(): void;
}

const fromSource = import.meta.url.endsWith('.ts');
const WORKER_FILE = fileURLToPath(new URL(fromSource ? './launcher.source.cjs' : './launcher-worker.js', import.meta.url));

export class ProcessLauncher {
  readonly #log: Logger;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #handlers = new Map<number, LaunchHandlers>();

  constructor(log: Logger) {
    this.#log = log.child({ component: 'launcher' });
  }

  launch(request: Omit<LaunchRequest, 'type' | 'id'>, handlers: LaunchHandlers): void {
    const id = this.#nextId++;
    this.#handlers.set(id, handlers);
    this.#send({ type: 'launch', id, ...request });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #send(command: LauncherCommand): void {
    this.#ensureWorker().postMessage(command);
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_FILE);
    // The launcher must not keep a stopping kernel alive; live agents hold it via their pipes anyway.
    worker.unref();
    worker.on('message', (event: LauncherEvent) => this.#onEvent(event));
    worker.on('error', (error) => this.#log.error({ err: error }, 'launcher thread failed'));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      // Launches in flight lose their pipes: report them ended so their agents are supervised as crashed.
      for (const [id, handlers] of this.#handlers) {
        this.#handlers.delete(id);
        handlers.error(`the launcher thread exited (code ${code})`);
        handlers.closed();
      }
    });
    this.#worker = worker;
    return worker;
  }

  #onEvent(event: LauncherEvent): void {
    const handlers = this.#handlers.get(event.id);
    if (!handlers) return;
    switch (event.type) {
      case 'spawned':
        handlers.spawned(event.pid);
        break;
      case 'error':
        handlers.error(event.message);
        break;
      case 'output':
        handlers.output(event.stream, Buffer.from(event.chunk.buffer, event.chunk.byteOffset, event.chunk.byteLength));
        this.#worker?.postMessage({ type: 'ack', id: event.id, bytes: event.chunk.byteLength } satisfies LauncherCommand);
        break;
      case 'exit':
        handlers.exit(event.code, event.signal);
        break;
      case 'closed':
        this.#handlers.delete(event.id);
        handlers.closed();
        break;
    }
  }
}
