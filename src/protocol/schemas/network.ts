/**
 * HTTP and DOWNLOAD (protocol.md §5): a request the kernel makes for the agent, to a
 * host its allowed_domains cover. Limits that depend on the kernel (the longest timeout,
 * the largest body) are checked by the handler against its options; the ceilings here
 * only keep numbers sane.
 */
import { z } from 'zod';
import { Encoding, nonEmpty, ok, seconds } from './common.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Longest timeout a request may ask for; the kernel's `network.maxTimeoutS` may cap it lower. */
export const NETWORK_TIMEOUT_CEILING_S = 24 * 3600;
export const MAX_URL_LENGTH = 8192;
export const MAX_REQUEST_HEADERS = 64;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_LENGTH = 8192;
/** Names and values together; servers commonly refuse more than 8-16 KiB of headers. */
export const MAX_REQUEST_HEADER_BYTES = 16 * 1024;

/**
 * Headers an agent may not set, each for a reason: `host` would reach another virtual
 * host than the one checked; the framing headers (`content-length`,
 * `transfer-encoding`) and the hop-by-hop ones belong to the kernel's connection, and
 * letting an agent write them invites request smuggling. `proxy-*` too: there is no proxy.
 */
export const FORBIDDEN_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// A header value is bytes 0x20-0xFF and tab: no CR, LF or NUL, so nothing can end a header early.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const url = z
  .string({ error: 'expected a URL (a string)' })
  .min(1, 'expected a URL, got an empty string')
  .max(MAX_URL_LENGTH, `expected a URL of at most ${MAX_URL_LENGTH} characters`);

const method = z
  .string({ error: `expected a method: ${HTTP_METHODS.join(', ')}` })
  .transform((text) => text.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { error: `expected a method: ${HTTP_METHODS.join(', ')}` }));

const headers = z
  .record(z.string(), z.string({ error: 'expected a header value (a string)' }), { error: 'expected headers as an object of strings' })
  .superRefine((record, context) => {
    const entries = Object.entries(record);
    if (entries.length > MAX_REQUEST_HEADERS) {
      context.addIssue({ code: 'custom', message: `expected at most ${MAX_REQUEST_HEADERS} headers` });
      return;
    }
    let bytes = 0;
    for (const [name, value] of entries) {
      const issue = (message: string) => context.addIssue({ code: 'custom', message, path: [name] });
      bytes += name.length + value.length;
      if (name.length > MAX_HEADER_NAME_LENGTH || !TOKEN.test(name)) {
        issue(`expected a header name of at most ${MAX_HEADER_NAME_LENGTH} token characters (letters, digits, !#$%&'*+-.^_\`|~)`);
      } else if (FORBIDDEN_REQUEST_HEADERS.has(name.toLowerCase()) || name.toLowerCase().startsWith('proxy-')) {
        issue(`the header "${name}" is set by the kernel, not the agent`);
      } else if (value.length > MAX_HEADER_VALUE_LENGTH) {
        issue(`expected a header value of at most ${MAX_HEADER_VALUE_LENGTH} characters`);
      } else if (!FIELD_VALUE.test(value)) {
        issue('expected a header value without control characters (CR, LF, NUL) or characters beyond U+00FF');
      }
    }
    if (bytes > MAX_REQUEST_HEADER_BYTES) {
      context.addIssue({ code: 'custom', message: `expected at most ${MAX_REQUEST_HEADER_BYTES} bytes of headers (names and values)` });
    }
  });

const timeout = seconds(NETWORK_TIMEOUT_CEILING_S);
const byteLimit = (what: string) =>
  z
    .number({ error: `expected ${what} as a number of bytes` })
    .int(`expected ${what} as a whole number of bytes`)
    .positive(`expected ${what} above 0`);

export const HttpRequest = z
  .object({
    url,
    method: method.default('GET'),
    headers: headers.optional(),
    /** Text, or base64 with `body_encoding: "base64"` for binary bodies. */
    body: z.string({ error: 'expected the body as a string (utf8, or base64 with body_encoding "base64")' }).optional(),
    body_encoding: Encoding.default('utf8'),
    /** The whole exchange, redirects and body included. */
    timeout: timeout.default(30),
    /** Response body bytes kept; more is cut (`truncated`). At most the kernel's `network.maxBodyBytes`, its default. */
    max_body: byteLimit('max_body').optional(),
    /** Follow 301, 302, 303, 307 and 308, checking each hop; false returns the redirect itself. */
    follow_redirects: z.boolean().default(true),
    async: z.boolean().default(false),
  })
  .superRefine((request, context) => {
    if (request.body === undefined) return;
    if (request.method === 'GET' || request.method === 'HEAD') {
      context.addIssue({ code: 'custom', message: `a ${request.method} request has no body`, path: ['body'] });
    } else if (request.body_encoding === 'base64' && (request.body.length % 4 !== 0 || !BASE64.test(request.body))) {
      context.addIssue({ code: 'custom', message: 'expected base64 (A-Z, a-z, 0-9, +, /, padded with =)', path: ['body'] });
    }
  });
export type HttpRequest = z.infer<typeof HttpRequest>;

export const HttpResult = z.object({
  status_code: z.number().int(),
  status_text: z.string(),
  /** Lowercase names; repeated headers joined with ", ", except set-cookie, joined with "\n". */
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  /** utf8 when the content type is text (or absent) and the bytes are valid UTF-8; else base64. */
  body_encoding: Encoding,
  /** The body went over max_body: `body` is its first max_body bytes. */
  truncated: z.boolean(),
  duration_ms: z.number(),
  /** The URL that answered, after redirects. */
  url: z.string(),
  redirects: z.number().int(),
});
export type HttpResult = z.infer<typeof HttpResult>;
export const HttpReply = z.object({ ...ok, ...HttpResult.shape });

export const DownloadRequest = z.object({
  url,
  /** Where the body goes (relative to the agent's directory); checked by the agent's write rules. */
  path: nonEmpty('a file path'),
  headers: headers.optional(),
  timeout: timeout.default(300),
  /** Largest body accepted; more is QUOTA_EXCEEDED and nothing is kept. At most the kernel's `network.maxDownloadBytes`, its default. */
  max_bytes: byteLimit('max_bytes').optional(),
  /** Create missing parent directories. */
  mkdir: z.boolean().default(false),
  follow_redirects: z.boolean().default(true),
  async: z.boolean().default(false),
});
export type DownloadRequest = z.infer<typeof DownloadRequest>;

export const DownloadResult = z.object({
  path: z.string(),
  bytes: z.number().int(),
  status_code: z.number().int(),
  /** Hex SHA-256 of the bytes written. */
  sha256: z.string(),
  content_type: z.string().nullable(),
  duration_ms: z.number(),
  url: z.string(),
  redirects: z.number().int(),
});
export type DownloadResult = z.infer<typeof DownloadResult>;
export const DownloadReply = z.object({ ...ok, ...DownloadResult.shape });
