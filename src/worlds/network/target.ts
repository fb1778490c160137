/**
 * What a request is matched on: method, host and path, read with WHATWG URL (the parser
 * the HTTP syscall fetches with), so case, trailing dots, punycode and percent-encoding
 * cannot make the simulator and the real request disagree.
 *
 * Decisions: the port is ignored (a world names hosts, not services: `api.test` covers
 * `api.test:8443`); the query and fragment are ignored (mocks match paths); the path is
 * case-sensitive, as servers treat it.
 */
import { normalizeHost } from '../../security/domains.js';

export interface RequestTarget {
  /** Uppercase (`GET`). */
  readonly method: string;
  /** Lowercase, punycode, no trailing dot, no port. */
  readonly host: string;
  /** The URL's pathname, percent-encoded as URL serializes it. */
  readonly path: string;
}

export type TargetResult = ({ ok: true } & RequestTarget) | { ok: false; reason: string };

const SCHEMES = new Set(['http:', 'https:']);

export function readTarget(method: string, url: string): TargetResult {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: `url: expected an absolute http(s) URL, got "${url.slice(0, 200)}"` };
  }
  if (!SCHEMES.has(parsed.protocol)) return { ok: false, reason: `url: expected http or https, got "${parsed.protocol}"` };
  const host = normalizeHost(parsed.hostname);
  if (host === undefined) return { ok: false, reason: `url: "${parsed.hostname}" is not a valid host` };
  return { ok: true, method: method.toUpperCase(), host, path: parsed.pathname };
}
