/**
 * Programs that run other programs, and how to find the one they run: wrappers that
 * take a command as their arguments (env, exec, xargs, nice, timeout, sudo, find -exec,
 * ...), builtins that run a script string (eval, trap, watch, su -c), shells (shells.ts),
 * and constructs that run commands this parser cannot see (source, alias, hash -p).
 * Options are read the way each program's getopt reads them (options.ts); an option it
 * does not know makes the command unanalysable rather than guessed at.
 */
import { environmentHazard } from './environment.js';
import { has, type OptionSpec, optionValue, scanOptions } from './options.js';
import { FOREIGN_SHELLS, foreign, SHELLS, shell } from './shells.js';
import { type Handler, problem, SHELL_ON_STDIN, type Step, scriptOf, type WrapperContext } from './steps.js';
import { holdsCode, knownValue, literalWord, type Piece, STORED_CODE, staticValue, type Word } from './words.js';

export type { Step, WrapperContext } from './steps.js';

/** A wrapper: options, then `positional` operands of its own, then the command (absent: nothing runs, or `noCommand`). */
function wrapper(spec: OptionSpec, positional = 0, noCommand?: (name: string) => Step[]): Handler {
  return (args, _context, name) => {
    const scan = scanOptions(args, spec, name);
    if ('problem' in scan) return [problem('program', scan.problem)];
    if (has(scan.options, 'help', 'version')) return [];
    const command = scan.rest.slice(positional);
    if (command.length === 0) return noCommand ? noCommand(name) : [];
    return [{ run: command, via: name }];
  };
}

function assignmentSteps(name: string): Step[] {
  const hazard = environmentHazard(name);
  return hazard ? [problem(hazard.kind, hazard.why)] : [];
}

const env: Handler = (args, _context, name) => {
  const scan = scanOptions(
    args,
    {
      flags: 'i0v',
      values: 'uCS',
      dash: true,
      long: {
        'ignore-environment': 'flag',
        null: 'flag',
        unset: 'value',
        chdir: 'value',
        'split-string': 'value',
        debug: 'flag',
        'block-signal': 'optional',
        'default-signal': 'optional',
        'ignore-signal': 'optional',
        'list-signal-handling': 'flag',
        help: 'flag',
        version: 'flag',
      },
    },
    name,
  );
  if ('problem' in scan) return [problem('program', scan.problem)];
  if (has(scan.options, 'S', 'split-string'))
    return [problem('program', `${name} -S splits a string into a command line, which this parser does not follow`)];
  if (has(scan.options, 'help', 'version')) return [];
  const steps: Step[] = [];
  let i = 0;
  for (; i < scan.rest.length; i++) {
    const word = scan.rest[i]!;
    const value = knownValue(word);
    if (value === null) {
      steps.push(problem('program', `${name}: cannot tell whether "${word.source}" is an assignment or its command`));
      return steps;
    }
    const eq = value.indexOf('=');
    if (eq <= 0) break;
    steps.push(...assignmentSteps(value.slice(0, eq)));
  }
  const command = scan.rest.slice(i);
  if (command.length > 0) steps.push({ run: command, via: name });
  return steps;
};

const xargs: Handler = (args, _context, name) => {
  const scan = scanOptions(
    args,
    {
      flags: '0rtpxo',
      values: 'adEILnPs',
      optional: 'eil',
      long: {
        null: 'flag',
        'no-run-if-empty': 'flag',
        verbose: 'flag',
        interactive: 'flag',
        exit: 'flag',
        'open-tty': 'flag',
        'arg-file': 'value',
        delimiter: 'value',
        eof: 'optional',
        replace: 'optional',
        'max-lines': 'optional',
        'max-args': 'value',
        'max-procs': 'value',
        'max-chars': 'value',
        'process-slot-var': 'value',
        'show-limits': 'flag',
        help: 'flag',
        version: 'flag',
      },
    },
    name,
  );
  if ('problem' in scan) return [problem('program', scan.problem)];
  if (has(scan.options, 'help', 'version')) return [];
  const command = scan.rest.length > 0 ? scan.rest : [literalWord('echo')];
  const replaceOption = scan.options.findLast((option) => ['I', 'i', 'replace'].includes(option.name));
  if (!replaceOption) return [{ run: command, via: name, moreArgs: true }];
  const replacement = replaceOption.value === null ? '{}' : knownValue(replaceOption.value);
  if (replacement === null || replacement === '') return [problem('program', `${name}: its replacement string is known only when it runs`)];
  // With -I the input replaces the marker inside words and nothing is appended.
  return [{ run: command.map((word) => replaceMarker(word, replacement)), via: name }];
};

