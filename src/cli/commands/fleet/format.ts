/** What the fleet commands share: durations in, times out, and one way to run a command body. */
import { InvalidArgumentError } from 'commander';
import { fail } from '../../output.js';
import { FleetClient, type FleetFlags } from './fleet-client.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90s`, `15m`, `1h`, `30d`, `2w` (or bare seconds) in seconds. */
export function parseDuration(text: string): number {
  const found = /^(\d+)([smhdw]?)$/.exec(text.trim());
  const seconds = found ? Number(found[1]) * (UNIT_SECONDS[found[2] || 's'] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new InvalidArgumentError('expected a duration like 90s, 15m, 1h, 30d or 2w');
  return seconds;
}

/** A time for a table: UTC, to the second; `-` for none. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Runs a fleet command's body with a REST client; any failure is one `agentos: ...` line and exit 1. */
export async function runFleet(flags: FleetFlags, body: (client: FleetClient) => Promise<unknown>): Promise<void> {
  let exitCode: unknown;
  try {
    exitCode = await body(await FleetClient.from(flags));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  // A body returns an exit code when some of its work failed (e.g. a deploy on one machine).
  if (typeof exitCode === 'number' && exitCode !== 0) process.exitCode = exitCode;
}

/** `--ceiling JSON`: an object, or a clear error. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('expected a JSON object, e.g. \'{"can_read":true}\'');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('expected a JSON object');
  return value as Record<string, unknown>;
}
