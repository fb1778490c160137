/**
 * The token's wire form and its hash: pure functions, no database. Parsing never throws
 * (anything from the network may arrive here), and comparison is constant-time.
 *
 * Why HMAC-SHA256 and not scrypt: the secret is 32 random bytes, so there is nothing to
 * brute-force and a slow hash would only make every connection pay. The server key keeps
 * a leaked row from being checked against anything without the key too.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ID_BYTES, MAX_TOKEN_LENGTH, SECRET_BYTES, SECRET_CHARS, TOKEN_KINDS, TOKEN_PREFIX, type TokenKind } from './schema.js';

export interface ParsedToken {
  kind: TokenKind;
  id: string;
  secret: Buffer;
}

const ID_PATTERN = /^[0-9a-f]+$/;
const SECRET_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A fresh id and secret, and the token that carries them. */
export function mintToken(kind: TokenKind): { id: string; secret: Buffer; token: string } {
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES);
  return { id, secret, token: `${TOKEN_PREFIX}${kind}_${id}_${secret.toString('base64url')}` };
}

/** `aos_<kind>_<id>_<secret>` into its parts, or null for anything else (any type, any size). */
export function parseToken(token: unknown): ParsedToken | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX)) return null;
  const rest = token.slice(TOKEN_PREFIX.length);
  const kindEnd = rest.indexOf('_');
  if (kindEnd < 0) return null;
  const kind = TOKEN_KINDS.find((known) => known === rest.slice(0, kindEnd));
  if (kind === undefined) return null;
  const id = rest.slice(kindEnd + 1, kindEnd + 1 + ID_BYTES * 2);
  const encoded = rest.slice(kindEnd + 2 + ID_BYTES * 2);
  if (id.length !== ID_BYTES * 2 || !ID_PATTERN.test(id) || rest[kindEnd + 1 + ID_BYTES * 2] !== '_') return null;
  if (encoded.length !== SECRET_CHARS || !SECRET_PATTERN.test(encoded)) return null;
  const secret = Buffer.from(encoded, 'base64url');
  // 43 characters hold 258 bits: the last two must be zero, or two spellings would decode
  // to one secret. Re-encoding and comparing refuses the non-canonical spelling.
  if (secret.length !== SECRET_BYTES || secret.toString('base64url') !== encoded) return null;
  return { kind, id, secret };
}

/** HMAC-SHA256(serverKey, secret): what the database keeps instead of the secret. */
export function hashSecret(serverKey: Buffer, secret: Buffer): Buffer {
  return createHmac('sha256', serverKey).update(secret).digest();
}

/** Constant-time equality of two hashes; a length mismatch (a damaged row) is simply false. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
