/**
 * Turns any value into a small JSON-safe one for the inspection stream. Actor
 * contexts and events can hold sockets, buffers, cycles and megabyte strings; this
 * must never throw and never do work proportional to the value's size, so every
 * dimension is capped: depth, keys per container, characters per string, and budgets
 * of nodes and characters for the whole value (depth 4 x 50 keys alone would allow
 * 6 million nodes, and 2000 strings of 1 KB make a 2 MB message).
 */
export interface SafeLimits {
  /** Containers nested deeper than this become a placeholder. */
  readonly depth: number;
  /** Keys (or elements) kept per object, array, Map or Set. */
  readonly keys: number;
  /** Characters kept per string. */
  readonly chars: number;
  /** Values visited in total; past it, the rest is elided. */
  readonly nodes: number;
  /** String characters kept in total; past it, strings are elided. */
  readonly text: number;
}

export const DEFAULT_LIMITS: SafeLimits = { depth: 4, keys: 50, chars: 1024, nodes: 2000, text: 32 * 1024 };

/** Marks what was cut, in the place where it was cut. */
const MORE = '…';

interface Walk {
  readonly limits: SafeLimits;
  nodes: number;
  text: number;
  /** The containers on the current path: a repeat is a cycle, a shared sibling is not. */
  readonly path: Set<object>;
}

export function safeValue(value: unknown, limits: SafeLimits = DEFAULT_LIMITS): unknown {
  const walk: Walk = { limits, nodes: limits.nodes, text: limits.text, path: new Set() };
  try {
    return visit(walk, value, 0);
  } catch {
    // A Proxy trap or exotic object threw somewhere we did not guard; say so, do not fail.
    return '[unserializable]';
  }
}

export function cutString(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars)}${MORE}(${text.length} chars)`;
}

function visit(walk: Walk, value: unknown, depth: number): unknown {
  walk.nodes--;
  switch (typeof value) {
    case 'string': {
      const cap = Math.min(walk.limits.chars, walk.text);
      walk.text -= Math.min(value.length, cap);
      return cutString(value, cap);
    }
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return undefined;
  }
  if (value === null) return null;
  return visitObject(walk, value as object, depth);
}

/** A Proxy's traps can throw from any check below; that container alone is then reported as unserializable. */
function visitObject(walk: Walk, value: object, depth: number): unknown {
  try {
    return describeObject(walk, value, depth);
  } catch {
    return '[unserializable]';
  }
}

function describeObject(walk: Walk, value: object, depth: number): unknown {
  const ref = actorSession(value);
  if (ref !== undefined) return { ref };
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return { bytes: value.byteLength };
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return { bytes: value.byteLength };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof RegExp) return cutString(String(value), walk.limits.chars);
  if (value instanceof Promise) return '[Promise]';
  if (value instanceof WeakMap) return '[WeakMap]';
  if (value instanceof WeakSet) return '[WeakSet]';
  if (value instanceof WeakRef) return '[WeakRef]';
  if (walk.path.has(value)) return '[Circular]';
  if (depth >= walk.limits.depth) return Array.isArray(value) ? `[Array(${value.length})]` : '[Object]';

  walk.path.add(value);
  try {
    if (value instanceof Error) return visitError(walk, value, depth);
    if (Array.isArray(value)) return visitList(walk, value, value.length, depth);
    if (value instanceof Map) return { map: value.size, entries: visitList(walk, value.entries(), value.size, depth) };
    if (value instanceof Set) return { set: value.size, values: visitList(walk, value.values(), value.size, depth) };
    return visitRecord(walk, value, depth);
  } finally {
    walk.path.delete(value);
  }
}

/** An XState actor ref (anything with a session id and a send) becomes its session id. */
function actorSession(value: object): string | undefined {
  const candidate = value as { sessionId?: unknown; send?: unknown };
  return typeof candidate.sessionId === 'string' && typeof candidate.send === 'function' ? candidate.sessionId : undefined;
}

function visitError(walk: Walk, error: Error, depth: number): unknown {
  const out: Record<string, unknown> = {
    name: visit(walk, read(error, 'name'), depth + 1),
    message: visit(walk, read(error, 'message'), depth + 1),
  };
  const code = read(error, 'code');
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  return out;
}

/** Arrays and iterators alike: at most `keys` elements are read, so a huge Map costs nothing extra. */
function visitList(walk: Walk, items: Iterable<unknown>, size: number, depth: number): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    if (out.length >= walk.limits.keys || walk.nodes <= 0) break;
    const safe = visit(walk, item, depth + 1);
    out.push(safe === undefined ? null : safe);
  }
  if (out.length < size) out.push(`${MORE}(${size - out.length} more)`);
  return out;
}

function visitRecord(walk: Walk, value: object, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let kept = 0;
  let cut = false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (kept >= walk.limits.keys || walk.nodes <= 0) {
      cut = true;
      break;
    }
    const safe = visit(walk, read(value, key), depth + 1);
    if (safe === undefined) continue;
    out[key] = safe;
    kept++;
  }
  if (cut) out[MORE] = 'more keys';
  return out;
}

/** A getter may throw; the value is then reported as unreadable rather than failing the whole message. */
function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return '[unreadable]';
  }
}
