/**
 * The permission model of protocol.md §6 as far as the kernel enforces it today:
 * the five levels and the can_* flags. Path, command and domain rules join this
 * schema when the router enforces them (the security issue), not before.
 */
import { z } from 'zod';

export const LEVELS = ['unrestricted', 'standard', 'sandboxed', 'readonly', 'minimal'] as const;
export const Level = z.enum(LEVELS, { error: `expected one of ${LEVELS.join(', ')}` });
export type Level = z.infer<typeof Level>;

export const Permissions = z.object({
  can_exec: z.boolean(),
  can_read: z.boolean(),
  can_write: z.boolean(),
  can_think: z.boolean(),
  can_spawn: z.boolean(),
  can_network: z.boolean(),
  /** Commands run inside an OS sandbox (the sandboxed level). */
  sandboxed: z.boolean(),
});
export type Permissions = z.infer<typeof Permissions>;

const none: Permissions = {
  can_exec: false,
  can_read: false,
  can_write: false,
  can_think: false,
  can_spawn: false,
  can_network: false,
  sandboxed: false,
};

export const PRESETS: Readonly<Record<Level, Readonly<Permissions>>> = Object.freeze({
  unrestricted: Object.freeze({
    ...none,
    can_exec: true,
    can_read: true,
    can_write: true,
    can_think: true,
    can_spawn: true,
    can_network: true,
  }),
  standard: Object.freeze({ ...none, can_exec: true, can_read: true, can_write: true, can_think: true }),
  sandboxed: Object.freeze({
    ...none,
    can_exec: true,
    can_read: true,
    can_write: true,
    can_think: true,
    sandboxed: true,
  }),
  readonly: Object.freeze({ ...none, can_read: true, can_think: true }),
  minimal: Object.freeze({ ...none, can_think: true }),
});
