/** The world's seeded random source: reproducible, independent forks, exact snapshots, uniform enough. */
import { describe, expect, it } from 'vitest';
import { WorldRandom } from '../../src/worlds/random.js';

const draw = (random: WorldRandom, n: number) => Array.from({ length: n }, () => random.next());

describe('WorldRandom', () => {
  it('the same seed gives the same stream; another seed another one', () => {
    expect(draw(WorldRandom.fromSeed(42), 100)).toEqual(draw(WorldRandom.fromSeed(42), 100));
    expect(draw(WorldRandom.fromSeed(42), 100)).not.toEqual(draw(WorldRandom.fromSeed(43), 100));
  });

  it('a fork depends on the label and the seed only, not on what the parent drew', () => {
    const fresh = WorldRandom.fromSeed(7);
    const used = WorldRandom.fromSeed(7);
    draw(used, 1000);
    expect(draw(fresh.fork('network'), 50)).toEqual(draw(used.fork('network'), 50));
    expect(draw(fresh.fork('network'), 50)).not.toEqual(draw(fresh.fork('chaos'), 50));
    expect(draw(WorldRandom.fromSeed(8).fork('network'), 50)).not.toEqual(draw(fresh.fork('network'), 50));
  });

  it('a restored state continues exactly where the saved one was', () => {
    const random = WorldRandom.fromSeed(123);
    draw(random, 17);
    const restored = WorldRandom.fromState(random.state());
    expect(draw(restored, 100)).toEqual(draw(random, 100));
    expect(draw(restored.fork('x'), 10)).toEqual(draw(random.fork('x'), 10));
    expect(() => WorldRandom.fromState([1, 2, 3] as never)).toThrow(/five unsigned/);
    expect(() => WorldRandom.fromState([1, 2, 3, 4, -1])).toThrow(/five unsigned/);
  });

  it('is uniform enough: means, buckets and chance() within statistical bounds', () => {
    const random = WorldRandom.fromSeed(1);
    const n = 100_000;
    const values = draw(random, n);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    const buckets = new Array(10).fill(0);
    for (const v of values) buckets[Math.floor(v * 10)]++;
    // Each bucket expects 10,000 (sd about 95): 5 sd is far beyond chance.
    for (const count of buckets) expect(Math.abs(count - n / 10)).toBeLessThan(500);
    let hits = 0;
    for (let i = 0; i < n; i++) if (random.chance(0.01)) hits++;
    expect(Math.abs(hits - 1000)).toBeLessThan(160);
    expect(random.chance(0)).toBe(false);
    expect(random.chance(1)).toBe(true);
    const ints = new Set(Array.from({ length: 1000 }, () => random.int(3, 5)));
    expect([...ints].sort()).toEqual([3, 4, 5]);
  });
});
