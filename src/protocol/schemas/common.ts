import { z } from 'zod';

/** Every successful JSON reply starts with this (protocol.md §4). */
export const ok = { success: z.literal(true) } as const;

/** A non-empty string field, with the spec's wording in the error. */
export const nonEmpty = (what: string) =>
  z.string({ error: `expected ${what} (a string)` }).min(1, `expected ${what}, got an empty string`);

/** Seconds as the wire carries them (fractions allowed), bounded so timers stay sane. */
export const seconds = (max: number) =>
  z
    .number({ error: 'expected a number of seconds' })
    .positive('expected a positive number of seconds')
    .max(max, `expected at most ${max} seconds`);

export const Encoding = z.enum(['utf8', 'base64']);
export type Encoding = z.infer<typeof Encoding>;
