/**
 * The shell grammar (POSIX sh, plus bash's `[[ ]]`, `function`, `select`, `coproc`,
 * `for ((;;))`), reduced to what matters for policy: every simple command the text
 * contains, wherever it sits (lists, pipelines, subshells, groups, bodies of if, while,
 * for, case and functions, and substitutions inside any word). Functions' bodies are
 * counted whether or not they are called. Pure: no I/O.
 */
import { type Heredoc, Lexer, type NestedReader, ParseError, type Token } from './lexer.js';
import { assignmentName, plainText, type Word } from './words.js';

export { ParseError } from './lexer.js';

export interface Redirect {
  readonly op: string;
  /** The descriptor written before the operator (`2>`); null for the default one. */
  readonly fd: string | null;
  readonly target: Word;
  /** `<<` and `<<-`: the body, once its line has ended. */
  readonly heredoc: Heredoc | null;
}

/** One simple command as written: assignments, words (program first), redirections. */
export interface RawCommand {
  readonly assignments: readonly Word[];
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
  /** Its text in the string it was found in. */
  readonly text: string;
  /** Where it was found, outermost first (`$(…)`, `function f`, ...). */
  readonly via: readonly string[];
}

export interface ParsedShell {
  commands: RawCommand[];
  /** Why the text could not be read to its end; the commands before that point are still listed. */
  error: ParseError | null;
}

/** Substitutions nested deeper than this are refused (a bound on recursion). */
export const MAX_NESTING = 32;

const REDIRECTIONS = new Set(['<', '>', '>>', '<>', '<&', '>&', '>|', '<<', '<<-', '<<<', '&>', '&>>']);
/** Words that end a list when they stand where a command would. */
const LIST_END = new Set(['then', 'else', 'elif', 'fi', 'do', 'done', 'esac', '}']);
const RESERVED = new Set([
  ...LIST_END,
  'if',
  'case',
  'while',
  'until',
  'for',
  'select',
  'function',
  '{',
  '!',
  '[[',
  ']]',
  'coproc',
  'in',
  'time',
]);
const COMPOUND_START = new Set(['{', 'if', 'while', 'until', 'for', 'select', 'case', '[[', '!']);

/** Every simple command in `text` (a script). */
export function parseShell(text: string, via: readonly string[] = []): ParsedShell {
  const reader = new Reader(via);
  try {
    new Grammar(new Lexer(text, reader), reader).script();
    return { commands: reader.commands, error: null };
  } catch (error) {
    if (error instanceof ParseError) return { commands: reader.commands, error };
    if (error instanceof RangeError) return { commands: reader.commands, error: new ParseError('nested too deeply to read', 0) };
    throw error;
  }
}

class Reader implements NestedReader {
  readonly commands: RawCommand[] = [];
  readonly via: string[];

  constructor(via: readonly string[]) {
    this.via = [...via];
  }

  within<T>(what: string, run: () => T): T {
    if (this.via.length >= MAX_NESTING) throw new ParseError(`more than ${MAX_NESTING} nested levels`, 0);
    this.via.push(what);
    try {
      return run();
    } finally {
      this.via.pop();
    }
  }

  parseUntilParen(lexer: Lexer, what: string): void {
    this.within(what, () => new Grammar(lexer, this).untilParen());
  }

  parseText(text: string, what: string): void {
    this.within(what, () => new Grammar(new Lexer(text, this), this).script());
  }

  mark(): number {
    return this.commands.length;
  }

  rollback(mark: number): void {
    this.commands.length = mark;
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'the end of the command';
    case 'newline':
      return 'a newline';
    case 'op':
      return `"${token.op}"`;
    case 'word':
      return `"${token.word.source}"`;
  }
}

class Grammar {
  constructor(
    readonly lexer: Lexer,
    readonly reader: Reader,
  ) {}

  script(): void {
    this.list();
    const token = this.lexer.peek();
    if (token.kind !== 'eof') throw this.unexpected(token);
  }

  untilParen(): void {
    this.list();
    this.expectOp(')');
  }

  unexpected(token: Token, wanted?: string): ParseError {
    return new ParseError(`unexpected ${describe(token)}${wanted ? ` (expected ${wanted})` : ''}`, token.start);
  }

  expectOp(op: string): void {
    const token = this.lexer.next();
    if (token.kind !== 'op' || token.op !== op) throw this.unexpected(token, `"${op}"`);
  }

  expectWord(word: string): void {
    this.skipNewlines();
    const token = this.lexer.next();
    if (token.kind !== 'word' || plainText(token.word) !== word) throw this.unexpected(token, `"${word}"`);
  }

  skipNewlines(): void {
    while (this.lexer.peek().kind === 'newline') this.lexer.next();
  }

  peekWord(): string | null {
    const token = this.lexer.peek();
    return token.kind === 'word' ? plainText(token.word) : null;
  }

