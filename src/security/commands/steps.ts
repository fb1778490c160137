/** The vocabulary of wrappers.ts and shells.ts: what a program's arguments make run next. */
import type { Redirect } from './parser.js';
import { knownValue, type Word } from './words.js';

/** What a program's arguments make run next. */
export type Step =
  /** These words run as a command (a wrapper's command). `moreArgs`: arguments the wrapper appends at run time (xargs). */
  | { readonly run: readonly Word[]; readonly via: string; readonly moreArgs?: boolean }
  /** This text runs as a shell script. */
  | { readonly script: string; readonly via: string }
  /** Something runs that cannot be known: `program` when even the program is unknown, `other` when only its details are. */
  | { readonly problem: 'program' | 'other'; readonly reason: string };

export interface WrapperContext {
  /** The redirections of the command (a shell may read its script from a here-document). */
  readonly redirects: readonly Redirect[];
  /** SPAWN's script: a shell running exactly that file is the launch itself, not an unknown script. */
  readonly launchScript?: string | undefined;
}

export type Handler = (args: readonly Word[], context: WrapperContext, name: string) => Step[];
export const problem = (kind: 'program' | 'other', reason: string): Step => ({ problem: kind, reason });

export const SHELL_ON_STDIN = (what: string): Step[] => [
  problem('program', `${what} starts a shell that reads its commands from its standard input`),
];

/** The text of `word` run as a script, or unanalysable when it is known only at run time. */
export function scriptOf(word: Word | null, via: string): Step {
  const text = word === null ? null : knownValue(word);
  if (text === null) return problem('program', `the script given to ${via} is known only when it runs`);
  return { script: text, via };
}
