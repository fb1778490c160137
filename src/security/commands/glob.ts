/**
 * Globs as token lists, and the three questions the command matcher asks of them:
 * does a glob match a string, can two globs match a common string (a command word that
 * is itself a shell glob, or holds an unknown expansion, against a rule), and does one
 * glob match everything another does (an allowlist must prove, not guess).
 *
 * `*` and `?` never match `/` (in a rule as in a shell's pathname expansion); `**` in a
 * rule matches anything, `/` included. An expansion whose value is unknown until the
 * command runs (`"$X"`) is the `any` token: any string at all.
 *
 * Every answer is a dynamic programme over the two token lists, bounded in cells: past
 * the bound the caller gets `undefined` and decides conservatively (deny).
 */

export type GlobToken =
  | { readonly t: 'char'; readonly c: string }
  /** `?`: one character, never `/`. */
  | { readonly t: 'one' }
  /** `*`: any run of characters without `/`. */
  | { readonly t: 'star' }
  /** `**` in a rule, or an unknown value: any run of characters. */
  | { readonly t: 'any' }
  | { readonly t: 'class'; readonly negated: boolean; readonly text: string; readonly items: readonly (readonly [string, string])[] };

/** Tables larger than this are not computed (the command is then judged conservatively). */
const MAX_CELLS = 4_000_000;

export interface GlobSource {
  text: string;
  /** Quoted text is literal: its `*`, `?` and `[` match themselves. */
  quoted: boolean;
}

/**
 * Tokens of a glob written in pieces (quoted and unquoted). `doubleStar`: `**` is the
 * `any` token (rules); in a shell word it is just two stars.
 */
export function globTokens(pieces: readonly GlobSource[], doubleStar: boolean): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (const piece of pieces) {
    const { text } = piece;
    if (piece.quoted) {
      for (const c of text) tokens.push({ t: 'char', c });
      continue;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === '*') {
        if (doubleStar && text[i + 1] === '*') {
          while (text[i + 1] === '*') i++;
          tokens.push({ t: 'any' });
        } else tokens.push({ t: 'star' });
      } else if (c === '?') tokens.push({ t: 'one' });
      else if (c === '[') {
        const parsed = parseClass(text, i);
        if (parsed) {
          tokens.push(parsed.token);
          i = parsed.end;
        } else tokens.push({ t: 'char', c });
      } else tokens.push({ t: 'char', c });
    }
  }
  return tokens;
}

/** Literal characters as tokens. */
export function literalTokens(text: string): GlobToken[] {
  return Array.from(text, (c) => ({ t: 'char', c }) as const);
}

/** Whether any token is a wildcard (the glob is not one literal string). */
export function isWild(tokens: readonly GlobToken[]): boolean {
  return tokens.some((token) => token.t !== 'char');
}

/** `[...]` starting at `start`; null when it is not closed (then `[` is literal, as in sh). */
function parseClass(text: string, start: number): { token: GlobToken; end: number } | null {
  let i = start + 1;
  let negated = false;
  if (text[i] === '!' || text[i] === '^') {
    negated = true;
    i++;
  }
  const items: [string, string][] = [];
  const first = i;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === ']' && i > first) return { token: { t: 'class', negated, text: text.slice(start, i + 1), items }, end: i };
    if (c === '[' && text[i + 1] === ':') {
      // A character class like [:alpha:]: too many characters to list; stands for "some letters".
      const close = text.indexOf(':]', i + 2);
      if (close < 0) return null;
      items.push(['\u0000', '\uffff']);
      i = close + 1;
      continue;
    }
    if (text[i + 1] === '-' && text[i + 2] !== undefined && text[i + 2] !== ']') {
      items.push([c, text[i + 2]!]);
      i += 2;
    } else items.push([c, c]);
  }
  return null;
}

const SLASH = '/';

type Single = Extract<GlobToken, { t: 'char' | 'one' | 'class' }>;
const isRun = (token: GlobToken): boolean => token.t === 'star' || token.t === 'any';

function classHas(token: Extract<GlobToken, { t: 'class' }>, c: string): boolean {
  const inside = token.items.some(([from, to]) => c >= from && c <= to);
  return token.negated ? !inside : inside;
}

