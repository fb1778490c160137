/**
 * A response body read into memory up to a limit (never more: a server that sends 10 GB
 * costs the limit and one chunk), and how it travels in a JSON reply: text when it is
 * text, base64 otherwise.
 */
import type { Encoding } from '../protocol/schemas/common.js';

export interface CappedBody {
  bytes: Buffer;
  /** The body had more than the limit; `bytes` is its first `limit` bytes. */
  truncated: boolean;
}

/**
 * Reads `body` until it ends or passes `limit`, then cancels it, which closes the
 * connection instead of draining the rest. Every chunk that arrives (decoded, the cut one
 * included) is added to `meter.bytes`.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number, meter: { bytes: number }): Promise<CappedBody> {
  if (body === null) return { bytes: Buffer.alloc(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let truncated = false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      meter.bytes += value.byteLength;
      const room = limit - kept;
      if (value.byteLength <= room) {
        chunks.push(value);
        kept += value.byteLength;
        continue;
      }
      if (room > 0) chunks.push(value.subarray(0, room));
      kept = limit;
      truncated = true;
      break;
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  return { bytes: Buffer.concat(chunks, kept), truncated };
}

const TEXT_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-www-form-urlencoded',
  'application/graphql',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/x-ndjson',
  'application/sql',
  'image/svg+xml',
]);
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/** Whether a content type says text in UTF-8 (or ASCII); no content type is judged by the bytes. */
function declaredText(contentType: string | null): boolean | undefined {
  if (contentType === null || contentType.trim() === '') return undefined;
  const [essence = '', ...parameters] = contentType.split(';');
  const mime = essence.trim().toLowerCase();
  const textual = mime.startsWith('text/') || TEXT_TYPES.has(mime) || mime.endsWith('+json') || mime.endsWith('+xml');
  if (!textual) return false;
  for (const parameter of parameters) {
    const [key = '', value = ''] = parameter.split('=');
    if (key.trim().toLowerCase() !== 'charset') continue;
    return UTF8_CHARSETS.has(value.trim().replace(/^"|"$/g, '').toLowerCase());
  }
  return true;
}

/**
 * The body as the reply carries it: utf8 when the content type is text in UTF-8 (or
 * absent, and the bytes hold no NUL) and the bytes decode as UTF-8, else base64. A body
 * cut by the limit may end inside a character; that partial character is left out.
 */
export function encodeBody(bytes: Buffer, contentType: string | null, truncated: boolean): { body: string; body_encoding: Encoding } {
  const declared = declaredText(contentType);
  const looksText = declared ?? !bytes.includes(0);
  if (looksText) {
    try {
      // ignoreBOM keeps a byte-order mark: the text is exactly the bytes.
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: truncated });
      return { body: text, body_encoding: 'utf8' };
    } catch {
      // Not UTF-8 after all: base64 below.
    }
  }
  return { body: bytes.toString('base64'), body_encoding: 'base64' };
}

/** Lowercase names; repeated headers are already joined with ", " by fetch, except set-cookie, joined here with "\n". */
export function headerRecord(headers: Headers): Record<string, string> {
  const entries: [string, string][] = [];
  for (const [name, value] of headers) if (name !== 'set-cookie') entries.push([name, value]);
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) entries.push(['set-cookie', cookies.join('\n')]);
  // fromEntries defines own properties: a header named __proto__ stays a header.
  return Object.fromEntries(entries);
}
