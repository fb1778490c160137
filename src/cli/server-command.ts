/**
 * What the commands that run a server in the foreground (`kernel`, `relay`) share: their
 * `--config FILE`, a YAML file of options checked against the command's schema so a
 * mistake names the file and the key (any failure ends the command with one line), and
 * their stop on SIGINT/SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { describeZodError } from '../protocol/errors.js';
import { fail } from './output.js';

export async function readConfigOption<T>(path: string, schema: z.ZodType, what: string): Promise<T | Record<string, never>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    fail(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  // yaml loads only when a config file is given: it is a noticeable part of start-up.
  const { parse: parseYaml } = await import('yaml');
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    fail(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  const parsed = schema.safeParse(value);
  if (!parsed.success) fail(`${path}: ${describeZodError(parsed.error, what).message}`);
  // The input as written: the caller's options parser applies defaults once, with the flags.
  return value as T;
}

/**
 * Runs `stop` on the first SIGINT or SIGTERM and exits 0 when it is done (1 if it fails);
 * a second signal exits at once, for a stop that hangs.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => Promise<void>, what: string): void {
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`agentos: ${signal} again, exiting at once\n`);
      process.exit(1);
    }
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`agentos: ${what} failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
