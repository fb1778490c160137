/**
 * Shells: a `-c STRING` script is parsed again; a script file, or commands read from
 * standard input, cannot be known (a here-document or here-string written in the command
 * can). Shells whose syntax is not sh's cannot be read at all.
 */
import type { Redirect } from './parser.js';
import { type Handler, problem, type Step, scriptOf } from './steps.js';
import { knownValue, staticValue } from './words.js';

/** Shells whose syntax is not sh's: their scripts cannot be read here. */
export const FOREIGN_SHELLS = new Set(['fish', 'csh', 'tcsh', 'nu', 'xonsh', 'elvish', 'pwsh', 'rc', 'es']);
export const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'lksh', 'ash', 'rbash', 'posh', 'yash', 'ksh93', 'pdksh']);

/** A POSIX shell: `-c STRING` is parsed; a script file or standard input cannot be known (a here-document can). */
export const shell: Handler = (args, context, name) => {
  let commandMode = false;
  let stdinMode = false;
  let startup: string | null = null;
  let i = 0;
  for (; i < args.length; i++) {
    const value = staticValue(args[i]!);
    if (value === null)
      return [problem('program', `${name}: cannot tell its options from its script ("${args[i]!.source}" is known only when it runs)`)];
    if (value === '-' || value === '--') {
      i++;
      break;
    }
    if (value.startsWith('--')) {
      if (value === '--help' || value === '--version') return [];
      if (value === '--rcfile' || value === '--init-file') {
        startup = value;
        i++;
      } else if (value === '--login') startup = value;
      continue;
    }
    if ((value.startsWith('-') || value.startsWith('+')) && value.length > 1) {
      for (const letter of value.slice(1)) {
        if (letter === 'c') commandMode = true;
        else if (letter === 's') stdinMode = true;
        else if (letter === 'i' || letter === 'l') startup = `-${letter}`;
        else if (letter === 'o' || letter === 'O') i++;
      }
      continue;
    }
    break;
  }
  const steps: Step[] = [];
  if (startup) steps.push(problem('other', `${name} ${startup} runs startup files whose commands cannot be known`));
  const operands = args.slice(i);
  if (commandMode) {
    if (operands.length > 0) steps.push(scriptOf(operands[0]!, `${name} -c`));
    return steps;
  }
  if (!stdinMode && operands.length > 0) {
    const file = knownValue(operands[0]!);
    if (file !== null && file === context.launchScript) return steps;
    steps.push(
      problem('program', `${name} runs the script file "${operands[0]!.source}", whose commands cannot be known from the command line`),
    );
    return steps;
  }
  steps.push(standardInputScript(context.redirects, name));
  return steps;
};

/** The script a shell reads from its standard input: a here-document or here-string written in the command, or unknown. */
function standardInputScript(redirects: readonly Redirect[], name: string): Step {
  const input = redirects.findLast(
    (redirect) => (redirect.fd === null || redirect.fd === '0') && ['<', '<<', '<<-', '<<<', '<>', '<&'].includes(redirect.op),
  );
  if (input?.heredoc) {
    if (input.heredoc.text !== null) return { script: input.heredoc.text, via: `${name} <<${input.heredoc.delimiter}` };
    return problem('program', `${name} reads its commands from a here-document that expands at run time`);
  }
  if (input?.op === '<<<') {
    const text = knownValue(input.target);
    if (text !== null) return { script: text, via: `${name} <<<` };
    return problem('program', `${name} reads its commands from a here-string known only when it runs`);
  }
  return problem('program', `${name} reads its commands from its standard input, which cannot be known from the command line`);
}

export const foreign: Handler = (_args, _context, name) => [
  problem('program', `${name} scripts are not sh syntax; this parser cannot read them`),
];
