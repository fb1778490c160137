/**
 * Command policy: what a shell command line runs (a parser of POSIX sh and common bash,
 * wrappers and `sh -c` strings followed), and whether `blocked_commands` and
 * `allowed_commands` let it. Pure functions, no I/O. docs/protocol.md ("Commands") has
 * the rule grammar and what is refused.
 */
export { type AnalysedCommand, analyseArgv, analyseCommandLine, type CommandAnalysis, type Unanalysable } from './analyse.js';
export { environmentHazard } from './environment.js';
export { allowedMatch, type BlockedMatch, blockedMatch, canonicalFlags, type MatchContext } from './match.js';
export {
  type CommandDenial,
  type CommandPolicy,
  checkArgv,
  checkCommandLine,
  checkEnvironment,
  commandRulesApply,
  denialMessage,
} from './policy.js';
export { commandRefusal } from './refusal.js';
export { type CommandRule, commandRuleProblem, parseRule } from './rules.js';
export { UNWRAPPED_PROGRAMS } from './wrappers.js';
