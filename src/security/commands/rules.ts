/**
 * Command rules (the entries of `allowed_commands` and `blocked_commands`): a program
 * and argument patterns, written as shell words, so quotes work as in a command
 * (`grep 'a b'`, `echo '*'` for a literal star).
 *
 *   rule     = program { argument } ;
 *   program  = name-glob            -- matched against the program's basename (`rm`, `mkfs.*`)
 *            | path-glob            -- contains "/": matched against the program's full path
 *   argument = glob | "**"           -- `*` and `?` never match "/", `**` matches anything
 *
 * A rule with shell operators, redirections, assignments or expansions is invalid.
 */
import { type GlobToken, globTokens } from './glob.js';
import { parseShell } from './parser.js';
import { hasUnknown, knownValue, textPieces, type Word } from './words.js';

export interface RuleArgument {
  readonly text: string;
  readonly tokens: readonly GlobToken[];
  /** Written as an option (`-rf`, `--force`): compared as flags by blocked rules. */
  readonly flag: boolean;
  /** The word `**` on its own. */
  readonly rest: boolean;
}

export interface CommandRule {
  readonly source: string;
  /** The program pattern holds a "/": it is compared with the program's path, not its name. */
  readonly byPath: boolean;
  readonly program: readonly GlobToken[];
  readonly programText: string;
  readonly args: readonly RuleArgument[];
}

export type ParsedRule = { ok: true; rule: CommandRule } | { ok: false; error: string };

/** A rule, or why it is not one. */
export function parseRule(source: string): ParsedRule {
  const parsed = parseShell(source);
  if (parsed.error) return { ok: false, error: `cannot be read as shell words: ${parsed.error.message}` };
  const [command, ...more] = parsed.commands;
  if (!command || more.length > 0) return { ok: false, error: 'must be one program with its arguments (no ;, |, && or substitutions)' };
  if (command.assignments.length > 0 || command.redirects.length > 0)
    return { ok: false, error: 'may not hold assignments or redirections' };
  if (command.text !== source.trim()) return { ok: false, error: 'must be one program with its arguments (no ;, | or &)' };
  const [programWord, ...argWords] = command.words;
  if (!programWord) return { ok: false, error: 'names no program' };
  if (command.words.some(hasUnknown)) return { ok: false, error: 'may not hold $ expansions or substitutions' };
  const args = argWords.map(argument);
  const rest = args.findIndex((arg) => arg.rest);
  if (rest >= 0 && rest !== args.length - 1) return { ok: false, error: '"**" as an argument must be the last one' };
  const programText = knownValue(programWord)!;
  return {
    ok: true,
    rule: {
      source,
      byPath: programText.includes('/'),
      program: globTokens(textPieces(programWord), true),
      programText,
      args,
    },
  };
}

function argument(word: Word): RuleArgument {
  const text = knownValue(word)!;
  const first = word.pieces[0];
  const unquoted = first?.kind === 'text' && !first.quoted;
  return {
    text,
    tokens: globTokens(textPieces(word), true),
    flag: unquoted && text.startsWith('-') && text.length > 1 && text !== '--',
    rest: word.pieces.length === 1 && unquoted && text === '**',
  };
}

/** For the permissions schema: why a pattern is not a valid rule, or null when it is. */
export function commandRuleProblem(source: string): string | null {
  const parsed = parseRule(source);
  return parsed.ok ? null : parsed.error;
}

const compiled = new WeakMap<readonly string[], readonly (CommandRule | null)[]>();

/** The rules of a list, parsed once per list (permissions are frozen, so a list never changes); null for an invalid one. */
export function compileRules(list: readonly string[]): readonly (CommandRule | null)[] {
  let rules = compiled.get(list);
  if (!rules) {
    rules = list.map((source) => {
      const parsed = parseRule(source);
      return parsed.ok ? parsed.rule : null;
    });
    compiled.set(list, rules);
  }
  return rules;
}

/**
 * An invalid blocked rule still blocks: its first word as a program (deny by default).
 * `rm -rf $(x)` blocks rm outright rather than nothing.
 */
export function fallbackBlockRule(source: string): CommandRule {
  const program = source.trim().split(/\s+/)[0] ?? source;
  return {
    source,
    byPath: program.includes('/'),
    program: globTokens([{ text: program, quoted: true }], false),
    programText: program,
    args: [],
  };
}
