/**
 * Asynchronous syscalls (protocol.md §5 ASYNC_POLL): EXEC, HTTP, THINK and DOWNLOAD with
 * `async: true` answer at once with a request id and run in the background; their
 * replies wait in the agent's result queue until ASYNC_POLL takes them.
 *
 * Bounded without ever dropping a reply: a call takes its slot when it starts (running
 * plus waiting results never exceed the limit), so a full agent is refused with
 * QUOTA_EXCEEDED up front instead of losing a result later. Everything an agent has in
 * flight is cancelled, and its results dropped, when the agent ends.
 */
import type { AgentRegistry } from '../agents/registry.js';
import { Waiters } from '../kernel/waiters.js';
import { KernelError } from '../protocol/errors.js';
import type { OpcodeInfo } from '../protocol/opcodes.js';

export const DEFAULT_ASYNC_SLOTS = 256;

export interface AsyncResult {
  request_id: number;
  opcode: number;
  opcode_name: string;
  /** The reply the call would have given synchronously (a failure too: `success: false`). */
  payload: unknown;
  started_at: number;
  finished_at: number;
}

class AgentQueue {
  readonly results: AsyncResult[] = [];
  readonly running = new Map<number, AbortController>();
  readonly waiters = new Waiters();

  get used(): number {
    return this.results.length + this.running.size;
  }
}

export class AsyncResults {
  readonly #slots: number;
  readonly #byAgent = new Map<number, AgentQueue>();
  #nextId = 1;

  constructor(deps: { registry: AgentRegistry; slots?: number }) {
    this.#slots = deps.slots ?? DEFAULT_ASYNC_SLOTS;
    deps.registry.onRemove((record) => this.remove(record.id));
  }

  /** Agents with calls in flight or results waiting. */
  get size(): number {
    return this.#byAgent.size;
  }

  /**
   * Starts `run` in the background for `agentId`; returns the request id at once.
   * `run` gets a signal aborted when the agent ends; what it resolves to is the result.
   */
  start(agentId: number, info: OpcodeInfo, run: (signal: AbortSignal) => Promise<unknown>): number {
    let queue = this.#byAgent.get(agentId);
    if (queue && queue.used >= this.#slots) {
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `${info.name}: agent ${agentId} has ${queue.running.size} asynchronous calls running and ${queue.results.length} results waiting for ASYNC_POLL (at most ${this.#slots} together); poll before starting more`,
        { limit: this.#slots },
      );
    }
    if (!queue) {
      queue = new AgentQueue();
      this.#byAgent.set(agentId, queue);
    }
    const owner = queue;
    const requestId = this.#nextId++;
    const controller = new AbortController();
    owner.running.set(requestId, controller);
    const startedAt = Date.now();
    const finish = (payload: unknown) => {
      // The agent ended meanwhile: nobody can poll this any more.
      if (!owner.running.delete(requestId) || this.#byAgent.get(agentId) !== owner) return;
      owner.results.push({
        request_id: requestId,
        opcode: info.code,
        opcode_name: info.name,
        payload,
        started_at: startedAt,
        finished_at: Date.now(),
      });
      owner.waiters.wakeAll();
    };
    run(controller.signal).then(finish, (error: unknown) =>
      finish({
        success: false,
        code: 'INTERNAL',
        error: `asynchronous ${info.name} failed: ${(error as Error)?.message ?? String(error)}`,
      }),
    );
    return requestId;
  }

  /** Up to `max` finished results, oldest first, waiting up to `waitMs` for the first. */
  async poll(agentId: number, max: number, waitMs: number, signal: AbortSignal): Promise<{ results: AsyncResult[]; pending: number }> {
    const queue = this.#byAgent.get(agentId);
    if (!queue) return { results: [], pending: 0 };
    const deadline = Date.now() + waitMs;
    while (queue.results.length === 0 && queue.running.size > 0 && !signal.aborted && this.#byAgent.get(agentId) === queue) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await queue.waiters.wait(left, signal);
    }
    const results = queue.results.splice(0, max);
    if (queue.used === 0 && this.#byAgent.get(agentId) === queue) this.#byAgent.delete(agentId);
    return { results, pending: queue.running.size };
  }

  /** The agent ended: cancel what runs, drop what waits, wake its pollers. */
  remove(agentId: number): void {
    const queue = this.#byAgent.get(agentId);
    if (!queue) return;
    this.#byAgent.delete(agentId);
    for (const controller of queue.running.values()) controller.abort();
    queue.running.clear();
    queue.results.length = 0;
    queue.waiters.wakeAll();
  }

  /** Kernel shutdown. */
  close(): void {
    for (const agentId of [...this.#byAgent.keys()]) this.remove(agentId);
  }
}
