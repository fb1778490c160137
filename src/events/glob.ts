/**
 * The tiny glob of FILE_CHANGED's `filter.path`: `**` matches across directories (also
 * none: `/a/**\/x` matches `/a/x`), `*` any run of characters but `/`, `?` one character
 * but `/`. Everything else is literal; there are no braces or character classes.
 */

const WILDCARD = /[*?]/;

/** The glob as an anchored RegExp matching whole absolute paths. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          source += '(?:.*/)?';
        } else {
          source += '.*';
        }
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
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
