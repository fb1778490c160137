/**
 * A shell word as the parser leaves it: pieces of text (quoted or not) and expansions
 * whose value is only known when the command runs. Quote removal is done; pathname,
 * brace and tilde expansion are not (the matcher decides what they can produce).
 */

import { type GlobSource, globTokens, isWild } from './glob.js';

export type Piece =
  /** Characters of the word; `quoted` ones are literal (no glob, brace or tilde meaning). */
  | { readonly kind: 'text'; readonly text: string; readonly quoted: boolean }
  /** `$X`, `${X}`, `$(...)`, backticks, `$((...))`, `<(...)`: unknown until it runs. Unquoted, it may split into several words. */
  | { readonly kind: 'unknown'; readonly source: string; readonly quoted: boolean };

export interface Word {
  /** The word as written. */
  readonly source: string;
  readonly pieces: readonly Piece[];
}

/** A word of plain literal text (no quotes), as a rule's words or a SPAWN argv are. */
export function literalWord(text: string): Word {
  return { source: text, pieces: [{ kind: 'text', text, quoted: true }] };
}

/** Whether any piece is unknown until the command runs. */
export function hasUnknown(word: Word): boolean {
  return word.pieces.some((piece) => piece.kind === 'unknown');
}

/** Whether an unquoted expansion may split the word into several (or none). */
export function splits(word: Word): boolean {
  return word.pieces.some((piece) => piece.kind === 'unknown' && !piece.quoted);
}

