/**
 * The inspection serializer: whatever an actor's context holds, the result is small,
 * JSON-safe, and produced without throwing.
 */
import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { DEFAULT_LIMITS, safeValue } from '../../src/inspection/safe-value.js';

const json = (value: unknown) => JSON.stringify(safeValue(value));

describe('safeValue', () => {
  it('marks cycles and keeps shared (non-circular) references', () => {
    const node: Record<string, unknown> = { name: 'a' };
    node.self = node;
    const shared = { n: 1 };
    const list: unknown[] = [shared, shared];
    list.push(list);
    expect(safeValue(node)).toEqual({ name: 'a', self: '[Circular]' });
    expect(safeValue(list)).toEqual([{ n: 1 }, { n: 1 }, '[Circular]']);
  });

  it('cuts strings at 1 KB and bounds the total text', () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const out = safeValue({ huge }) as { huge: string };
    expect(out.huge.startsWith('x'.repeat(1024))).toBe(true);
    expect(out.huge).toContain(`(${huge.length} chars)`);
    expect(out.huge.length).toBeLessThan(1100);
    // 50 keys x 2 levels of 1 KB strings: the text budget stops it well short of 2.5 MB.
    const wide = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`k${i}`, Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`s${j}`, huge]))]),
    );
    expect(json(wide).length).toBeLessThan(DEFAULT_LIMITS.text + 64 * 1024);
  });

  it('limits depth to 4 and containers to 50 keys', () => {
    const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } };
    expect(safeValue(deep)).toEqual({ a: { b: { c: { d: '[Object]' } } } });
    expect(safeValue([[[[[1]]]]])).toEqual([[[['[Array(1)]']]]]);
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const out = safeValue(many) as Record<string, unknown>;
    expect(Object.keys(out)).toHaveLength(51);
    expect(out['…']).toBe('more keys');
    const long = safeValue(Array.from({ length: 100_000 }, (_, i) => i)) as unknown[];
    expect(long).toHaveLength(51);
    expect(long[50]).toBe('…(99950 more)');
  });

  it('stays bounded on a value 50 wide and 4 deep (6 million nodes)', () => {
    let level: unknown = 'leaf';
    for (let d = 0; d < 5; d++) {
      const inner = level;
      level = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, inner]));
    }
    const started = performance.now();
    const text = json(level);
    expect(performance.now() - started).toBeLessThan(500);
    expect(text.length).toBeLessThan(100_000);
  });

  it('drops functions, turns actor refs into {ref}, buffers into a length', () => {
    const actor = createActor(createMachine({ id: 'm' })).start();
    const out = safeValue({
      fn: () => 1,
      actor,
      buffer: Buffer.alloc(5000),
      typed: new Uint32Array(10),
      arrayBuffer: new ArrayBuffer(7),
      list: [() => 1, 2],
    });
    expect(out).toEqual({
      actor: { ref: actor.sessionId },
      buffer: { bytes: 5000 },
      typed: { bytes: 40 },
      arrayBuffer: { bytes: 7 },
      list: [null, 2],
    });
    actor.stop();
  });

  it('handles exotic values without throwing', () => {
    const throwing = {
      get boom(): never {
        throw new Error('getter');
      },
    };
    Object.defineProperty(throwing, 'boom', { enumerable: true });
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys');
        },
      },
    );
    const error = Object.assign(new Error('x'.repeat(5000)), { code: 'E_TEST' });
    const out = safeValue({
      throwing,
      big: 10n ** 30n,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      sym: Symbol('s'),
      date: new Date(0),
      bad: new Date(Number.NaN),
      map: new Map([['a', 1]]),
      set: new Set([1, 2]),
      error,
      promise: Promise.resolve(1),
      weak: new WeakMap(),
      nothing: undefined,
    }) as Record<string, unknown>;
    expect(out.throwing).toEqual({ boom: '[unreadable]' });
    expect(out.big).toBe(`${10n ** 30n}n`);
    expect(out.nan).toBe('NaN');
    expect(out.inf).toBe('Infinity');
    expect(out.sym).toBe('Symbol(s)');
    expect(out.date).toBe('1970-01-01T00:00:00.000Z');
    expect(out.bad).toBe('Invalid Date');
    expect(out.map).toEqual({ map: 1, entries: [['a', 1]] });
    expect(out.set).toEqual({ set: 2, values: [1, 2] });
    expect(out.error).toMatchObject({ name: 'Error', code: 'E_TEST' });
    expect((out.error as { message: string }).message.length).toBeLessThan(1100);
    expect(out.promise).toBe('[Promise]');
    expect(out.weak).toBe('[WeakMap]');
    expect('nothing' in out).toBe(false);
    expect(safeValue(hostile)).toBe('[unserializable]');
    expect(safeValue({ ok: 1, hostile })).toEqual({ ok: 1, hostile: '[unserializable]' });
    expect(() => JSON.stringify(out)).not.toThrow();
  });
});