  endsList(token: Token): boolean {
    if (token.kind === 'eof') return true;
    if (token.kind === 'op') return token.op === ')' || token.op === ';;' || token.op === ';&' || token.op === ';;&';
    if (token.kind === 'word') {
      const word = plainText(token.word);
      return word !== null && LIST_END.has(word);
    }
    return false;
  }

  list(): void {
    for (;;) {
      this.skipNewlines();
      if (this.endsList(this.lexer.peek())) return;
      this.andOr();
      const separator = this.lexer.peek();
      if (separator.kind === 'op' && (separator.op === ';' || separator.op === '&')) this.lexer.next();
      else if (separator.kind !== 'newline') return;
    }
  }

  andOr(): void {
    this.pipeline();
    for (;;) {
      const token = this.lexer.peek();
      if (token.kind !== 'op' || (token.op !== '&&' && token.op !== '||')) return;
      this.lexer.next();
      this.skipNewlines();
      this.pipeline();
    }
  }

  pipeline(): void {
    if (this.peekWord() === '!') this.lexer.next();
    this.command();
    for (;;) {
      const token = this.lexer.peek();
      if (token.kind !== 'op' || (token.op !== '|' && token.op !== '|&')) return;
      this.lexer.next();
      this.skipNewlines();
      this.command();
    }
  }

  command(): void {
    const token = this.lexer.peek();
    if (token.kind === 'op' && token.op === '(') {
      this.lexer.next();
      this.reader.within('(…)', () => this.untilParen());
      this.redirects();
      return;
    }
    const word = this.peekWord();
    switch (word) {
      case '{':
        this.lexer.next();
        this.list();
        this.expectWord('}');
        break;
      case 'if':
        this.lexer.next();
        this.list();
        this.expectWord('then');
        this.list();
        for (;;) {
          const next = this.peekWord();
          if (next === 'elif') {
            this.lexer.next();
            this.list();
            this.expectWord('then');
            this.list();
          } else if (next === 'else') {
            this.lexer.next();
            this.list();
          } else break;
        }
        this.expectWord('fi');
        break;
      case 'while':
      case 'until':
        this.lexer.next();
        this.list();
        this.doGroup();
        break;
      case 'for':
      case 'select':
        this.lexer.next();
        this.forClause();
        break;
      case 'case':
        this.lexer.next();
        this.caseClause();
        break;
      case 'function':
        this.lexer.next();
        this.functionKeyword();
        return;
      case '[[':
        this.lexer.next();
        this.conditional();
        break;
      case 'coproc':
        this.lexer.next();
        this.coproc();
        return;
      case '!':
        // `! cmd` inside a pipeline (`a | ! b`) is not valid sh.
        throw this.unexpected(token);
      case 'time':
        this.time();
        return;
      default:
        if (word !== null && LIST_END.has(word)) throw this.unexpected(token);
        this.simple([]);
        return;
    }
    this.redirects();
  }

  /** bash's `time` keyword before a compound command; before a simple one it is a program (GNU time, or the keyword: both run the rest). */
  time(): void {
    const timeToken = this.lexer.next() as Extract<Token, { kind: 'word' }>;
    const next = this.lexer.peek();
    const nextWord = this.peekWord();
    if ((next.kind === 'op' && next.op === '(') || (nextWord !== null && COMPOUND_START.has(nextWord))) {
      if (nextWord === '!') this.lexer.next();
      this.command();
      return;
    }
    this.simple([timeToken]);
  }

  doGroup(): void {
    this.expectWord('do');
    this.list();
    this.expectWord('done');
  }

  forClause(): void {
    if (this.lexer.arithmeticSection()) {
      const token = this.lexer.peek();
      if (token.kind === 'op' && token.op === ';') this.lexer.next();
      this.skipNewlines();
      if (this.peekWord() === '{') this.command();
      else this.doGroup();
      return;
    }
    const name = this.lexer.next();
    if (name.kind !== 'word') throw this.unexpected(name, 'a variable name');
    this.skipNewlines();
    if (this.peekWord() === 'in') {
      this.lexer.next();
      for (;;) {
        const token = this.lexer.next();
        if (token.kind === 'word') continue;
        if ((token.kind === 'op' && token.op === ';') || token.kind === 'newline') break;
        throw this.unexpected(token, '";" or a newline');
      }
    } else {
      const token = this.lexer.peek();
      if (token.kind === 'op' && token.op === ';') this.lexer.next();
    }
    this.skipNewlines();
    if (this.peekWord() === '{') this.command();
    else this.doGroup();
  }

