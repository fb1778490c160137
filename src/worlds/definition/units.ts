/**
 * The human-written quantities of a world definition (worlds.md §1): durations ("30s",
 * "+1h30m"), sizes ("1GB") and percentages ("200%"), parsed once by the schema into
 * plain numbers (milliseconds, bytes, percent) so nothing downstream parses text again.
 */
import { z } from 'zod';

/** The longest duration a definition may state: a week, far beyond any scenario. */
export const MAX_DURATION_MS = 7 * 24 * 60 * 60 * 1000;
/** The largest size a definition may state: 1 PiB, well inside Number's exact integers. */
export const MAX_SIZE_BYTES = 2 ** 50;

const DURATION_UNITS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type DurationUnit = keyof typeof DURATION_UNITS;
const UNIT_ORDER: readonly DurationUnit[] = ['h', 'm', 's', 'ms'];
// `ms` before `m`, so "500ms" is not read as 500 minutes followed by garbage.
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

const DURATION_HINT = 'expected a duration such as "500ms", "30s", "1m" or "1h30m"';

/**
 * Milliseconds in a duration: one or more `<number><unit>` parts, units h, m, s, ms, each at
 * most once and largest first ("1h30m", "1.5s"). Returns an explanation instead of throwing,
 * so the schema can report it under the field's path.
 */
export function parseDuration(text: string): number | { error: string } {
  const source = text.trim();
  if (source === '') return { error: DURATION_HINT };
  let total = 0;
  let position = 0;
  let lastUnit = -1;
  while (position < source.length) {
    DURATION_PART.lastIndex = position;
    const match = DURATION_PART.exec(source);
    if (!match) return { error: `${DURATION_HINT}, got "${text}"` };
    const unit = match[2] as DurationUnit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastUnit) return { error: `${DURATION_HINT}: units go largest first, each once, got "${text}"` };
    lastUnit = rank;
    total += Number(match[1]) * DURATION_UNITS[unit];
    position = DURATION_PART.lastIndex;
  }
  const ms = Math.round(total);
  if (ms > MAX_DURATION_MS) return { error: `expected a duration of at most 7 days, got "${text}"` };
  return ms;
}

// Binary multiples, as memory and disk limits are usually meant ("1GB" of RAM is 2^30 bytes).
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 2 ** 10,
  kib: 2 ** 10,
  k: 2 ** 10,
  mb: 2 ** 20,
  mib: 2 ** 20,
  m: 2 ** 20,
  gb: 2 ** 30,
  gib: 2 ** 30,
  g: 2 ** 30,
  tb: 2 ** 40,
  tib: 2 ** 40,
  t: 2 ** 40,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;
const SIZE_HINT = 'expected a size such as "512MB", "1GB" or a number of bytes';

/** Bytes in a size: a number with an optional unit (B, KB, MB, GB, TB; binary multiples). */
export function parseSize(text: string): number | { error: string } {
  const match = SIZE.exec(text.trim());
  const factor = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase() || 'b'] : undefined;
  if (!match || factor === undefined) return { error: `${SIZE_HINT}, got "${text}"` };
  const bytes = Math.round(Number(match[1]) * factor);
  if (bytes > MAX_SIZE_BYTES) return { error: `expected a size of at most 1PB, got "${text}"` };
  return bytes;
}

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

/** The number in a percentage ("200%" → 200; above 100 means more than one core). */
export function parsePercent(text: string): number | { error: string } {
  const match = PERCENT.exec(text.trim());
  if (!match) return { error: `expected a percentage such as "50%" or "200%", got "${text}"` };
  return Number(match[1]);
}

type Parsed = number | { error: string };

/** A schema over `input` whose transform does all the checking, so each bad value yields one clear issue. */
function quantity<T extends z.ZodType<string | number>>(input: T, parse: (value: z.output<T>) => Parsed) {
  return input.transform((value, ctx) => {
    const result = parse(value);
    if (typeof result === 'number') return result;
    ctx.addIssue({ code: 'custom', message: result.error });
    return z.NEVER;
  });
}

/**
 * A duration in milliseconds. Bare numbers are refused: `duration: 30` could mean seconds or
 * milliseconds, and guessing wrong silently changes a scenario by a factor of 1000.
 */
export const Duration = quantity(z.string({ error: DURATION_HINT }), parseDuration);

/** A duration above zero (a repeat interval, a stage length). */
export const PositiveDuration = quantity(z.string({ error: DURATION_HINT }), (text) => {
  const ms = parseDuration(text);
  return ms === 0 ? { error: `expected a duration above 0, got "${text}"` } : ms;
});

/** A size in bytes: a string with a unit, or a whole number of bytes (bytes are unambiguous). */
export const Size = quantity(z.union([z.number(), z.string()], { error: SIZE_HINT }), (value) => {
  const bytes = typeof value === 'number' ? value : parseSize(value);
  if (typeof bytes !== 'number') return bytes;
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > MAX_SIZE_BYTES) {
    return { error: `expected a size above 0 and at most 1PB, got ${JSON.stringify(value)}` };
  }
  return bytes;
});

/** A percentage: "200%" or the bare number 200 (percent is the only unit, so no ambiguity). */
export const Percent = quantity(z.union([z.number(), z.string()], { error: 'expected a percentage such as "50%"' }), (value) => {
  const percent = typeof value === 'number' ? value : parsePercent(value);
  if (typeof percent !== 'number') return percent;
  if (!Number.isFinite(percent) || percent <= 0 || percent > 10_000) {
    return { error: `expected a percentage above 0% and at most 10000%, got ${JSON.stringify(value)}` };
  }
  return percent;
});

const EVENT_TIME_HINT = 'expected "+<duration>" such as "+30s" or "+1h30m", or "random"';

/** When an event fires: "+30s" after the world starts (in world time), or "random". */
export const EventTime = z.string({ error: EVENT_TIME_HINT }).transform((text, ctx): number | 'random' => {
  if (text === 'random') return 'random';
  const result = text.startsWith('+') ? parseDuration(text.slice(1)) : { error: `${EVENT_TIME_HINT}, got "${text}"` };
  if (typeof result === 'number') return result;
  ctx.addIssue({ code: 'custom', message: result.error });
  return z.NEVER;
});
