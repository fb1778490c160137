/**
 * The floor for STORE: better-sqlite3 alone in a plain process, with the state store's
 * pragmas, table and upsert (copied from src/state/store.ts; keep them in step), on a
 * fresh file in `--dir` (the same file system as the kernel's state.db in the bench).
 * No socket, no JSON, no event loop work: the least a durable write of one key can cost.
 *
 *   sequential   `--calls` upserts (after `--warmup`), one commit each, over `--keys` keys:
 *                the time of each .run(), p50/p99
 *   throughput   upserts per second, one commit each, for `--duration-ms`
 *   batched      (information) upserts per second with `--batch` upserts per transaction:
 *                the most a group commit of that size could give
 *
 * Usage: node --import tsx bench/floor-sqlite.ts --dir DIR --synchronous NORMAL|FULL
 *        [--calls N (5000)] [--warmup N (1000)] [--keys N (1000)] [--value-bytes B (64)]
 *        [--duration-ms T (2000)] [--batch N (64)]
 * Prints one JSON result line.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { need, parseArgs, report } from './lib/agnt.js';
import { round, Samples } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const dir = need(args, 'dir');
const synchronous = need(args, 'synchronous').toUpperCase();
if (synchronous !== 'NORMAL' && synchronous !== 'FULL') throw new Error('--synchronous NORMAL or FULL');
const CALLS = Number(args.calls ?? 5000);
const WARMUP = Number(args.warmup ?? 1000);
const KEYS = Number(args.keys ?? 1000);
const VALUE_BYTES = Number(args['value-bytes'] ?? 64);
const DURATION_MS = Number(args['duration-ms'] ?? 2000);
const BATCH = Number(args.batch ?? 64);

mkdirSync(dir, { recursive: true });
const db = new Database(join(dir, 'state.db'));
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronous}`);
db.pragma('busy_timeout = 5000');
db.exec(`
  CREATE TABLE IF NOT EXISTS state (
    scope TEXT NOT NULL,
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (scope, owner, key)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS state_expiry ON state (expires_at) WHERE expires_at IS NOT NULL;
`);
const put = db.prepare(
  `INSERT INTO state (scope, owner, key, value, expires_at) VALUES (?, ?, ?, ?, ?)
   ON CONFLICT (scope, owner, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
);
// Each write changes the row: SQLite skips writing a page whose bytes do not change, so a
// constant value would commit nothing (and fsync nothing). The kernel's bench does the same.
const pad = 'x'.repeat(Math.max(0, VALUE_BYTES - 20));
const value = (i: number) => `{"n":${i},"pad":"${pad}"}`;
const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);

const samples = new Samples(CALLS);
for (let i = 0; i < WARMUP + CALLS; i++) {
  const t0 = performance.now();
  put.run('global', '', keys[i % KEYS] as string, value(i), null);
  if (i >= WARMUP) samples.add(performance.now() - t0);
}

const rate = (fn: (i: number) => number): { per_s: number; ms: number } => {
  let done = 0;
  const t0 = performance.now();
  let now = t0;
  for (let i = 0; now - t0 < DURATION_MS; i++) {
    done += fn(i);
    now = performance.now();
  }
  return { per_s: Math.round((done / (now - t0)) * 1000), ms: round(now - t0) };
};
const one = rate((i) => {
  put.run('global', '', keys[i % KEYS] as string, value(i), null);
  return 1;
});
const many = db.transaction((from: number) => {
  for (let j = 0; j < BATCH; j++) put.run('global', '', keys[(from + j) % KEYS] as string, value(from + j), null);
});
const batched = rate((i) => {
  many(i * BATCH);
  return BATCH;
});
db.close();

report({
  synchronous,
  value_bytes: VALUE_BYTES,
  keys: KEYS,
  sequential: samples.summary(),
  upserts_per_s: one.per_s,
  batch: BATCH,
  batched_upserts_per_s: batched.per_s,
});
