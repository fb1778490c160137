// Word counting, the example's map and reduce steps. worker.py does the same in Python:
// lower-case the text and take runs of ASCII letters, so both count alike.

export type Counts = Record<string, number>;

/** Map: how often each word occurs in `text`. */
export function countWords(text: string): Counts {
  const counts: Counts = {};
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) counts[word] = (counts[word] ?? 0) + 1;
  return counts;
}

/** Reduce: the sum of several counts. */
export function mergeCounts(parts: Iterable<Counts>): Counts {
  const total: Counts = {};
  for (const part of parts) {
    for (const [word, n] of Object.entries(part)) total[word] = (total[word] ?? 0) + n;
  }
  return total;
}

/** The `n` most common words, ties by word, so the list is the same on every run. */
export function topWords(counts: Counts, n: number): [string, number][] {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, n);
}

/** Same words, same counts. */
export function sameCounts(a: Counts, b: Counts): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((word) => a[word] === b[word]);
}
