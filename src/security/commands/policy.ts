/**
 * The command policy of an agent (`blocked_commands`, `allowed_commands`): every
 * program a command line would run must pass it, or the whole line is refused before
 * anything runs.
 *
 * - A program matching a blocked rule (match.ts: it *may* be the rule's) is refused.
 * - Under an allowlist (`allowed_commands` not null), a program no allowed rule *surely*
 *   matches is refused; `[]` allows nothing.
 * - What cannot be analysed: a program that cannot be known statically (`$X id`,
 *   `source f`, `sh` reading its input, a syntax error) is refused whenever any rule
 *   applies (a non-empty blocklist, or an allowlist); a known program that may run
 *   unseen code (`bash -l`, `LD_PRELOAD=...`) is refused under an allowlist.
 * - With no rule at all (`blocked_commands: []` and `allowed_commands: null`, the
 *   unrestricted level) nothing is parsed and everything runs.
 */
import { type AnalysedCommand, analyseArgv, analyseCommandLine, type CommandAnalysis } from './analyse.js';
import { environmentHazard } from './environment.js';
import { allowedMatch, blockedMatch, type MatchContext } from './match.js';
import { type CommandRule, compileRules, fallbackBlockRule } from './rules.js';

export type { MatchContext } from './match.js';

export interface CommandPolicy {
  readonly allowed_commands: readonly string[] | null;
  readonly blocked_commands: readonly string[];
}

export interface CommandDenial {
  /** The list that refuses it. */
  readonly list: 'blocked_commands' | 'allowed_commands';
  /** The blocked rule that matched; null for "not in the allowlist" and for what could not be analysed. */
  readonly rule: string | null;
  /** The program refused; null when it could not be known. */
  readonly program: string | null;
  /** The part of the command it was found in (a simple command, or the text that could not be read). */
  readonly part: string;
  /** Where that part sits: `$(…)`, `sh -c`, `env`... outermost first. */
  readonly via: readonly string[];
  /** A sentence: what was refused and why. */
  readonly reason: string;
}

/** Whether any rule applies (otherwise commands are not even parsed). */
export function commandRulesApply(policy: CommandPolicy): boolean {
  return policy.allowed_commands !== null || policy.blocked_commands.length > 0;
}

/** The first reason to refuse `commandLine` (run as `/bin/sh -c commandLine`), or null when it may run. */
export function checkCommandLine(commandLine: string, policy: CommandPolicy, context: MatchContext): CommandDenial | null {
  if (!commandRulesApply(policy)) return null;
  return judge(analyseCommandLine(commandLine), policy, context);
}

/** The first reason to refuse starting `argv` directly (SPAWN's launch), or null. */
export function checkArgv(
  argv: readonly string[],
  policy: CommandPolicy,
  context: MatchContext,
  launchScript?: string,
): CommandDenial | null {
  if (!commandRulesApply(policy)) return null;
  return judge(analyseArgv(argv, launchScript), policy, context);
}

/** Variables of a request's environment that would make a program run code the command line does not show. */
export function checkEnvironment(env: Readonly<Record<string, string>>, policy: CommandPolicy): CommandDenial | null {
  if (!commandRulesApply(policy)) return null;
  for (const name of Object.keys(env)) {
    const hazard = environmentHazard(name);
    if (!hazard) continue;
    if (hazard.kind === 'other' && policy.allowed_commands === null) continue;
    return {
      list: policy.allowed_commands === null ? 'blocked_commands' : 'allowed_commands',
      rule: null,
      program: null,
      part: `env.${name}`,
      via: [],
      reason: `the environment variable ${name} is refused while command rules apply: ${hazard.why}`,
    };
  }
  return null;
}

export function judge(analysis: CommandAnalysis, policy: CommandPolicy, context: MatchContext): CommandDenial | null {
  const blocked = compileRules(policy.blocked_commands).map((rule, i) => rule ?? fallbackBlockRule(policy.blocked_commands[i]!));
  for (const command of analysis.commands) {
    const denial = blockedBy(command, blocked, context);
    if (denial) return denial;
  }
  const allowlist = policy.allowed_commands !== null;
  for (const problem of analysis.unanalysable) {
    if (problem.kind === 'other' && !allowlist) continue;
    return {
      list: allowlist ? 'allowed_commands' : 'blocked_commands',
      rule: null,
      program: null,
      part: problem.text,
      via: problem.via,
      reason: `${problem.reason}; a command that cannot be fully analysed is refused while ${allowlist ? 'an allowlist' : 'blocked_commands'} applies`,
    };
  }
  if (policy.allowed_commands === null) return null;
  const allowed = compileRules(policy.allowed_commands).filter((rule): rule is CommandRule => rule !== null);
  for (const command of analysis.commands) {
    if (allowed.some((rule) => allowedMatch(rule, command, context))) continue;
    return {
      list: 'allowed_commands',
      rule: null,
      program: command.program,
      part: command.text,
      via: command.via,
      reason: `"${command.program}" ${describeArgs(command)}is not in allowed_commands`,
    };
  }
  return null;
}

function blockedBy(command: AnalysedCommand, rules: readonly CommandRule[], context: MatchContext): CommandDenial | null {
  for (const rule of rules) {
    const match = blockedMatch(rule, command, context);
    if (!match) continue;
    const unsure = match.unsure ? ' (its arguments are known only when it runs, and may match)' : '';
    return {
      list: 'blocked_commands',
      rule: rule.source,
      program: command.program,
      part: command.text,
      via: command.via,
      reason: `"${command.program}" is blocked by the blocked_commands rule "${rule.source}"${unsure}`,
    };
  }
  return null;
}

function describeArgs(command: AnalysedCommand): string {
  return command.argv.length > 1
    ? `with the arguments "${command.argv
        .slice(1)
        .map((word) => word.source)
        .join(' ')}" `
    : '';
}

const MAX_PART = 200;

/** A part of a command as shown in replies and logs: at most 200 characters of it. */
export function clipPart(part: string): string {
  return part.length > MAX_PART ? `${part.slice(0, MAX_PART)}…` : part;
}

/** The refusal as one sentence for the reply: `OP denied: reason (in "part", inside via)`. */
export function denialMessage(op: string, denial: CommandDenial): string {
  const part = clipPart(denial.part);
  const where = denial.via.length > 0 ? `, inside ${denial.via.join(' › ')}` : '';
  return `${op} denied: ${denial.reason} (in "${part}"${where})`;
}
