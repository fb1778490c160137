/**
 * Whether a command (a program and its words, as analyse.ts found them) is one a rule
 * describes. The two lists need opposite certainties, so they match differently:
 *
 * - A **blocked** rule matches when the command *may* be what it describes. The program
 *   matches; every flag of the rule is among the command's flags, in any order and
 *   spelling (`-rf` = `-fr` = `-r -f` = `--recursive --force`, for the programs whose
 *   spellings are listed below); and the rule's other arguments match some of the
 *   command's other arguments, in order, others allowed in between. A word known only at
 *   run time may be anything, so it may complete the match.
 * - An **allowed** rule matches only when the command is *surely* what it allows: the
 *   program matches, and the arguments match the rule's one for one, in order (a final
 *   `**` allows any further arguments; a rule of just a program allows any arguments). A
 *   word known only at run time never proves a match, except under the final `**`.
 *
 * Arguments of a rule that start with "/" or "~" are paths: the command's word is then
 * compared as a path (`~` expanded, made absolute against the working directory, `.`,
 * `..` and repeated slashes resolved), so `rm -rf /tmp/..` is `rm -rf /`. Same for the
 * value of a `key=/path` argument (`dd of=//dev/sda`).
 */
import { posix } from 'node:path';
import type { AnalysedCommand } from './analyse.js';
import { type GlobToken, globCovers, globMatches, globsIntersect, globTokens, isWild, literalTokens } from './glob.js';
import type { CommandRule, RuleArgument } from './rules.js';
import { hasUnknown, knownValue, splits, type Word } from './words.js';

export interface MatchContext {
  /** What `~` means. */
  readonly home: string;
  /** Where relative paths are, for path arguments. */
  readonly cwd: string;
}

/**
 * Other spellings of the same flag, per program (GNU long options and their unique
 * prefixes, `-R` for `-r`). Flags are compared by their canonical letter.
 */
const FLAG_SPELLINGS: Record<string, Record<string, string>> = {
  rm: { R: 'r', recursive: 'r', force: 'f', dir: 'd', interactive: 'i', verbose: 'v' },
  cp: { R: 'r', recursive: 'r', force: 'f' },
  chmod: { recursive: 'R' },
  chown: { recursive: 'R' },
  chgrp: { recursive: 'R' },
};

/** A flag word as canonical flags: `-rf` → `-r`, `-f`; `--recursive` → `-r` for rm; `--other=x` → `--other`. */
export function canonicalFlags(word: string, program: string): string[] {
  const spellings = FLAG_SPELLINGS[program] ?? {};
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0]!;
    const longs = Object.keys(spellings).filter((key) => key.length > 1);
    const known = longs.includes(name) ? name : longs.filter((key) => key.startsWith(name));
    const resolved = typeof known === 'string' ? known : known.length === 1 ? known[0]! : undefined;
    const letter = resolved === undefined ? undefined : spellings[resolved];
    return [letter === undefined ? `--${name}` : `-${letter}`];
  }
  return Array.from(word.slice(1), (letter) => `-${spellings[letter] ?? letter}`);
}

function tildeTokens(tokens: readonly GlobToken[], home: string): GlobToken[] {
  const [first, second] = tokens;
  if (first?.t === 'char' && first.c === '~' && (second === undefined || (second.t === 'char' && second.c === '/'))) {
    return [...literalTokens(home), ...tokens.slice(1)];
  }
  return [...tokens];
}

/** A command word as glob tokens: its wildcards are the shell's (never "/"), an unknown value is anything. */
function wordTokens(word: Word, home: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  word.pieces.forEach((piece, index) => {
    if (piece.kind === 'unknown') {
      tokens.push({ t: 'any' });
      return;
    }
    let text = piece.text;
    if (index === 0 && !piece.quoted && text.startsWith('~')) {
      const slash = text.indexOf('/');
      const user = text.slice(1, slash < 0 ? undefined : slash);
      if (user === '') tokens.push(...literalTokens(home));
      // ~user is another user's home: some directory.
      else tokens.push({ t: 'any' });
      text = slash < 0 ? '' : text.slice(slash);
    }
    tokens.push(...globTokens([{ text, quoted: piece.quoted }], false));
  });
  return tokens;
}

