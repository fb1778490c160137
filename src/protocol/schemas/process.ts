/** EXEC: run a command through `/bin/sh -c` in a worker, with a timeout and an output cap. */
import { z } from 'zod';
import { nonEmpty, ok, seconds } from './common.js';

/** Largest timeout a request may ask for; the kernel may cap it lower. */
export const EXEC_TIMEOUT_CEILING_S = 24 * 3600;

export const ExecRequest = z.object({
  command: nonEmpty('a shell command'),
  cwd: z.string().min(1, 'expected a directory path').optional(),
  timeout: seconds(EXEC_TIMEOUT_CEILING_S).default(30),
  /** The child's whole environment beyond PATH, HOME, LANG and TERM: nothing else is inherited. */
  env: z.record(z.string().regex(/^[^=\0]+$/, 'expected an environment variable name without "=" or NUL'), z.string()).optional(),
  /** Bytes kept per stream; the kernel's limit caps it. */
  max_output: z.number().int().positive().optional(),
  async: z.boolean().default(false),
});
export type ExecRequest = z.infer<typeof ExecRequest>;

export const ExecResult = z.object({
  stdout: z.string(),
  stderr: z.string(),
  /** The exit status; 128 + signal number when a signal ended the command, as shells report it. */
  exit_code: z.number().int(),
  signal: z.string().nullable(),
  duration_ms: z.number(),
  timed_out: z.boolean(),
  /** True when stdout or stderr went over the output cap and was cut. */
  truncated: z.boolean(),
});
export type ExecResult = z.infer<typeof ExecResult>;

/**
 * EXEC by a world member: what the command changed in the world's files, synced back
 * through the world's filesystem (src/worlds/fs/sync.ts). `refused` lists at most 50
 * changes the world did not take (a readonly mount, a quota, disk_full, a symlink);
 * `refused_count` counts them all.
 */
export const WorldSync = z.object({
  written: z.number().int(),
  bytes: z.number().int(),
  directories: z.number().int(),
  deleted: z.number().int(),
  refused: z.array(z.object({ path: z.string(), code: z.string(), reason: z.string() })),
  refused_count: z.number().int(),
});
export type WorldSync = z.infer<typeof WorldSync>;

export const ExecReply = z.object({ ...ok, ...ExecResult.shape, world_id: z.string().optional(), world_sync: WorldSync.optional() });
