/**
 * Content generators for virtual files (worlds.md §2). A generator is a pure function of
 * its options and the random stream it is given, so the same seed gives the same bytes:
 * WorldFs hands each file `random.fork(\`fs:${path}\`)`, independent of every other draw.
 */
import { z } from 'zod';
import { formatIssuePath, KernelError } from '../../protocol/errors.js';
import type { WorldRandom } from '../random.js';

/** What a generator needs from a random source (a WorldRandom satisfies it). */
export type RandomSource = Pick<WorldRandom, 'next' | 'int' | 'chance'>;

export interface Generator<Options> {
  options: z.ZodType<Options>;
  generate(random: RandomSource, options: Options): string;
}

const RandomLogsOptions = z.strictObject({
  /** Bounded so one file cannot take more than a few MB of memory. */
  lines: z.number().int().min(0).max(50_000).default(200),
  error_rate: z.number().min(0).max(1).default(0.05),
  /** The first line's timestamp: fixed by default so content does not depend on the host clock. */
  start: z.iso.datetime().default('2024-01-01T00:00:00.000Z'),
  interval_ms: z.number().int().positive().default(1000),
  services: z.array(z.string().min(1)).min(1).default(['api', 'worker', 'db']),
});

const INFO_MESSAGES = [
  (r: RandomSource) => `request handled in ${r.int(2, 250)}ms status=200`,
  (r: RandomSource) => `cache hit ratio ${r.int(60, 99)}%`,
  (r: RandomSource) => `connection pool size=${r.int(4, 32)} idle=${r.int(0, 4)}`,
  (r: RandomSource) => `job ${r.int(1000, 9999)} completed`,
];
const WARN_MESSAGES = [
  (r: RandomSource) => `slow query took ${r.int(500, 3000)}ms`,
  (r: RandomSource) => `retrying upstream call (attempt ${r.int(2, 5)})`,
];
const ERROR_MESSAGES = [
  (r: RandomSource) => `request failed status=${[500, 502, 503, 504][r.int(0, 3)]}`,
  (r: RandomSource) => `database connection refused (pool exhausted after ${r.int(1, 30)}s)`,
  (r: RandomSource) => `unhandled exception in job ${r.int(1000, 9999)}: TypeError`,
];

const pick = <T>(random: RandomSource, items: readonly T[]): T => items[random.int(0, items.length - 1)]!;

export const randomLogs: Generator<z.output<typeof RandomLogsOptions>> = {
  options: RandomLogsOptions,
  generate(random, options) {
    let time = Date.parse(options.start);
    const lines: string[] = [];
    for (let i = 0; i < options.lines; i++) {
      // Jittered spacing (0.5 to 1.5 intervals) so the log reads like a real one.
      time += Math.round(options.interval_ms * (0.5 + random.next()));
      const service = pick(random, options.services);
      let level: string;
      let message: string;
      if (random.chance(options.error_rate)) {
        level = 'ERROR';
        message = pick(random, ERROR_MESSAGES)(random);
      } else if (random.chance(0.1)) {
        level = 'WARN';
        message = pick(random, WARN_MESSAGES)(random);
      } else {
        level = 'INFO';
        message = pick(random, INFO_MESSAGES)(random);
      }
      lines.push(`${new Date(time).toISOString()} ${level.padEnd(5)} [${service}] ${message}\n`);
    }
    return lines.join('');
  },
};

// biome-ignore lint/suspicious/noExplicitAny: a registry of generators with differing option types.
export const GENERATORS: Readonly<Record<string, Generator<any>>> = { random_logs: randomLogs };

/**
 * A generator's function with its options checked once, at open: an unknown generator or
 * bad option fails naming the key path given in `where` (e.g. `mounts[1].files[0]`).
 */
export function prepareGenerator(name: string, options: unknown, where: string): (random: RandomSource) => string {
  const generator = GENERATORS[name];
  if (!generator) {
    throw new KernelError(
      'INVALID_REQUEST',
      `${where}.generator: unknown generator "${name}"; expected one of ${Object.keys(GENERATORS).join(', ')}`,
      { field: `${where}.generator` },
    );
  }
  const parsed = generator.options.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const sub = formatIssuePath(issue.path);
    const field = `${where}.options${sub === '' || sub.startsWith('[') ? sub : `.${sub}`}`;
    throw new KernelError('INVALID_REQUEST', `${field}: ${issue.message}`, { field });
  }
  const checked = parsed.data;
  return (random) => generator.generate(random, checked);
}