const isSlash = (token: GlobToken | undefined) => token?.t === 'char' && token.c === '/';
const isText = (segment: readonly GlobToken[], text: string) =>
  segment.length === text.length && segment.every((token, i) => token.t === 'char' && token.c === text[i]);

/** `.`, `..` and repeated slashes resolved where the segments are literal; a `..` after an unknown segment makes the path unknown. */
function normalizePath(tokens: readonly GlobToken[]): GlobToken[] {
  const absolute = isSlash(tokens[0]);
  const segments: GlobToken[][] = [[]];
  for (const token of tokens) {
    if (isSlash(token)) segments.push([]);
    else segments.at(-1)!.push(token);
  }
  const out: GlobToken[][] = [];
  for (const segment of segments) {
    if (segment.length === 0 || isText(segment, '.')) continue;
    if (isText(segment, '..')) {
      const last = out.at(-1);
      if (last && isWild(last)) return [{ t: 'any' }];
      if (last && !isText(last, '..')) out.pop();
      else if (!absolute) out.push(segment);
      continue;
    }
    out.push(segment);
  }
  const joined: GlobToken[] = absolute ? [{ t: 'char', c: '/' }] : [];
  out.forEach((segment, i) => {
    if (i > 0) joined.push({ t: 'char', c: '/' });
    joined.push(...segment);
  });
  return joined.length === 0 ? literalTokens('.') : joined;
}

/** A word compared with a path argument: absolute (against `cwd`) and normalized. */
function asPath(tokens: readonly GlobToken[], cwd: string): GlobToken[] {
  if (tokens[0]?.t === 'any') return [...tokens];
  const absolute = isSlash(tokens[0]) ? tokens : [...literalTokens(`${cwd.replace(/\/+$/, '')}/`), ...tokens];
  return normalizePath(absolute);
}

interface PreparedArgument {
  tokens: GlobToken[];
  /** How to bring a command word into the rule's form. */
  form: 'path' | 'key-path' | 'plain';
}

function prepare(argument: RuleArgument, home: string): PreparedArgument {
  const tokens = tildeTokens(argument.tokens, home);
  if (isSlash(tokens[0])) return { tokens: normalizePath(tokens), form: 'path' };
  const eq = tokens.findIndex((token) => token.t === 'char' && token.c === '=');
  if (eq > 0 && isSlash(tokens[eq + 1]))
    return { tokens: [...tokens.slice(0, eq + 1), ...normalizePath(tokens.slice(eq + 1))], form: 'key-path' };
  return { tokens, form: 'plain' };
}

function shaped(rule: PreparedArgument, word: readonly GlobToken[], cwd: string): GlobToken[] {
  if (rule.form === 'path') return asPath(word, cwd);
  if (rule.form === 'key-path') {
    const eq = word.findIndex((token) => token.t === 'char' && token.c === '=');
    if (eq > 0 && isSlash(word[eq + 1])) return [...word.slice(0, eq + 1), ...normalizePath(word.slice(eq + 1))];
  }
  return [...word];
}

function programMatches(rule: CommandRule, program: string, context: MatchContext, whenUndecided: boolean): boolean {
  if (!rule.byPath) return globMatches(rule.program, posix.basename(program)) ?? whenUndecided;
  // A bare name is found through PATH: which file that is cannot be known here.
  if (!program.includes('/')) return false;
  const expanded = program === '~' || program.startsWith('~/') ? context.home + program.slice(1) : program;
  const path = posix.resolve(context.cwd, expanded);
  const pattern = normalizePath(tildeTokens(rule.program, context.home));
  return globMatches(pattern, path) ?? whenUndecided;
}