/** Each occurrence of `marker` in the word's text becomes an unknown value (one word: it never splits). */
export function replaceMarker(word: Word, marker: string): Word {
  if (!word.pieces.some((piece) => piece.kind === 'text' && piece.text.includes(marker))) return word;
  const pieces: Piece[] = [];
  for (const piece of word.pieces) {
    if (piece.kind !== 'text') {
      pieces.push(piece);
      continue;
    }
    const parts = piece.text.split(marker);
    parts.forEach((part, k) => {
      if (k > 0) pieces.push({ kind: 'unknown', source: marker, quoted: true });
      if (part !== '') pieces.push({ ...piece, text: part });
    });
  }
  return { source: word.source, pieces };
}

const find: Handler = (args, _context, name) => {
  const steps: Step[] = [];
  for (let i = 0; i < args.length; i++) {
    const action = knownValue(args[i]!);
    if (action === null || !['-exec', '-execdir', '-ok', '-okdir'].includes(action)) continue;
    const end = args.findIndex((word, k) => k > i && ['+', ';'].includes(knownValue(word) ?? ''));
    if (end < 0) return [...steps, problem('program', `${name} ${action} has no terminating ";" or "+"`)];
    const command = args.slice(i + 1, end).map((word) => replaceMarker(word, '{}'));
    if (command.length === 0) return [...steps, problem('program', `${name} ${action} names no command`)];
    steps.push({ run: command, via: `${name} ${action}` });
    i = end;
  }
  return steps;
};

/** `-c STRING` anywhere in the arguments (su, runuser, script permute their options). */
function commandOption(args: readonly Word[]): { found: boolean; value: Word | null } {
  for (let i = 0; i < args.length; i++) {
    const value = staticValue(args[i]!);
    if (value === null) continue;
    if (value === '--') break;
    if (value === '-c' || value === '--command') return { found: true, value: args[i + 1] ?? null };
    if (value.startsWith('--command=')) return { found: true, value: literalWord(value.slice('--command='.length)) };
    if (/^-[a-z]*c/.test(value) && !value.startsWith('--')) {
      const after = value.slice(value.indexOf('c') + 1);
      return { found: true, value: after ? literalWord(after) : (args[i + 1] ?? null) };
    }
  }
  return { found: false, value: null };
}

/** su, runuser, script: `-c STRING` runs a shell script; without it they start a shell reading its input. */
function commandString(fallback: Handler | null): Handler {
  return (args, context, name) => {
    const option = commandOption(args);
    if (option.found) return [scriptOf(option.value, `${name} -c`)];
    if (fallback) return fallback(args, context, name);
    return SHELL_ON_STDIN(name);
  };
}

const runuser: Handler = (args, _context, name) => {
  const separator = args.findIndex((word) => staticValue(word) === '--');
  if (separator >= 0 && separator < args.length - 1) return [{ run: args.slice(separator + 1), via: name }];
  return SHELL_ON_STDIN(name);
};

