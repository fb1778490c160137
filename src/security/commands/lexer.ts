/**
 * The shell's tokens: words (with quote removal and every kind of expansion found),
 * operators, newlines. Substitutions inside a word (`$(...)`, backticks, `<(...)`) hold
 * commands that run too, so the lexer hands them to the reader to be parsed where they
 * stand; here-document bodies are read at the newline that ends their line, as sh does.
 * POSIX sh plus the bash syntax a command line is likely to use; what it does not know
 * is a syntax error, never a guess.
 */
import type { Piece, Word } from './words.js';

export type Token =
  | { readonly kind: 'word'; readonly word: Word; readonly start: number; readonly end: number }
  /** `fd`: the descriptor written before a redirection (`2>`, `{var}>`); null when none. */
  | { readonly kind: 'op'; readonly op: string; readonly fd: string | null; readonly start: number; readonly end: number }
  | { readonly kind: 'newline'; readonly start: number; readonly end: number }
  | { readonly kind: 'eof'; readonly start: number; readonly end: number };

export class ParseError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

/** What the lexer needs from the reader: nested command lists parsed where they stand. */
export interface NestedReader {
  /** Parse commands from `lexer.pos` through the `)` that closes them (`$(`, `<(`). */
  parseUntilParen(lexer: Lexer, what: string): void;
  /** Parse a separate text as a script (the body of backticks). */
  parseText(text: string, what: string): void;
  /** A point to roll the found commands back to (a `$((` that turns out not to be arithmetic). */
  mark(): number;
  rollback(mark: number): void;
}

export interface Heredoc {
  delimiter: string;
  /** `<<-`: leading tabs are stripped. */
  strip: boolean;
  /** An unquoted delimiter: the body is expanded ($, backticks), so it may run commands. */
  expand: boolean;
  /** The body after expansion where it is known; null until read, or when it holds an expansion. */
  text: string | null;
  /** The body as written (null until read). */
  raw: string | null;
}