export interface BlockedMatch {
  /** The match needed a word known only at run time (the command may, not must, be the rule's). */
  readonly unsure: boolean;
}

type Operand = GlobToken[] | 'unknown';

/** Whether `command` may be what blocked `rule` describes; null when it cannot be. */
export function blockedMatch(rule: CommandRule, command: AnalysedCommand, context: MatchContext): BlockedMatch | null {
  if (!programMatches(rule, command.program, context, true)) return null;
  if (rule.args.every((arg) => arg.rest)) return { unsure: false };
  const program = posix.basename(command.program);
  let wild = command.moreArgs;
  const present = new Set<string>();
  const flagWords: string[] = [];
  const operands: Operand[] = [];
  /** Operands known only at run time that stand where a flag may: one of them may be the missing flags. */
  const flagCandidates: number[] = [];
  let afterDashes = false;
  for (const word of command.argv.slice(1)) {
    if (splits(word)) {
      wild = true;
      continue;
    }
    const value = knownValue(word);
    if (value === '--' && !afterDashes) {
      afterDashes = true;
      continue;
    }
    if (value !== null && !afterDashes && value.startsWith('-') && value.length > 1) {
      flagWords.push(value);
      for (const flag of canonicalFlags(value, program)) present.add(flag);
      continue;
    }
    if (value === null && !afterDashes) flagCandidates.push(operands.length);
    operands.push(value === null ? 'unknown' : wordTokens(word, context.home));
  }
  if (wild) return { unsure: true };

  const missing: RuleArgument[] = [];
  for (const flag of rule.args.filter((arg) => arg.flag)) {
    if (isWild(flag.tokens)) {
      if (!flagWords.some((word) => globMatches(flag.tokens, word) ?? true)) missing.push(flag);
    } else if (!canonicalFlags(flag.text, program).every((canonical) => present.has(canonical))) missing.push(flag);
  }
  const wanted = rule.args.filter((arg) => !arg.flag && !arg.rest).map((arg) => prepare(arg, context.home));
  if (missing.length === 0) {
    if (inOrder(wanted, operands, context.cwd, false)) return { unsure: false };
    return inOrder(wanted, operands, context.cwd, true) ? { unsure: true } : null;
  }
  // One word known only at run time may be the missing flags (`rm "$opts" /`).
  for (const candidate of flagCandidates) {
    if (inOrder(wanted, operands.toSpliced(candidate, 1), context.cwd, true)) return { unsure: true };
  }
  return null;
}

/** Whether each wanted argument matches a distinct operand, in order (greedy earliest is enough for a subsequence). */
function inOrder(wanted: readonly PreparedArgument[], operands: readonly Operand[], cwd: string, unknownMatches: boolean): boolean {
  let j = 0;
  for (const rule of wanted) {
    for (;;) {
      const operand = operands[j++];
      if (operand === undefined) return false;
      if (operand === 'unknown') {
        if (unknownMatches) break;
        continue;
      }
      if (globsIntersect(rule.tokens, shaped(rule, operand, cwd)) ?? true) break;
    }
  }
  return true;
}

/** Whether allowed `rule` surely allows `command`. */
export function allowedMatch(rule: CommandRule, command: AnalysedCommand, context: MatchContext): boolean {
  if (!programMatches(rule, command.program, context, false)) return false;
  if (rule.args.length === 0) return true;
  const args = command.argv.slice(1);
  const rest = rule.args.at(-1)!.rest;
  const fixed = rest ? rule.args.slice(0, -1) : rule.args;
  if (args.length < fixed.length) return false;
  if (!rest && (args.length > fixed.length || command.moreArgs)) return false;
  return fixed.every((argument, i) => {
    const word = args[i]!;
    if (hasUnknown(word)) return false;
    const prepared = prepare(argument, context.home);
    return globCovers(prepared.tokens, shaped(prepared, wordTokens(word, context.home), context.cwd)) === true;
  });
}