const sudo: Handler = (args, _context, name) => {
  const scan = scanOptions(
    args,
    {
      flags: 'AbBEeHiKklNnPSsVv',
      values: 'CDghpRrtTUu',
      long: {
        askpass: 'flag',
        background: 'flag',
        bell: 'flag',
        'close-from': 'value',
        chdir: 'value',
        chroot: 'value',
        edit: 'flag',
        group: 'value',
        'set-home': 'flag',
        help: 'flag',
        host: 'value',
        login: 'flag',
        'remove-timestamp': 'flag',
        'reset-timestamp': 'flag',
        list: 'flag',
        'no-update': 'flag',
        'non-interactive': 'flag',
        'preserve-groups': 'flag',
        'preserve-env': 'optional',
        prompt: 'value',
        role: 'value',
        stdin: 'flag',
        shell: 'flag',
        type: 'value',
        'command-timeout': 'value',
        'other-user': 'value',
        user: 'value',
        version: 'flag',
        validate: 'flag',
      },
    },
    name,
  );
  if ('problem' in scan) return [problem('program', scan.problem)];
  // Editing files, listing and validating run no command; -k and -K do when one follows.
  if (has(scan.options, 'e', 'edit', 'l', 'list', 'v', 'validate', 'V', 'version', 'help')) return [];
  const shell = has(scan.options, 's', 'shell', 'i', 'login');
  if (scan.rest.length === 0) return shell ? SHELL_ON_STDIN(`${name} -s`) : [];
  if (!shell) return [{ run: scan.rest, via: name }];
  const words = scan.rest.map(knownValue);
  if (words.some((word) => word === null)) return [problem('program', `the command given to ${name} -s is known only when it runs`)];
  return [{ script: words.join(' '), via: `${name} -s` }];
};

const doas: Handler = (args, _context, name) => {
  const scan = scanOptions(args, { flags: 'Lns', values: 'uC' }, name);
  if ('problem' in scan) return [problem('program', scan.problem)];
  if (has(scan.options, 'C', 'L')) return [];
  if (scan.rest.length === 0) return has(scan.options, 's') ? SHELL_ON_STDIN(`${name} -s`) : [];
  return [{ run: scan.rest, via: name }];
};

const flock: Handler = (args, _context, name) => {
  const scan = scanOptions(
    args,
    {
      flags: 'sxeunoFv',
      values: 'wEc',
      long: {
        shared: 'flag',
        exclusive: 'flag',
        unlock: 'flag',
        nonblock: 'flag',
        close: 'flag',
        'no-fork': 'flag',
        verbose: 'flag',
        timeout: 'value',
        'conflict-exit-code': 'value',
        command: 'value',
        help: 'flag',
        version: 'flag',
      },
    },
    name,
  );
  if ('problem' in scan) return [problem('program', scan.problem)];
  if (has(scan.options, 'c', 'command')) return [scriptOf(optionValue(scan.options, 'c', 'command') ?? null, `${name} -c`)];
  const afterFile = scan.rest.slice(1);
  const flag = afterFile[0] ? staticValue(afterFile[0]) : null;
  if (flag === '-c' || flag === '--command') return [scriptOf(afterFile[1] ?? null, `${name} -c`)];
  return afterFile.length > 0 ? [{ run: afterFile, via: name }] : [];
};

const watch: Handler = (args, _context, name) => {
  const scan = scanOptions(
    args,
    {
      flags: 'bcdeghtxpwrC',
      values: 'nq',
      long: {
        interval: 'value',
        differences: 'optional',
        exec: 'flag',
        beep: 'flag',
        color: 'flag',
        'no-color': 'flag',
        errexit: 'flag',
        chgexit: 'flag',
        equexit: 'value',
        precise: 'flag',
        'no-title': 'flag',
        'no-wrap': 'flag',
        'no-linewrap': 'flag',
        'no-rerun': 'flag',
        help: 'flag',
        version: 'flag',
      },
    },
    name,
  );
  if ('problem' in scan) return [problem('program', scan.problem)];
  if (scan.rest.length === 0) return [];
  if (has(scan.options, 'x', 'exec')) return [{ run: scan.rest, via: name }];
  // Without -x, watch joins its arguments and hands them to `sh -c`.
  const words = scan.rest.map(knownValue);
  if (words.some((word) => word === null)) return [problem('program', `the command given to ${name} is known only when it runs`)];
  return [{ script: words.join(' '), via: name }];
};

const busybox: Handler = (args, _context, name) => {
  const applet = args[0] ? knownValue(args[0]) : null;
  if (args.length === 0 || applet?.startsWith('-')) return [];
  return [{ run: args, via: name }];
};

const evalBuiltin: Handler = (args, _context, name) => {
  const words = args.map(knownValue);
  if (words.some((word) => word === null)) return [problem('program', `${name} runs text that is known only when it runs`)];
  return words.length === 0 ? [] : [{ script: words.join(' '), via: name }];
};

