/**
 * Helpers for the kernel-level supervision tests (not a test file itself): in-kernel
 * actor children that a test crashes or ends on command, a journal of their starts and
 * stops, and a recorder of the kernel's AGENT_* events.
 */
import { fromPromise } from 'xstate';
import type { Kernel } from '../../src/kernel/index.js';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';

interface Deferred {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Children controlled from the test. Each run of a child registers itself under its
 * label; `crash` makes the current run fail, `finish` makes it return (a normal exit).
 * `journal` reads `start:a`, `stop:a`, ... in the order things happened.
 */
export class Puppets {
  readonly journal: string[] = [];
  readonly #runs = new Map<string, Deferred>();

  /** XState logic for a child labelled `label`: runs until crashed, finished or stopped. */
  actor(label: string) {
    return fromPromise<void, { agentId: number }>(({ signal }) => {
      this.journal.push(`start:${label}`);
      return new Promise<void>((resolve, reject) => {
        this.#runs.set(label, { resolve, reject });
        signal.addEventListener('abort', () => {
          this.journal.push(`stop:${label}`);
          this.#runs.delete(label);
        });
      });
    });
  }

  running(label: string): boolean {
    return this.#runs.has(label);
  }

  crash(label: string, message = `${label} crashed on command`): void {
    const run = this.#take(label);
    this.journal.push(`crash:${label}`);
    run.reject(new Error(message));
  }

  finish(label: string): void {
    const run = this.#take(label);
    this.journal.push(`finish:${label}`);
    run.resolve();
  }

  /** Journal entries of one kind (`start`, `stop`, ...), labels only. */
  entries(kind: string): string[] {
    return this.journal.filter((line) => line.startsWith(`${kind}:`)).map((line) => line.slice(kind.length + 1));
  }

  clear(): void {
    this.journal.length = 0;
  }

  #take(label: string): Deferred {
    const run = this.#runs.get(label);
    if (!run) throw new Error(`puppet "${label}" is not running`);
    this.#runs.delete(label);
    return run;
  }
}

/** Every kernel event from now on, with waits on them. */
export class EventLog {
  readonly events: KernelEvent[] = [];
  readonly #off: () => void;
  #wake: (() => void) | undefined;

  constructor(kernel: Kernel) {
    this.#off = kernel.events.on((event) => {
      this.events.push(event);
      this.#wake?.();
    });
  }

  of(type: string, agentId?: number): KernelEvent[] {
    return this.events.filter((e) => e.type === type && (agentId === undefined || e.source_agent_id === agentId));
  }

  /** Resolves with the `count`-th event matching, once it has happened. */
  async waitFor(match: (event: KernelEvent) => boolean, what: string, count = 1, timeoutMs = 5000): Promise<KernelEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.filter(match);
      if (found.length >= count) return found[count - 1]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (x${count})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Shorthand: the `count`-th event of `type` from `agentId`. */
  wait(type: string, agentId: number, count = 1, timeoutMs = 5000): Promise<KernelEvent> {
    return this.waitFor((e) => e.type === type && e.source_agent_id === agentId, `${type} of agent ${agentId}`, count, timeoutMs);
  }

  close(): void {
    this.#off();
  }
}

/** The agent id of a subtree member, found by its registry name (`<subtree>.<child id>`). */
export function idOf(kernel: Kernel, name: string): number {
  const record = kernel.agents().find((agent) => agent.name === name);
  if (!record)
    throw new Error(
      `no agent named "${name}" (have: ${kernel
        .agents()
        .map((a) => a.name)
        .join(', ')})`,
    );
  return record.id;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `check` holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Restart at once, so the tests wait on events rather than on backoff. */
export const NO_BACKOFF = { initial_ms: 0 } as const;
