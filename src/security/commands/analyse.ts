/**
 * From a command line to the programs it runs: every simple command the shell text
 * holds (parser.ts), then, for programs that run other programs, what they run
 * (wrappers.ts), recursively: `sh -c` strings are parsed again, a wrapper's command is
 * judged as a command of its own. What cannot be known statically is reported as
 * unanalysable, never guessed. Pure: no I/O.
 */
import { posix } from 'node:path';
import { environmentHazard } from './environment.js';
import { parseShell, type RawCommand, type Redirect } from './parser.js';
import { assignmentName, expandBraces, holdsCode, literalWord, MAX_BRACE_WORDS, STORED_CODE, staticValue, type Word } from './words.js';
import { stepsOf } from './wrappers.js';

/** A program the command runs, with its arguments. */
export interface AnalysedCommand {
  /** Program first, after brace expansion; the words keep what is unknown until run time. */
  readonly argv: readonly Word[];
  /** argv[0]'s value, known statically (a command whose program is not known is unanalysable instead). */
  readonly program: string;
  /** The simple command it came from, as written. */
  readonly text: string;
  /** How it was reached, outermost first: `$(…)`, `sh -c`, `env`, `find -exec`... */
  readonly via: readonly string[];
  /** A wrapper (xargs) appends arguments read at run time. */
  readonly moreArgs: boolean;
}

export interface Unanalysable {
  /** `program`: a program runs that cannot be known; `other`: a program is known but not all it will run. */
  readonly kind: 'program' | 'other';
  readonly text: string;
  readonly via: readonly string[];
  readonly reason: string;
}

export interface CommandAnalysis {
  readonly commands: readonly AnalysedCommand[];
  readonly unanalysable: readonly Unanalysable[];
}

/** Scripts inside scripts (`sh -c "sh -c ..."`) and wrappers around wrappers, deeper than this, are unanalysable. */
export const MAX_DEPTH = 16;
/** A bound on the work for one command line; past it the rest is unanalysable. */
export const MAX_COMMANDS = 4096;

interface Place {
  readonly text: string;
  readonly via: readonly string[];
  readonly redirects: readonly Redirect[];
  readonly launchScript?: string | undefined;
}

/** The programs a shell command line runs (as `/bin/sh -c` would run it). */
export function analyseCommandLine(commandLine: string): CommandAnalysis {
  const analyser = new Analyser();
  analyser.script(commandLine, [], 0);
  return analyser.result();
}

/**
 * The programs an argv runs when started directly (no shell): SPAWN's launch.
 * `launchScript`: the script SPAWN launches; a shell running it is the launch itself.
 */
export function analyseArgv(argv: readonly string[], launchScript?: string): CommandAnalysis {
  const analyser = new Analyser();
  if (argv.length > 0) analyser.run(argv.map(literalWord), { text: argv.join(' '), via: [], redirects: [], launchScript }, 0, false);
  return analyser.result();
}

class Analyser {
  readonly #commands: AnalysedCommand[] = [];
  readonly #unanalysable: Unanalysable[] = [];
  #work = 0;

  result(): CommandAnalysis {
    return { commands: this.#commands, unanalysable: this.#unanalysable };
  }

  #problem(kind: Unanalysable['kind'], place: Pick<Place, 'text' | 'via'>, reason: string): void {
    if (this.#unanalysable.length < MAX_COMMANDS) this.#unanalysable.push({ kind, text: place.text, via: place.via, reason });
  }

  #spend(place: Pick<Place, 'text' | 'via'>): boolean {
    if (++this.#work <= MAX_COMMANDS) return true;
    if (this.#work === MAX_COMMANDS + 1) this.#problem('program', place, `more than ${MAX_COMMANDS} commands to check`);
    return false;
  }

  script(text: string, via: readonly string[], depth: number): void {
    if (depth > MAX_DEPTH) {
      this.#problem('program', { text, via }, `scripts nested more than ${MAX_DEPTH} levels deep`);
      return;
    }
    const parsed = parseShell(text, via);
    for (const raw of parsed.commands) this.#raw(raw, depth);
    if (parsed.error) this.#problem('program', { text, via }, `the shell text cannot be read to its end (${parsed.error.message})`);
  }

  #raw(raw: RawCommand, depth: number): void {
    const place: Place = { text: raw.text, via: raw.via, redirects: raw.redirects };
    if (!this.#spend(place)) return;
    for (const assignment of raw.assignments) {
      const hazard = environmentHazard(assignmentName(assignment) ?? '');
      if (hazard) this.#problem(hazard.kind, place, hazard.why);
      if (holdsCode(assignment)) this.#problem('program', place, STORED_CODE);
    }
    // `{fd}>file`: bash opens a descriptor, sh runs a program named {fd}; the two readings differ.
    for (const redirect of raw.redirects) {
      if (redirect.fd?.startsWith('{'))
        this.#problem('other', place, `sh runs "${redirect.fd}" as a program where bash opens a descriptor`);
    }
    const argv: Word[] = [];
    for (const word of raw.words) {
      const expanded = expandBraces(word);
      if (expanded === null) {
        this.#problem('program', place, `the brace expansion of "${word.source}" makes more than ${MAX_BRACE_WORDS} words`);
        return;
      }
      argv.push(...expanded);
    }
    if (argv.length > 0) this.run(argv, place, depth, false);
  }

  run(argv: readonly Word[], place: Place, depth: number, moreArgs: boolean): void {
    if (depth > MAX_DEPTH) {
      this.#problem('program', place, `commands wrapped more than ${MAX_DEPTH} levels deep`);
      return;
    }
    if (depth > 0 && !this.#spend(place)) return;
    const programWord = argv[0]!;
    const program = staticValue(programWord);
    if (program === null) {
      this.#problem('program', place, `the program "${programWord.source}" is known only when the command runs`);
      return;
    }
    this.#commands.push({ argv, program, text: place.text, via: place.via, moreArgs });
    for (const step of stepsOf(posix.basename(program), argv.slice(1), place)) {
      if ('problem' in step) this.#problem(step.problem, place, step.reason);
      else if ('script' in step) this.script(step.script, [...place.via, step.via], depth + 1);
      else this.run(step.run, { ...place, via: [...place.via, step.via] }, depth + 1, moreArgs || step.moreArgs === true);
    }
  }
}