const source: Handler = (args, _context, name) => [
  problem('program', `${name} runs the commands in the file "${args[0]?.source ?? ''}", which cannot be known from the command line`),
];

const trap: Handler = (args, _context, name) => {
  const first = args[0] ? staticValue(args[0]) : null;
  const rest = first === '--' ? args.slice(1) : args;
  if (rest.length < 2) return [];
  const action = knownValue(rest[0]!);
  if (action === null) return [problem('program', `${name} sets an action that is known only when it runs`)];
  if (action === '' || action === '-' || /^\d+$/.test(action) || action.startsWith('-')) return [];
  return [{ script: action, via: name }];
};

const alias: Handler = (args, _context, name) =>
  args.some((word) => (knownValue(word) ?? '=').includes('='))
    ? [problem('program', `${name} definitions change what later words run`)]
    : [];

/** hash -p (bash) binds a name to any file; enable -f loads a builtin from a shared object. */
const rebinding =
  (letter: string): Handler =>
  (args, _context, name) =>
    args.some((word) => /^-[A-Za-z]+$/.test(knownValue(word) ?? '') && knownValue(word)!.includes(letter))
      ? [problem('program', `${name} -${letter} makes a name run a file the command line does not show`)]
      : [];

/** export, declare, local, readonly, read, printf -v...: what they assign may be one of the hazardous variables, or stored code. */
const declaration: Handler = (args) => {
  const steps: Step[] = [];
  for (const word of args) {
    if (holdsCode(word)) steps.push(problem('program', STORED_CODE));
    const value = knownValue(word);
    if (value === null) continue;
    const name = /^([A-Za-z_][A-Za-z0-9_]*)(?:\+?=|$)/.exec(value)?.[1];
    if (name) steps.push(...assignmentSteps(name));
  }
  return steps;
};

