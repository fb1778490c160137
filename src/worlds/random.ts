/**
 * A world's random source (worlds.md §4, determinism): every random decision of a world
 * (chaos at `at: random`, mock failures, packet loss, jitter, generated file content)
 * derives from its seed. Each consumer takes its own stream with `fork(label)`, so adding
 * a consumer, or one consumer drawing more, never shifts another's draws.
 *
 * sfc32 (a small, fast, well-tested 128-bit generator), seeded through splitmix32. Its
 * state is the stream's seed (what forks derive from) and sfc32's four 32-bit words,
 * saved and restored exactly by snapshots.
 */

/** [seed, a, b, c, d]: unsigned 32-bit integers. */
export type RandomState = readonly [number, number, number, number, number];

export class WorldRandom {
  readonly #seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  private constructor(state: RandomState) {
    [this.#seed, this.#a, this.#b, this.#c, this.#d] = state;
  }

  /** The root stream of a world with this seed (any integer; non-integers are truncated). */
  static fromSeed(seed: number): WorldRandom {
    const word = Math.trunc(seed) >>> 0;
    const mix = splitmix32(word);
    const random = new WorldRandom([word, mix(), mix(), mix(), mix()]);
    // The first outputs of a fresh sfc32 are weakly mixed: skip them.
    for (let i = 0; i < 12; i++) random.nextUint32();
    return random;
  }

  /** A stream restored from `state()`: it continues exactly where the saved one was. */
  static fromState(state: RandomState): WorldRandom {
    if (state.length !== 5 || state.some((word) => !Number.isInteger(word) || word < 0 || word > 0xffff_ffff)) {
      throw new RangeError('a random state is five unsigned 32-bit integers');
    }
    return new WorldRandom(state);
  }

  /**
   * An independent stream for one consumer, derived from this stream's seed and `label`
   * only (not from how much this stream has drawn): fork('network') is the same stream
   * whatever else the world did before.
   */
  fork(label: string): WorldRandom {
    let hash = 0x811c9dc5;
    for (let i = 0; i < label.length; i++) {
      hash ^= label.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return WorldRandom.fromSeed(Math.imul(this.#seed ^ hash, 0x9e3779b1) >>> 0);
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** True with probability `p` (0 never draws true, 1 always). */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = (this.#b ^ (this.#b >>> 9)) >>> 0;
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** The exact state, for a snapshot. */
  state(): RandomState {
    return [this.#seed, this.#a, this.#b, this.#c, this.#d];
  }
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}
