/**
 * The actors alive right now, so that a visualizer connecting mid-run is told what
 * exists before the stream tells it what changes. Bounded: past the cap new actors
 * are counted, not kept. Kept only while someone listens (the hub feeds it only
 * then); the first listener seeds it by walking the actor trees from their roots.
 */
import { describeActor, type InspectData, type LiveActor, snapshotState } from './messages.js';

/** Snapshot statuses after which an actor is gone. */
const ENDED = new Set(['done', 'stopped', 'error']);

export class LiveActors {
  readonly #actors = new Map<string, LiveActor>();
  readonly #max: number;
  /** Actors not kept because the map was full. */
  untracked = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#actors.size;
  }

  list(): LiveActor[] {
    return [...this.#actors.values()];
  }

  clear(): void {
    this.#actors.clear();
  }

  /** Follow one streamed message: an actor appears, changes state, or ends. */
  apply(data: InspectData): void {
    if (data.kind === 'actor') {
      const { kind: _kind, at: _at, ...identity } = data;
      this.#add({ ...identity, status: 'active' });
      return;
    }
    if (data.kind !== 'snapshot' || data.snapshot === undefined) return;
    const { status, value } = data.snapshot;
    if (ENDED.has(status)) {
      this.#actors.delete(data.session);
      return;
    }
    const entry = this.#actors.get(data.session);
    if (entry === undefined) return;
    entry.status = status;
    if (value === undefined) delete entry.value;
    else entry.value = value;
  }

  /** Replace the contents with the live actors under `roots` (parents before children). */
  seed(roots: readonly unknown[]): void {
    this.#actors.clear();
    // The queue holds refs not yet visited; capping it at the map's cap bounds the walk too.
    const queue = roots.filter((root) => typeof root === 'object' && root !== null).slice(0, this.#max);
    for (let i = 0; i < queue.length && this.#actors.size < this.#max; i++) {
      const ref = queue[i];
      const snapshot = snapshotOf(ref);
      const state = snapshotState(snapshot);
      if (ENDED.has(state.status)) continue;
      const identity = describeActor(ref);
      if (this.#actors.has(identity.session)) continue;
      this.#actors.set(identity.session, { ...identity, ...state });
      for (const child of childrenOf(snapshot)) {
        if (queue.length >= this.#max) break;
        queue.push(child);
      }
    }
  }

  #add(actor: LiveActor): void {
    if (this.#actors.has(actor.session) || this.#actors.size < this.#max) this.#actors.set(actor.session, actor);
    else this.untracked++;
  }
}

function snapshotOf(ref: unknown): unknown {
  try {
    return (ref as { getSnapshot?: () => unknown }).getSnapshot?.();
  } catch {
    return undefined;
  }
}

/**
 * An actor's children: XState's `children` map, plus the ones our machines keep out of
 * it for speed (the root's `context.connections`, a supervisor's `context.children[].ref`).
 */
function childrenOf(snapshot: unknown): object[] {
  const found: unknown[] = [];
  const { children, context } = (snapshot ?? {}) as { children?: unknown; context?: unknown };
  if (typeof children === 'object' && children !== null) found.push(...Object.values(children));
  const held = context as { connections?: unknown; children?: unknown } | undefined;
  if (held?.connections instanceof Map) found.push(...held.connections.values());
  if (Array.isArray(held?.children)) {
    for (const entry of held.children) if (entry && typeof entry === 'object' && 'ref' in entry) found.push(entry.ref);
  }
  return found.filter((child): child is object => typeof child === 'object' && child !== null);
}
