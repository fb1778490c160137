/** Latency samples and their summary. Times are in milliseconds (performance.now()). */

/** A growable Float64Array of samples: no per-sample allocation on the hot path. */
export class Samples {
  #data: Float64Array;
  #length = 0;

  constructor(capacity = 1 << 16) {
    this.#data = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  add(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  clear(): void {
    this.#length = 0;
  }

  summary(): LatencySummary {
    return summarize(this.#data.subarray(0, this.#length));
  }
}

export interface LatencySummary {
  count: number;
  /** All in microseconds. */
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  mean_us: number;
}

/** Nearest-rank percentiles of millisecond samples, reported in microseconds. */
export function summarize(samplesMs: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const n = sorted.length;
  const at = (p: number) => (n === 0 ? Number.NaN : (sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] as number) * 1000);
  let total = 0;
  for (const v of sorted) total += v;
  return {
    count: n,
    p50_us: round(at(0.5)),
    p90_us: round(at(0.9)),
    p99_us: round(at(0.99)),
    p999_us: round(at(0.999)),
    max_us: round(n === 0 ? Number.NaN : (sorted[n - 1] as number) * 1000),
    mean_us: round(n === 0 ? Number.NaN : (total / n) * 1000),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
