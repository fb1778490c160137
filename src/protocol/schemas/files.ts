/** READ and WRITE: file contents as UTF-8 or base64, run in a worker off the event loop. */
import { z } from 'zod';
import { Encoding, nonEmpty, ok } from './common.js';

export const ReadRequest = z.object({
  path: nonEmpty('a file path'),
  encoding: Encoding.default('utf8'),
  offset: z.number().int().nonnegative('expected a byte offset of 0 or more').default(0),
  length: z.number().int().nonnegative('expected a byte length of 0 or more').optional(),
});
export type ReadRequest = z.infer<typeof ReadRequest>;

export const ReadResult = z.object({
  content: z.string(),
  /** The whole file's size, so a client can read a large file in parts. */
  size: z.number().int(),
  encoding: Encoding,
  offset: z.number().int(),
  bytes_read: z.number().int(),
  eof: z.boolean(),
});
export type ReadResult = z.infer<typeof ReadResult>;
export const ReadReply = z.object({ ...ok, path: z.string(), ...ReadResult.shape });

export const WriteRequest = z.object({
  path: nonEmpty('a file path'),
  content: z.string({ error: 'expected the content as a string (utf8, or base64 with encoding "base64")' }),
  mode: z.enum(['write', 'append']).default('write'),
  encoding: Encoding.default('utf8'),
  /** Create missing parent directories. */
  mkdir: z.boolean().default(false),
});
export type WriteRequest = z.infer<typeof WriteRequest>;

export const WriteResult = z.object({ bytes_written: z.number().int(), size: z.number().int() });
export type WriteResult = z.infer<typeof WriteResult>;
export const WriteReply = z.object({ ...ok, path: z.string(), ...WriteResult.shape });
