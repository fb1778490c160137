/**
 * Abort plumbing for LLM calls. A connection's `closed` signal outlives thousands of
 * calls, and a flood queues hundreds at once: one listener per call on it would trip
 * Node's leak warning (more than 10 listeners) and cost a closure each. So every call
 * on one signal shares a single listener (`onAbort`), removed with the last call.
 */

type Callback = () => void;

const fanouts = new WeakMap<AbortSignal, Set<Callback>>();

function dispatch(this: AbortSignal): void {
  const callbacks = fanouts.get(this);
  if (callbacks === undefined) return;
  fanouts.delete(this);
  for (const callback of callbacks) callback();
}

/** Calls `callback` once when `signal` aborts (at once if it has); returns the remover. */
export function onAbort(signal: AbortSignal, callback: Callback): () => void {
  if (signal.aborted) {
    callback();
    return () => {};
  }
  let callbacks = fanouts.get(signal);
  if (callbacks === undefined) {
    callbacks = new Set();
    fanouts.set(signal, callbacks);
    signal.addEventListener('abort', dispatch, { once: true });
  }
  // A wrapper, so that one callback registered twice is removed twice.
  const entry = () => callback();
  callbacks.add(entry);
  return () => {
    const current = fanouts.get(signal);
    if (current === undefined || !current.delete(entry) || current.size > 0) return;
    fanouts.delete(signal);
    signal.removeEventListener('abort', dispatch);
  };
}

/** One AbortSignal that fires when any source does, or after a timeout; dispose() removes every link and timer. */
export interface LinkedAbort {
  readonly signal: AbortSignal;
  /** True when the timeout fired (and no source had aborted before it). */
  readonly timedOut: boolean;
  /** Aborts it directly (the kernel stopping). */
  abort(reason: unknown): void;
  dispose(): void;
}

export function linkedAbort(sources: readonly AbortSignal[], timeoutMs?: number): LinkedAbort {
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          if (controller.signal.aborted) return;
          timedOut = true;
          controller.abort(new Error(`timed out after ${timeoutMs} ms`));
        }, timeoutMs);
  const removers = sources.map((source) => onAbort(source, () => controller.abort(source.reason)));
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    abort(reason) {
      controller.abort(reason);
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      for (const remove of removers) remove();
    },
  };
}