  caseClause(): void {
    const subject = this.lexer.next();
    if (subject.kind !== 'word') throw this.unexpected(subject, 'a word');
    this.expectWord('in');
    for (;;) {
      this.skipNewlines();
      if (this.peekWord() === 'esac') {
        this.lexer.next();
        return;
      }
      const open = this.lexer.peek();
      if (open.kind === 'op' && open.op === '(') this.lexer.next();
      for (;;) {
        const pattern = this.lexer.next();
        if (pattern.kind !== 'word') throw this.unexpected(pattern, 'a case pattern');
        const after = this.lexer.next();
        if (after.kind === 'op' && after.op === '|') continue;
        if (after.kind === 'op' && after.op === ')') break;
        throw this.unexpected(after, '")"');
      }
      this.list();
      const end = this.lexer.peek();
      if (end.kind === 'op' && (end.op === ';;' || end.op === ';&' || end.op === ';;&')) this.lexer.next();
      else if (this.peekWord() !== 'esac') throw this.unexpected(end, '";;" or "esac"');
    }
  }

  /** `function name [()] body`. */
  functionKeyword(): void {
    const name = this.lexer.next();
    if (name.kind !== 'word') throw this.unexpected(name, 'a function name');
    const open = this.lexer.peek();
    if (open.kind === 'op' && open.op === '(') {
      this.lexer.next();
      this.expectOp(')');
    }
    this.functionBody(name.word);
  }

  functionBody(name: Word): void {
    this.skipNewlines();
    this.reader.within(`function ${name.source}`, () => this.command());
  }

  /** `[[ ... ]]`: its words are operands, not commands (their substitutions were found by the lexer). */
  conditional(): void {
    for (;;) {
      const token = this.lexer.next();
      if (token.kind === 'eof') throw this.unexpected(token, '"]]"');
      if (token.kind === 'word' && plainText(token.word) === ']]') return;
    }
  }

  coproc(): void {
    const token = this.lexer.peek();
    const word = this.peekWord();
    if ((token.kind === 'op' && token.op === '(') || (word !== null && COMPOUND_START.has(word))) {
      this.command();
      return;
    }
    if (token.kind !== 'word') throw this.unexpected(token, 'a command');
    const first = this.lexer.next() as Extract<Token, { kind: 'word' }>;
    const after = this.lexer.peek();
    const afterWord = this.peekWord();
    // `coproc NAME { ...; }`: the name is the coprocess's, the compound command runs.
    if (
      word !== null &&
      !RESERVED.has(word) &&
      ((after.kind === 'op' && after.op === '(') || (afterWord !== null && COMPOUND_START.has(afterWord)))
    ) {
      this.command();
      return;
    }
    this.simple([first]);
  }

  redirects(): Redirect[] {
    const found: Redirect[] = [];
    for (;;) {
      const token = this.lexer.peek();
      if (token.kind !== 'op' || !REDIRECTIONS.has(token.op)) return found;
      this.lexer.next();
      found.push(this.redirectTarget(token));
    }
  }

  redirectTarget(op: Extract<Token, { kind: 'op' }>): Redirect {
    const target = this.lexer.next();
    if (target.kind !== 'word') throw this.unexpected(target, `a word after "${op.op}"`);
    let heredoc: Heredoc | null = null;
    if (op.op === '<<' || op.op === '<<-') {
      const quoted = /['"\\]/.test(target.word.source);
      const delimiter = target.word.pieces.map((piece) => (piece.kind === 'text' ? piece.text : piece.source)).join('');
      heredoc = { delimiter, strip: op.op === '<<-', expand: !quoted, text: null, raw: null };
      this.lexer.addHeredoc(heredoc);
    }
    return { op: op.op, fd: op.fd, target: target.word, heredoc };
  }

  simple(initial: Extract<Token, { kind: 'word' }>[]): void {
    const assignments: Word[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    let start = initial[0]?.start ?? this.lexer.peek().start;
    let end = initial.at(-1)?.end ?? start;
    for (const token of initial) words.push(token.word);
    for (;;) {
      const token = this.lexer.peek();
      if (token.kind === 'word') {
        this.lexer.next();
        if (words.length === 0 && assignments.length === 0 && redirects.length === 0) start = token.start;
        end = token.end;
        if (words.length === 0 && assignmentName(token.word) !== null) assignments.push(token.word);
        else words.push(token.word);
        const next = this.lexer.peek();
        if (words.length === 1 && assignments.length === 0 && redirects.length === 0 && next.kind === 'op' && next.op === '(') {
          // `name () body`: a function definition.
          this.lexer.next();
          this.expectOp(')');
          this.functionBody(token.word);
          this.redirects();
          return;
        }
      } else if (token.kind === 'op' && REDIRECTIONS.has(token.op)) {
        if (words.length === 0 && assignments.length === 0 && redirects.length === 0) start = token.start;
        this.lexer.next();
        const redirect = this.redirectTarget(token);
        redirects.push(redirect);
        end = Math.max(end, this.lexer.pos);
      } else break;
    }
    if (words.length === 0 && assignments.length === 0 && redirects.length === 0) throw this.unexpected(this.lexer.peek());
    this.reader.commands.push({
      assignments,
      words,
      redirects,
      text: this.lexer.src.slice(start, end).trim(),
      via: [...this.reader.via],
    });
  }
}