/** Whether some character fits both tokens (a run token stands for the characters it may produce). */
function overlap(a: GlobToken, b: GlobToken): boolean {
  if (a.t === 'char') return fits(b, a.c);
  if (b.t === 'char') return fits(a, b.c);
  // Two wildcards (?, [..], *, **): some non-slash character fits both, unless a class is only "/".
  return !onlySlash(a) && !onlySlash(b);
}

function onlySlash(token: GlobToken): boolean {
  return token.t === 'class' && !token.negated && token.items.every(([from, to]) => from === SLASH && to === SLASH);
}

/** Whether `c` is one of the characters `token` may produce. */
function fits(token: GlobToken, c: string): boolean {
  switch (token.t) {
    case 'char':
      return token.c === c;
    case 'one':
    case 'star':
      return c !== SLASH;
    case 'any':
      return true;
    case 'class':
      return c !== SLASH && classHas(token, c);
  }
}

/** Whether every character `inner` may produce is one `outer` (a single-character token or a run) accepts. */
function within(outer: GlobToken, inner: GlobToken): boolean {
  if (outer.t === 'any') return true;
  if (inner.t === 'any') return false;
  if (inner.t === 'char') return fits(outer, inner.c);
  if (outer.t === 'char') return false;
  if (outer.t === 'one' || outer.t === 'star')
    return inner.t !== 'class' || (!inner.negated && !inner.items.some(([f, t]) => SLASH >= f && SLASH <= t));
  // outer is a class: only the very same class is surely inside it.
  return inner.t === 'class' && inner.text === outer.text;
}

function table(a: number, b: number): Uint8Array | undefined {
  const cells = (a + 1) * (b + 1);
  return cells > MAX_CELLS ? undefined : new Uint8Array(cells);
}

/**
 * Whether some string matches both `a` and `b`; undefined when too large to decide.
 * (The product of the two automata: a run may skip, or absorb one token of the other side.)
 */
export function globsIntersect(a: readonly GlobToken[], b: readonly GlobToken[]): boolean | undefined {
  const width = b.length + 1;
  const dp = table(a.length, b.length);
  if (!dp) return undefined;
  dp[a.length * width + b.length] = 1;
  for (let i = a.length; i >= 0; i--) {
    for (let j = b.length; j >= 0; j--) {
      if (i === a.length && j === b.length) continue;
      const x = a[i];
      const y = b[j];
      let ok = false;
      if (x && isRun(x))
        ok = dp[(i + 1) * width + j] === 1 || (y !== undefined && !isRun(y) && overlap(x, y) && dp[i * width + j + 1] === 1);
      if (!ok && y && isRun(y))
        ok = dp[i * width + j + 1] === 1 || (x !== undefined && !isRun(x) && overlap(x, y) && dp[(i + 1) * width + j] === 1);
      if (!ok && x && y && !isRun(x) && !isRun(y)) ok = overlap(x as Single, y as Single) && dp[(i + 1) * width + j + 1] === 1;
      dp[i * width + j] = ok ? 1 : 0;
    }
  }
  return dp[0] === 1;
}

/** Whether `glob` matches the literal `text`; undefined when too large to decide. */
export function globMatches(glob: readonly GlobToken[], text: string): boolean | undefined {
  return globsIntersect(glob, literalTokens(text));
}

/**
 * Whether every string `inner` matches is matched by `outer` (a sufficient test: when it
 * says yes, it is so; a no may be a containment it could not prove). Undefined when too large.
 */
export function globCovers(outer: readonly GlobToken[], inner: readonly GlobToken[]): boolean | undefined {
  const width = inner.length + 1;
  const dp = table(outer.length, inner.length);
  if (!dp) return undefined;
  dp[outer.length * width + inner.length] = 1;
  for (let i = outer.length; i >= 0; i--) {
    for (let j = inner.length; j >= 0; j--) {
      if (i === outer.length && j === inner.length) continue;
      const x = outer[i];
      const y = inner[j];
      let ok = false;
      if (x && isRun(x)) ok = dp[(i + 1) * width + j] === 1 || (y !== undefined && within(x, y) && dp[i * width + j + 1] === 1);
      else if (x && y && !isRun(y)) ok = within(x, y) && dp[(i + 1) * width + j + 1] === 1;
      dp[i * width + j] = ok ? 1 : 0;
    }
  }
  return dp[0] === 1;
}
