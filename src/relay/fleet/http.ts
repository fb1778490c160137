/**
 * HTTP plumbing for the fleet API: JSON answers, the `{code, error, field?}` error shape,
 * the admin token check (constant time) and a body reader that stops at its cap.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_ERRORS, type HttpErrorCode } from './schemas.js';

/** A failure a route means to answer with; anything else thrown becomes 500 INTERNAL. */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly field: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: HttpErrorCode, message: string, field?: string, headers?: Record<string, string>) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.field = field || undefined;
    this.headers = headers;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  const body = { code: error.code, error: error.message, ...(error.field ? { field: error.field } : {}) };
  sendJson(res, HTTP_ERRORS[error.code], body, error.headers);
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` against the admin token. Both sides are hashed
 * first so the comparison takes the same time whatever the length or content offered.
 */
export function makeAdminCheck(adminToken: string): (req: IncomingMessage) => void {
  if (adminToken.length === 0) throw new Error('fleet API: the admin token must not be empty');
  const expected = digest(adminToken);
  const challenge = { 'www-authenticate': 'Bearer realm="agentos-relay"' };
  return (req) => {
    const header = req.headers.authorization;
    if (header === undefined) throw new HttpError('UNAUTHORIZED', 'missing "Authorization: Bearer <admin token>"', undefined, challenge);
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const offered = digest(match?.[1] ?? '');
    // Compare even when the header is malformed, so its shape is not timed either.
    const same = timingSafeEqual(offered, expected);
    if (match === null) throw new HttpError('UNAUTHORIZED', 'expected "Authorization: Bearer <admin token>"', undefined, challenge);
    if (!same) throw new HttpError('UNAUTHORIZED', 'wrong admin token', undefined, challenge);
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request body as JSON, refused with TOO_LARGE as soon as it passes `maxBytes`
 * (from Content-Length before reading, else while reading) without keeping more.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        chunks.length = 0;
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      try {
        resolve(parseJson(Buffer.concat(chunks, size)));
      } catch (error) {
        reject(error);
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError('TOO_LARGE', `request body above ${maxBytes} bytes`);
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new HttpError('BAD_REQUEST', 'expected a JSON body');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new HttpError('BAD_REQUEST', 'expected a UTF-8 body');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError('BAD_REQUEST', 'expected a JSON body (it does not parse)');
  }
}
