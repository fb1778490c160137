/**
 * Mock patterns, `METHOD host/path` (worlds.md §3), compiled once when the world is made.
 *
 * - METHOD is an HTTP method (any case) or `*` for every method.
 * - host is a host name, or a glob where `*` is any run of characters (`*.api.test`).
 * - /path uses the codebase's one glob (src/security/paths-glob.ts): `*` stays inside a
 *   segment, a `**` segment spans any number of them. No path at all means every path of
 *   the host (`GET api.test` is `GET api.test/**`). `?` and `#` are refused: queries are
 *   not matched, and `?` would silently be a wildcard.
 *
 * Most specific wins: an exact path before a glob path (the spec's rule), then an exact
 * host before a glob host, then a named method before `*` (our refinement, in the same
 * spirit), then the order of the list. The table is sorted once by that key, so a lookup
 * is the first match.
 */
import { normalizeHost } from '../../security/domains.js';
import { compileGlob, hasWildcard, type PathMatcher } from '../../security/paths-glob.js';
import type { RequestTarget } from './target.js';

export interface CompiledPattern {
  readonly source: string;
  /** Uppercase, or undefined for `*`. */
  readonly method: string | undefined;
  readonly host: PathMatcher;
  readonly path: PathMatcher;
  /** [path is a glob, host is a glob, method is `*`] as 0/1: smaller is more specific. */
  readonly specificity: readonly [number, number, number];
}

const METHOD = /^[A-Za-z]+$/;

/** Compiles one pattern; the error says what is wrong with it (the caller adds the key path). */
export function compilePattern(source: string): CompiledPattern {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 2) throw new Error(`expected "METHOD host/path", got "${source}"`);
  const [methodText, target] = parts as [string, string];
  if (methodText !== '*' && !METHOD.test(methodText)) throw new Error(`method: expected an HTTP method or "*", got "${methodText}"`);
  if (/[?#]/.test(target)) throw new Error(`"${target}": queries and fragments are not matched; remove "?" / "#"`);

  const slash = target.indexOf('/');
  const hostText = (slash === -1 ? target : target.slice(0, slash)).toLowerCase();
  const pathText = slash === -1 ? '/**' : target.slice(slash);

  const hostIsGlob = hostText.includes('*');
  const host = hostIsGlob ? hostText.replace(/\.$/, '') : normalizeHost(hostText);
  if (host === undefined || host === '') throw new Error(`host: expected a host name or a "*" glob, got "${hostText}"`);
  // A literal path is normalized as the URL parser will normalize request paths (dot
  // segments, percent-encoding); `*` survives that parse unchanged.
  const path = new URL(`http://pattern.invalid${pathText}`).pathname;

  return Object.freeze({
    source,
    method: methodText === '*' ? undefined : methodText.toUpperCase(),
    host: compileGlob(host),
    path: compileGlob(path),
    specificity: [hasWildcard(path) ? 1 : 0, hostIsGlob ? 1 : 0, methodText === '*' ? 1 : 0] as const,
  });
}

export function patternMatches(pattern: CompiledPattern, target: RequestTarget): boolean {
  return (
    (pattern.method === undefined || pattern.method === target.method) && pattern.host.test(target.host) && pattern.path.test(target.path)
  );
}

/** Items ordered most specific first, ties in list order (Array.prototype.sort is stable). */
export function bySpecificity<T extends { readonly pattern: CompiledPattern }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => {
    for (let i = 0; i < 3; i++) {
      const diff = a.pattern.specificity[i]! - b.pattern.specificity[i]!;
      if (diff !== 0) return diff;
    }
    return 0;
  });
}