const OPERATORS = [
  ';;&',
  '<<-',
  '<<<',
  '&>>',
  ';;',
  ';&',
  '&&',
  '||',
  '|&',
  '<<',
  '<>',
  '<&',
  '>>',
  '>&',
  '>|',
  '&>',
  ';',
  '&',
  '|',
  '<',
  '>',
  '(',
  ')',
];
const OPERATOR_OR_FD_START = new Set([';', '&', '|', '<', '>', '(', ')', '{', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
const FD_PREFIX = /^(?:\d+|\{[A-Za-z_][A-Za-z0-9_]*\})(?=[<>])/y;

/** Characters that end a run of plain text, per context (ASCII codes; every other character is plain). */
function stops(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}
const PLAIN = stops(' \t\n;&|()<>\\\'"$`');
const PLAIN_IN_DOUBLE = stops('"\\$`');
const PLAIN_IN_HEREDOC = stops('\\$`');
const PLAIN_IN_BACKTICK = stops('`\\');

/** The run of plain characters at `at` (at least one character), taken in one slice. */
function run(table: Uint8Array, src: string, at: number): string {
  let end = at + 1;
  for (; end < src.length; end++) {
    const code = src.charCodeAt(end);
    if (code < 128 && table[code] === 1) break;
  }
  return src.slice(at, end);
}

type MutablePiece = { kind: 'text'; text: string; quoted: boolean } | { kind: 'unknown'; source: string; quoted: boolean };

class PieceBuilder {
  readonly pieces: MutablePiece[] = [];
  text(text: string, quoted: boolean): void {
    if (text === '') return;
    const last = this.pieces.at(-1);
    if (last?.kind === 'text' && last.quoted === quoted) last.text += text;
    else this.pieces.push({ kind: 'text', text, quoted });
  }
  unknown(source: string, quoted: boolean): void {
    this.pieces.push({ kind: 'unknown', source, quoted });
  }
}

export class Lexer {
  pos: number;
  #peeked: Token | undefined;
  readonly #pending: Heredoc[] = [];

  constructor(
    readonly src: string,
    readonly reader: NestedReader,
  ) {
    this.pos = 0;
  }

  peek(): Token {
    this.#peeked ??= this.#scan();
    return this.#peeked;
  }

  next(): Token {
    const token = this.peek();
    this.#peeked = undefined;
    return token;
  }

  /** A here-document whose delimiter was just read: its body follows the next newline. */
  addHeredoc(heredoc: Heredoc): void {
    if (this.#peeked) throw new ParseError('internal: here-document registered after a lookahead', this.pos);
    this.#pending.push(heredoc);
  }

  /** `((` right here (bash's `for ((;;))`): reads the arithmetic section and returns true; false when not there. */
  arithmeticSection(): boolean {
    if (this.#peeked) return false;
    this.#skipBlanks();
    if (!this.src.startsWith('((', this.pos)) return false;
    if (!this.#arithmetic(this.pos + 2)) throw new ParseError('unterminated (( ))', this.pos);
    return true;
  }

  #skipBlanks(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t') this.pos++;
      else if (c === '\\' && this.src[this.pos + 1] === '\n') this.pos += 2;
      else return;
    }
  }

  #scan(): Token {
    for (;;) {
      this.#skipBlanks();
      const start = this.pos;
      const c = this.src[start];
      if (c === undefined) {
        if (this.#pending.length > 0) this.#readHeredocs();
        return { kind: 'eof', start, end: start };
      }
      if (c === '#') {
        const end = this.src.indexOf('\n', start);
        this.pos = end < 0 ? this.src.length : end;
        continue;
      }
      if (c === '\n') {
        this.pos++;
        this.#readHeredocs();
        return { kind: 'newline', start, end: start + 1 };
      }
      if ((c === '<' || c === '>') && this.src[start + 1] === '(') return this.#word(start);
      if (!OPERATOR_OR_FD_START.has(c)) return this.#word(start);
      FD_PREFIX.lastIndex = start;
      const fd = FD_PREFIX.exec(this.src)?.[0] ?? null;
      const at = fd === null ? start : start + fd.length;
      const op = OPERATORS.find((candidate) => this.src.startsWith(candidate, at));
      if (op !== undefined && (fd === null || op.startsWith('<') || op.startsWith('>'))) {
        this.pos = at + op.length;
        return { kind: 'op', op, fd, start, end: this.pos };
      }
      return this.#word(start);
    }
  }

  #word(start: number): Token {
    const out = new PieceBuilder();
    const src = this.src;
    for (;;) {
      const c = src[this.pos];
      if (c === undefined) break;
      if ((c === '<' || c === '>') && src[this.pos + 1] === '(' && this.pos === start) {
        this.pos += 2;
        this.reader.parseUntilParen(this, c === '<' ? '<(…)' : '>(…)');
        out.unknown(src.slice(start, this.pos), false);
        continue;
      }
      if (META.has(c)) {
        if (c === '(' && isArrayAssignment(out.pieces)) {
          this.#arrayElements();
          out.unknown(src.slice(start, this.pos), false);
          continue;
        }
        break;
      }
      if (c === '\\') {
        const n = src[this.pos + 1];
        if (n === '\n') this.pos += 2;
        else if (n === undefined) {
          out.text('\\', true);
          this.pos++;
        } else {
          out.text(n, true);
          this.pos += 2;
        }
      } else if (c === "'") {
        const close = src.indexOf("'", this.pos + 1);
        if (close < 0) throw new ParseError("unterminated ' quote", this.pos);
        out.text(src.slice(this.pos + 1, close), true);
        this.pos = close + 1;
      } else if (c === '"') this.#double(out);
      else if (c === '$') this.#dollar(out, false);
      else if (c === '`') this.#backtick(out, false);
      else {
        const text = run(PLAIN, src, this.pos);
        out.text(text, false);
        this.pos += text.length;
      }
    }
    return { kind: 'word', word: { source: src.slice(start, this.pos), pieces: out.pieces }, start, end: this.pos };
  }

  /** bash's `name=(a b c)`: the elements are words (their substitutions run). */
  #arrayElements(): void {
    this.pos++;
    for (;;) {
      this.#skipBlanks();
      const c = this.src[this.pos];
      if (c === undefined) throw new ParseError('unterminated array assignment', this.pos);
      if (c === ')') {
        this.pos++;
        return;
      }
      if (c === '\n') this.pos++;
      else if (c === '#') {
        const end = this.src.indexOf('\n', this.pos);
        this.pos = end < 0 ? this.src.length : end;
      } else if (META.has(c)) throw new ParseError(`unexpected "${c}" in an array assignment`, this.pos);
      else this.#word(this.pos);
    }
  }

  #double(out: PieceBuilder): void {
    const src = this.src;
    const open = this.pos;
    this.pos++;
    for (;;) {
      const c = src[this.pos];
      if (c === undefined) throw new ParseError('unterminated " quote', open);
      if (c === '"') {
        this.pos++;
        // "" is an empty word, not no word.
        if (out.pieces.length === 0) out.pieces.push({ kind: 'text', text: '', quoted: true });
        return;
      }
      if (c === '\\') {
        const n = src[this.pos + 1];
        if (n === '\n') this.pos += 2;
        else if (n === '$' || n === '`' || n === '"' || n === '\\') {
          out.text(n, true);
          this.pos += 2;
        } else {
          out.text('\\', true);
          this.pos++;
        }
      } else if (c === '$') this.#dollar(out, true);
      else if (c === '`') this.#backtick(out, true);
      else {
        const text = run(PLAIN_IN_DOUBLE, src, this.pos);
        out.text(text, true);
        this.pos += text.length;
      }
    }
  }

  #dollar(out: PieceBuilder, quoted: boolean): void {
    const src = this.src;
    const start = this.pos;
    const n = src[start + 1];
    if (n === '(') {
      if (src[start + 2] === '(') {
        const mark = this.reader.mark();
        try {
          if (this.#arithmetic(start + 3)) {
            out.unknown(src.slice(start, this.pos), quoted);
            return;
          }
        } catch (error) {
          if (!(error instanceof ParseError)) throw error;
        }
        // Not arithmetic after all: `$( (...) )` written without the space.
        this.reader.rollback(mark);
      }
      this.pos = start + 2;
      this.reader.parseUntilParen(this, '$(…)');
      out.unknown(src.slice(start, this.pos), quoted);
    } else if (n === '{') {
      this.#braceParameter(start, quoted);
      out.unknown(src.slice(start, this.pos), quoted);
    } else if (n === '[') {
      // $[ ... ]: bash's old arithmetic.
      this.pos = start + 2;
      let depth = 0;
      for (;;) {
        const c = src[this.pos];
        if (c === undefined) throw new ParseError('unterminated $[', start);
        if (c === ']' && depth === 0) break;
        if (c === '[') depth++;
        else if (c === ']') depth--;
        this.#inExpansion(quoted);
      }
      this.pos++;
      out.unknown(src.slice(start, this.pos), quoted);
    } else if (n === "'" && !quoted) {
      this.pos = start + 2;
      out.text(this.#ansiC(), true);
    } else if (n === '"' && !quoted) {
      this.pos = start + 1;
      this.#double(out);
    } else if (n !== undefined && /[A-Za-z_]/.test(n)) {
      this.pos = start + 1;
      while (this.pos < src.length && /[A-Za-z0-9_]/.test(src[this.pos]!)) this.pos++;
      out.unknown(src.slice(start, this.pos), quoted);
    } else if (n !== undefined && /[0-9@*#?$!-]/.test(n)) {
      this.pos = start + 2;
      out.unknown(src.slice(start, this.pos), quoted);
    } else {
      out.text('$', quoted);
      this.pos++;
    }
  }

  /** One step inside an expansion's text: nested quotes and substitutions are read (their commands found). */
  #inExpansion(quoted: boolean): void {
    const c = this.src[this.pos];
    const scratch = new PieceBuilder();
    if (c === '\\') this.pos += 2;
    else if (c === "'" && !quoted) {
      const close = this.src.indexOf("'", this.pos + 1);
      if (close < 0) throw new ParseError("unterminated ' quote", this.pos);
      this.pos = close + 1;
    } else if (c === '"') this.#double(scratch);
    else if (c === '$') this.#dollar(scratch, quoted);
    else if (c === '`') this.#backtick(scratch, quoted);
    else this.pos++;
  }

  /** `${...}` from `start` (the `$`) through its `}`; its words may hold substitutions. */
  #braceParameter(start: number, quoted: boolean): void {
    this.pos = start + 2;
    let depth = 0;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) throw new ParseError('unterminated ${', start);
      if (c === '}') {
        if (depth === 0) {
          this.pos++;
          return;
        }
        depth--;
        this.pos++;
      } else if (c === '{') {
        depth++;
        this.pos++;
      } else this.#inExpansion(quoted);
    }
  }

  /** An arithmetic section from `from` through `))`; false (position undefined) when the text does not close that way. */
  #arithmetic(from: number): boolean {
    this.pos = from;
    let depth = 0;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) return false;
      if (c === '(') {
        depth++;
        this.pos++;
      } else if (c === ')') {
        if (depth === 0) {
          if (this.src[this.pos + 1] !== ')') return false;
          this.pos += 2;
          return true;
        }
        depth--;
        this.pos++;
      } else this.#inExpansion(true);
    }
  }

  #backtick(out: PieceBuilder, quoted: boolean): void {
    const src = this.src;
    const start = this.pos;
    this.pos++;
    let body = '';
    for (;;) {
      const c = src[this.pos];
      if (c === undefined) throw new ParseError('unterminated ` quote', start);
      if (c === '`') {
        this.pos++;
        break;
      }
      if (c === '\\') {
        const n = src[this.pos + 1];
        if (n === '$' || n === '`' || n === '\\' || (quoted && n === '"')) {
          body += n;
          this.pos += 2;
          continue;
        }
        if (n === '\n') {
          this.pos += 2;
          continue;
        }
      }
      const text = run(PLAIN_IN_BACKTICK, src, this.pos);
      body += text;
      this.pos += text.length;
    }
    this.reader.parseText(body, '`…`');
    out.unknown(src.slice(start, this.pos), quoted);
  }

  /** `$'...'` (bash's ANSI-C quoting) from after the opening quote; returns the decoded text. */
  #ansiC(): string {
    const src = this.src;
    const start = this.pos;
    let text = '';
    for (;;) {
      const c = src[this.pos];
      if (c === undefined) throw new ParseError("unterminated $' quote", start);
      this.pos++;
      if (c === "'") return text;
      if (c !== '\\') {
        text += c;
        continue;
      }
      const e = src[this.pos];
      if (e === undefined) throw new ParseError("unterminated $' quote", start);
      this.pos++;
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        a: '\u0007',
        b: '\b',
        e: '\u001b',
        E: '\u001b',
        f: '\f',
        v: '\v',
        '\\': '\\',
        "'": "'",
        '"': '"',
        '?': '?',
      };
      if (e in simple) text += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const max = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const digits = /^[0-9a-fA-F]+/.exec(src.slice(this.pos, this.pos + max))?.[0] ?? '';
        if (digits === '') text += `\\${e}`;
        else {
          this.pos += digits.length;
          const code = Number.parseInt(digits, 16);
          text += code <= 0x10ffff ? String.fromCodePoint(code) : '';
        }
      } else if (/[0-7]/.test(e)) {
        const digits = e + (/^[0-7]{0,2}/.exec(src.slice(this.pos, this.pos + 2))?.[0] ?? '');
        this.pos += digits.length - 1;
        text += String.fromCharCode(Number.parseInt(digits, 8) & 0xff);
      } else if (e === 'c' && src[this.pos] !== undefined) {
        text += String.fromCharCode(src.charCodeAt(this.pos) & 0x1f);
        this.pos++;
      } else text += `\\${e}`;
    }
  }

  /** Bodies of the here-documents whose redirections were on the line that just ended. */
  #readHeredocs(): void {
    const src = this.src;
    for (const heredoc of this.#pending.splice(0)) {
      let raw = '';
      for (;;) {
        if (this.pos >= src.length) break;
        const newline = src.indexOf('\n', this.pos);
        const lineEnd = newline < 0 ? src.length : newline;
        const line = src.slice(this.pos, lineEnd);
        this.pos = newline < 0 ? src.length : newline + 1;
        const stripped = heredoc.strip ? line.replace(/^\t+/, '') : line;
        if (stripped === heredoc.delimiter) break;
        raw += `${stripped}\n`;
      }
      heredoc.raw = raw;
      heredoc.text = heredoc.expand ? new Lexer(raw, this.reader).#expandedBody() : raw;
    }
  }

  /** An unquoted here-document body: `$` and backticks expand (their commands run), `\` escapes only $ ` \ and newline. */
  #expandedBody(): string | null {
    const out = new PieceBuilder();
    const src = this.src;
    while (this.pos < src.length) {
      const c = src[this.pos]!;
      if (c === '\\' && /[$`\\\n]/.test(src[this.pos + 1] ?? '')) {
        if (src[this.pos + 1] !== '\n') out.text(src[this.pos + 1]!, true);
        this.pos += 2;
      } else if (c === '$') this.#dollar(out, true);
      else if (c === '`') this.#backtick(out, true);
      else {
        const text = run(PLAIN_IN_HEREDOC, src, this.pos);
        out.text(text, true);
        this.pos += text.length;
      }
    }
    let text = '';
    for (const piece of out.pieces) {
      if (piece.kind === 'unknown') return null;
      text += piece.text;
    }
    return text;
  }
}

function isArrayAssignment(pieces: readonly Piece[]): boolean {
  return pieces.length === 1 && pieces[0]!.kind === 'text' && !pieces[0]!.quoted && /^[A-Za-z_][A-Za-z0-9_]*\+?=$/.test(pieces[0]!.text);
}