/** Whether unquoted text holds a wildcard (the shell may replace the word with file names); a `[` never closed is literal. */
export function hasGlob(word: Word): boolean {
  if (!word.pieces.some((piece) => piece.kind === 'text' && !piece.quoted && /[*?[]/.test(piece.text))) return false;
  return isWild(globTokens(textPieces(word), false));
}

/** The word's text pieces (unknown ones left out), as glob sources. */
export function textPieces(word: Word): GlobSource[] {
  return word.pieces.filter((piece) => piece.kind === 'text');
}

/** The word's value when nothing in it waits for the command to run; null otherwise. */
export function knownValue(word: Word): string | null {
  let value = '';
  for (const piece of word.pieces) {
    if (piece.kind === 'unknown') return null;
    value += piece.text;
  }
  return value;
}

/** The value of a word that is fixed text: no expansion, no glob. */
export function staticValue(word: Word): string | null {
  return hasGlob(word) ? null : knownValue(word);
}

/** The text of a word written without any quoting or expansion (reserved words, names); null otherwise. */
export function plainText(word: Word): string | null {
  const [only, ...rest] = word.pieces;
  if (rest.length > 0) return null;
  if (only === undefined) return '';
  return only.kind === 'text' && !only.quoted ? only.text : null;
}

/** `NAME=value` (or `NAME+=value`) with the name unquoted: a variable assignment. Returns the name. */
export function assignmentName(word: Word): string | null {
  const first = word.pieces[0];
  if (first?.kind !== 'text' || first.quoted) return null;
  const match = /^([A-Za-z_][A-Za-z0-9_]*)\+?=/.exec(first.text);
  return match ? match[1]! : null;
}

/**
 * Whether quoted text of the word holds substitution syntax (`$(`, a backtick). Stored in
 * a variable, such text can run later without eval: bash evaluates `a[$(cmd)]` inside
 * `$((x))`, `${!x}` and `[[ $x -eq 1 ]]`.
 */
export function holdsCode(word: Word): boolean {
  return word.pieces.some((piece) => piece.kind === 'text' && piece.quoted && (piece.text.includes('$(') || piece.text.includes('`')));
}

/** Why a word for which holdsCode is true cannot be analysed. */
export const STORED_CODE =
  'a variable is given text with $( or a backtick, which bash may run later (a[$(…)] in $((x)), or an indirect expansion)';

/** Upper bound on the words one brace expansion may produce before it is refused. */
export const MAX_BRACE_WORDS = 256;

interface Char {
  c: string;
  /** Quoted, or inside an expansion: no brace meaning. */
  literal: boolean;
}

/**
 * bash's brace expansion (`{a,b}`, `{1..3}`, `{a..c}`) of the word's unquoted text.
 * dash has none; expanding anyway can only find more programs, never hide one. Returns
 * the word itself when it has no braces to expand, null when it would make too many words.
 */
export function expandBraces(word: Word): Word[] | null {
  if (!word.pieces.some((piece) => piece.kind === 'text' && !piece.quoted && piece.text.includes('{'))) return [word];
  // Work on characters; an unknown piece is one opaque character that carries the piece.
  const chars: (Char | Piece)[] = [];
  for (const piece of word.pieces) {
    if (piece.kind === 'unknown') chars.push(piece);
    else for (const c of piece.text) chars.push({ c, literal: piece.quoted });
  }
  const results = expandChars(chars, 0);
  if (results === null) return null;
  if (results.length === 1) return [word];
  return results.map((result) => fromChars(result, word.source));
}

function isChar(item: Char | Piece): item is Char {
  return 'c' in item;
}

function expandChars(chars: (Char | Piece)[], depth: number): (Char | Piece)[][] | null {
  if (depth > 16) return null;
  for (let open = 0; open < chars.length; open++) {
    const item = chars[open]!;
    if (!isChar(item) || item.literal || item.c !== '{') continue;
    // `${` is a parameter expansion, never a brace (the lexer already made it an unknown piece).
    const parts = splitBrace(chars, open);
    if (parts === 'overflow') return null;
    if (!parts) continue;
    const prefix = chars.slice(0, open);
    const suffix = chars.slice(parts.close + 1);
    const out: (Char | Piece)[][] = [];
    for (const alternative of parts.alternatives) {
      const expanded = expandChars([...prefix, ...alternative, ...suffix], depth + 1);
      if (expanded === null) return null;
      out.push(...expanded);
      if (out.length > MAX_BRACE_WORDS) return null;
    }
    return out;
  }
  return [chars];
}

/** The alternatives of the brace group opening at `open` (a comma list or a sequence); null when it is not one. */
function splitBrace(chars: (Char | Piece)[], open: number): { close: number; alternatives: (Char | Piece)[][] } | 'overflow' | null {
  let depth = 0;
  const commas: number[] = [];
  for (let i = open + 1; i < chars.length; i++) {
    const item = chars[i]!;
    if (!isChar(item) || item.literal) continue;
    if (item.c === '{') depth++;
    else if (item.c === '}') {
      if (depth > 0) {
        depth--;
        continue;
      }
      if (commas.length > 0) {
        const bounds = [open, ...commas, i];
        const alternatives = bounds.slice(1).map((end, k) => chars.slice(bounds[k]! + 1, end));
        return { close: i, alternatives };
      }
      const sequence = braceSequence(chars.slice(open + 1, i));
      if (sequence === 'overflow') return sequence;
      return sequence ? { close: i, alternatives: sequence } : null;
    } else if (item.c === ',' && depth === 0) commas.push(i);
  }
  return null;
}

/** `{1..5}`, `{a..e}`, `{1..10..2}` as their items; null when the text is not a sequence, 'overflow' when it is too long. */
function braceSequence(inner: (Char | Piece)[]): (Char | Piece)[][] | 'overflow' | null {
  if (!inner.every(isChar)) return null;
  const text = (inner as Char[]).map((ch) => ch.c).join('');
  const numeric = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$/.exec(text);
  const letters = /^([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?$/.exec(text);
  const match = numeric ?? letters;
  if (!match) return null;
  const toNumber = (s: string) => (numeric ? Number(s) : s.charCodeAt(0));
  const from = toNumber(match[1]!);
  const to = toNumber(match[2]!);
  const step = Math.abs(Number(match[3] ?? 1)) || 1;
  const count = Math.floor(Math.abs(to - from) / step) + 1;
  if (count > MAX_BRACE_WORDS) return 'overflow';
  const items: (Char | Piece)[][] = [];
  for (let k = 0; k < count; k++) {
    const value = from + (to >= from ? k : -k) * step;
    const word = numeric ? String(value) : String.fromCharCode(value);
    items.push(Array.from(word, (c) => ({ c, literal: true })));
  }
  return items;
}

function fromChars(items: (Char | Piece)[], source: string): Word {
  const pieces: Piece[] = [];
  for (const item of items) {
    if (!isChar(item)) {
      pieces.push(item);
      continue;
    }
    const last = pieces.at(-1);
    if (last?.kind === 'text' && last.quoted === item.literal) pieces[pieces.length - 1] = { ...last, text: last.text + item.c };
    else pieces.push({ kind: 'text', text: item.c, quoted: item.literal });
  }
  return { source, pieces };
}
