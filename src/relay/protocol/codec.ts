/**
 * Frames to messages and back. `decode` is the only door into the relay for a peer's
 * bytes: it returns an error value for anything (garbage, oversized, bad UTF-8, a wrong
 * field) and never throws, so a hostile peer cannot crash a connection handler.
 */
import { describeZodError } from '../../protocol/errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './limits.js';
import { DIRECTIONS, type Direction, type MessageOf, type RelayMessage } from './schemas.js';

/** What `ws` hands a 'message' listener (its RawData), or a string. */
export type Frame = string | Buffer | ArrayBuffer | readonly Buffer[];

export interface DecodeOptions<D extends Direction> {
  /** Who sent the frame to whom: picks the union it is read with. */
  direction: D;
  /** Frames above this many bytes are TOO_LARGE; defaults to 1 MiB. */
  maxBytes?: number;
}

export type DecodeResult<M> = { ok: true; message: M } | { ok: false; code: 'TOO_LARGE' | 'BAD_MESSAGE'; error: string; field?: string };

// fatal: invalid UTF-8 is refused, not silently turned into U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one frame as a message of `direction`; never throws. */
export function decode<D extends Direction>(frame: Frame, options: DecodeOptions<D>): DecodeResult<MessageOf<D>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const text = frameText(frame, maxBytes);
  if (typeof text !== 'string') return text;

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(`message is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad('message must be a JSON object with a "type"', '');
  }
  if (typeof (value as { type?: unknown }).type !== 'string') {
    return bad('message has no "type" (a string)', 'type');
  }

  const parsed = DIRECTIONS[options.direction].safeParse(value);
  if (!parsed.success) {
    // The type is the peer's text: echo it only when it is short enough to be a name.
    const type = (value as { type: string }).type;
    const what = type.length <= 32 ? `${JSON.stringify(type)} message` : 'message';
    const { message, field } = describeZodError(parsed.error, what);
    // An unknown key has no path of its own: name the (first) key, so `field` always points somewhere.
    const [first] = parsed.error.issues;
    const extra = first?.code === 'unrecognized_keys' ? [...first.path, first.keys[0]].join('.') : undefined;
    return bad(message, field || extra || undefined);
  }
  return { ok: true, message: parsed.data as MessageOf<D> };
}

/** One message as the text of one frame. The caller built it from the schemas' types. */
export function encode(message: RelayMessage): string {
  return JSON.stringify(message);
}

/** The frame's text, or TOO_LARGE / BAD_MESSAGE; the size is known before any decoding. */
function frameText(frame: Frame, maxBytes: number): string | DecodeResult<never> {
  try {
    if (typeof frame === 'string') {
      // UTF-8 takes at least one byte per UTF-16 unit and at most three, so only strings
      // in between need their bytes counted.
      if (frame.length > maxBytes) return tooLarge(frame.length, maxBytes);
      if (frame.length * 3 > maxBytes) {
        const bytes = Buffer.byteLength(frame, 'utf8');
        if (bytes > maxBytes) return tooLarge(bytes, maxBytes);
      }
      return frame;
    }
    if (frame instanceof ArrayBuffer) {
      if (frame.byteLength > maxBytes) return tooLarge(frame.byteLength, maxBytes);
      return utf8.decode(frame);
    }
    if (Buffer.isBuffer(frame)) {
      if (frame.length > maxBytes) return tooLarge(frame.length, maxBytes);
      return utf8.decode(frame);
    }
    if (Array.isArray(frame)) {
      // Fragments: sum first, so an oversized message is never concatenated.
      let total = 0;
      for (const part of frame) total += part.length;
      if (total > maxBytes) return tooLarge(total, maxBytes);
      return utf8.decode(Buffer.concat(frame, total));
    }
    return bad('frame is neither text nor bytes');
  } catch {
    return bad('message is not valid UTF-8');
  }
}

function tooLarge(bytes: number, maxBytes: number): DecodeResult<never> {
  return { ok: false, code: 'TOO_LARGE', error: `message of at least ${bytes} bytes is over the limit of ${maxBytes} bytes` };
}

function bad(error: string, field?: string): DecodeResult<never> {
  return field === undefined ? { ok: false, code: 'BAD_MESSAGE', error } : { ok: false, code: 'BAD_MESSAGE', error, field };
}
