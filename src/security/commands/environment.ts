/**
 * Environment variables that make a program run code the command line does not show.
 * `program`: a shell runs a file or a string from them; refused under any command rule.
 * `other`: a program loads code or starts another program from them; refused under an allowlist.
 */
export function environmentHazard(name: string): { kind: 'program' | 'other'; why: string } | null {
  if (['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND'].includes(name) || name.startsWith('BASH_FUNC_')) {
    return { kind: 'program', why: `${name} makes a shell run commands the command line does not show` };
  }
  if (
    name.startsWith('LD_') ||
    name.startsWith('PYTHON') ||
    name.startsWith('PERL5') ||
    [
      'GCONV_PATH',
      'NODE_OPTIONS',
      'PERLLIB',
      'RUBYOPT',
      'RUBYLIB',
      'PAGER',
      'GIT_PAGER',
      'MANPAGER',
      'EDITOR',
      'VISUAL',
      'GIT_EDITOR',
      'GIT_SSH',
      'GIT_SSH_COMMAND',
      'GIT_EXEC_PATH',
      'LESSOPEN',
      'LESSCLOSE',
      'BROWSER',
    ].includes(name)
  ) {
    return { kind: 'other', why: `${name} makes a program load code or start a program the command line does not show` };
  }
  return null;
}
