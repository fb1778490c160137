/**
 * The one glob of the codebase: path rules (allowed_read_paths, allowed_write_paths,
 * blocked_paths) and FILE_CHANGED's `filter.path` both use it.
 *
 * - A segment that is exactly `**` matches any number of segments, none included, so
 *   `/a/**` matches `/a` itself and everything below it, and `/a/**\/x` matches `/a/x`.
 * - In any other segment, `*` is a run of characters without `/` (so `**` there is `*`,
 *   as in gitignore and bash's globstar) and `?` is one character (UTF-16 unit) but `/`.
 * - Everything else is literal: no braces, classes or escapes. Case is exact here; the
 *   caller lowercases both sides when it wants case to be ignored.
 *
 * Matching never backtracks exponentially, whatever the pattern: segments are matched by
 * the greedy wildcard algorithm (resume after the last `**`), characters inside a segment
 * by the same algorithm over `*`. The worst case is O(pattern × path) per pattern, which
 * matters because an agent chooses its own (narrower) patterns and the kernel's event loop
 * checks FILE_CHANGED deliveries against them.
 */

const WILDCARD = /[*?]/;
const GLOBSTAR = Symbol('**');

/** One segment of a pattern: `**`, a literal name, or a name with `*`/`?`. */
type Segment = typeof GLOBSTAR | { readonly literal: string } | { readonly wildcard: string };

/** A compiled glob: whole-path matching of normalized absolute (or relative) paths. */
export interface PathMatcher {
  test(path: string): boolean;
  /** The pattern it was compiled from. */
  readonly source: string;
}

/** Compiles a glob (see the module comment for what it means). */
export function compileGlob(glob: string): PathMatcher {
  const segments: Segment[] = [];
  for (const part of glob.split('/')) {
    if (part === '**') {
      // `**/**` is `**`: collapsing keeps the matcher's work proportional to real structure.
      if (segments.at(-1) !== GLOBSTAR) segments.push(GLOBSTAR);
    } else if (WILDCARD.test(part)) {
      segments.push({ wildcard: part.replace(/\*+/g, '*') });
    } else {
      segments.push({ literal: part });
    }
  }
  const hasGlobstar = segments.includes(GLOBSTAR);
  return Object.freeze({
    source: glob,
    test(path: string): boolean {
      const parts = path.split('/');
      // Without `**` the segment counts must agree: one comparison rejects most paths.
      if (!hasGlobstar && parts.length !== segments.length) return false;
      return matchSegments(segments, parts);
    },
  });
}

/** Greedy wildcard matching over segments, `**` being the star. */
function matchSegments(pattern: readonly Segment[], parts: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < parts.length) {
    const segment = pattern[p];
    if (segment === GLOBSTAR) {
      starP = p++;
      starS = s;
      continue;
    }
    if (segment !== undefined && matchSegment(segment, parts[s] as string)) {
      p++;
      s++;
      continue;
    }
    if (starP < 0) return false;
    // The last `**` takes one more segment, and matching resumes after it.
    p = starP + 1;
    s = ++starS;
  }
  while (pattern[p] === GLOBSTAR) p++;
  return p === pattern.length;
}

function matchSegment(segment: Exclude<Segment, typeof GLOBSTAR>, name: string): boolean {
  return 'literal' in segment ? segment.literal === name : matchWildcard(segment.wildcard, name);
}

/** Greedy wildcard matching of one name against `*` and `?`. */
function matchWildcard(pattern: string, name: string): boolean {
  let p = 0;
  let s = 0;
  let star = -1;
  let mark = 0;
  while (s < name.length) {
    const char = pattern[p];
    if (char === '*') {
      star = p++;
      mark = s;
    } else if (char !== undefined && (char === '?' || char === name[s])) {
      p++;
      s++;
    } else if (star >= 0) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether the glob has a wildcard at all. */
export function hasWildcard(glob: string): boolean {
  return WILDCARD.test(glob);
}

/**
 * The longest directory of an absolute glob without a wildcard: what must be watched to
 * see every path it can match (`/a/b/*.ts` → `/a/b`, `/a/**` → `/a`, `/a/f.txt` → `/a`).
 */
export function staticPrefix(glob: string): string {
  const segments = glob.split('/');
  let end = segments.findIndex((segment) => WILDCARD.test(segment));
  if (end === -1) end = segments.length - 1;
  return segments.slice(0, end).join('/') || '/';
}