const HANDLERS: Record<string, Handler> = {
  env,
  exec: wrapper({ flags: 'cl', values: 'a' }),
  command: (args, _context, name) => {
    const scan = scanOptions(args, { flags: 'pvV' }, name);
    if ('problem' in scan) return [problem('program', scan.problem)];
    // -v and -V only describe the command.
    if (has(scan.options, 'v', 'V') || scan.rest.length === 0) return [];
    return [{ run: scan.rest, via: name }];
  },
  builtin: (args, _context, name) => (args.length > 0 ? [{ run: args, via: name }] : []),
  nice: wrapper({ values: 'n', numbers: true, long: { adjustment: 'value', help: 'flag', version: 'flag' } }),
  nohup: wrapper({ long: { help: 'flag', version: 'flag' } }),
  timeout: wrapper(
    {
      flags: 'vf',
      values: 'sk',
      long: {
        signal: 'value',
        'kill-after': 'value',
        'preserve-status': 'flag',
        foreground: 'flag',
        verbose: 'flag',
        help: 'flag',
        version: 'flag',
      },
    },
    1,
  ),
  stdbuf: wrapper({ values: 'ioe', long: { input: 'value', output: 'value', error: 'value', help: 'flag', version: 'flag' } }),
  setsid: wrapper({ flags: 'cfw', long: { ctty: 'flag', fork: 'flag', wait: 'flag', help: 'flag', version: 'flag' } }),
  time: wrapper({
    flags: 'pvaq',
    values: 'fo',
    long: {
      format: 'value',
      output: 'value',
      append: 'flag',
      verbose: 'flag',
      quiet: 'flag',
      portability: 'flag',
      help: 'flag',
      version: 'flag',
    },
  }),
  xargs,
  ionice: (args, context, name) => {
    const scan = scanOptions(
      args,
      {
        flags: 't',
        values: 'cnpPu',
        long: { class: 'value', classdata: 'value', pid: 'value', pgid: 'value', uid: 'value', ignore: 'flag' },
      },
      name,
    );
    if ('problem' in scan) return [problem('program', scan.problem)];
    if (has(scan.options, 'p', 'P', 'u', 'pid', 'pgid', 'uid')) return [];
    return wrapper({ flags: 't', values: 'cnpPu', long: { class: 'value', classdata: 'value', ignore: 'flag' } })(args, context, name);
  },
  taskset: (args, context, name) => {
    const spec: OptionSpec = {
      flags: 'acp',
      long: { 'all-tasks': 'flag', pid: 'flag', 'cpu-list': 'flag', help: 'flag', version: 'flag' },
    };
    const scan = scanOptions(args, spec, name);
    if ('problem' in scan) return [problem('program', scan.problem)];
    if (has(scan.options, 'p', 'pid')) return [];
    return wrapper(spec, 1)(args, context, name);
  },
  chrt: (args, context, name) => {
    const spec: OptionSpec = {
      flags: 'abdefimoprRv',
      values: 'TPD',
      long: {
        'all-tasks': 'flag',
        batch: 'flag',
        deadline: 'flag',
        ext: 'flag',
        fifo: 'flag',
        idle: 'flag',
        max: 'flag',
        other: 'flag',
        pid: 'flag',
        rr: 'flag',
        'reset-on-fork': 'flag',
        verbose: 'flag',
        'sched-runtime': 'value',
        'sched-period': 'value',
        'sched-deadline': 'value',
        help: 'flag',
        version: 'flag',
      },
    };
    const scan = scanOptions(args, spec, name);
    if ('problem' in scan) return [problem('program', scan.problem)];
    if (has(scan.options, 'p', 'pid', 'm', 'max')) return [];
    return wrapper(spec, 1)(args, context, name);
  },
  flock,
  chroot: wrapper({ long: { userspec: 'value', groups: 'value', 'skip-chdir': 'flag', help: 'flag', version: 'flag' } }, 1, (name) =>
    SHELL_ON_STDIN(name),
  ),
  unshare: wrapper(
    {
      flags: 'muinpUCTfrch',
      values: 'SGRwl',
      long: {
        mount: 'optional',
        uts: 'optional',
        ipc: 'optional',
        net: 'optional',
        pid: 'optional',
        user: 'optional',
        cgroup: 'optional',
        time: 'optional',
        fork: 'flag',
        'map-root-user': 'flag',
        'map-current-user': 'flag',
        'map-auto': 'flag',
        'map-user': 'value',
        'map-group': 'value',
        'map-users': 'value',
        'map-groups': 'value',
        'kill-child': 'optional',
        'mount-proc': 'optional',
        'mount-binfmt': 'optional',
        propagation: 'value',
        setgroups: 'value',
        'keep-caps': 'flag',
        setuid: 'value',
        setgid: 'value',
        root: 'value',
        wd: 'value',
        monotonic: 'value',
        boottime: 'value',
        'load-interp': 'value',
        help: 'flag',
        version: 'flag',
      },
    },
    0,
    (name) => SHELL_ON_STDIN(name),
  ),
  sudo,
  doas,
  su: commandString(null),
  runuser: commandString(runuser),
  script: commandString(null),
  find,
  watch,
  busybox,
  toybox: busybox,
  eval: evalBuiltin,
  source,
  '.': source,
  trap,
  alias,
  hash: rebinding('p'),
  enable: rebinding('f'),
  export: declaration,
  declare: declaration,
  typeset: declaration,
  local: declaration,
  readonly: declaration,
  read: declaration,
  printf: (args, context, name) => {
    const target = args.findIndex((word) => knownValue(word) === '-v');
    return target >= 0 && args[target + 1] ? declaration([args[target + 1]!], context, name) : [];
  },
  mapfile: declaration,
  readarray: declaration,
  getopts: declaration,
};

/** What running `program` (a basename) with `args` makes run next; empty for an ordinary program. */
export function stepsOf(program: string, args: readonly Word[], context: WrapperContext): Step[] {
  if (SHELLS.has(program)) return shell(args, context, program);
  if (FOREIGN_SHELLS.has(program)) return foreign(args, context, program);
  const handler = Object.hasOwn(HANDLERS, program) ? HANDLERS[program] : undefined;
  return handler ? handler(args, context, program) : [];
}

/** The programs this module looks inside (for the documentation and its tests). */
export const UNWRAPPED_PROGRAMS: readonly string[] = Object.freeze([...SHELLS, ...Object.keys(HANDLERS)].sort());
