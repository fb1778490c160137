/**
 * The shell parser and the analysis above it: what programs a command line runs, where
 * they hide (substitutions, subshells, groups, compound commands, here-documents,
 * wrappers, `sh -c` strings), and what is reported as unanalysable instead of guessed.
 */
import { describe, expect, it } from 'vitest';
import { analyseArgv, analyseCommandLine } from '../../src/security/commands/analyse.js';
import { parseShell } from '../../src/security/commands/parser.js';
import { expandBraces, knownValue, type Word } from '../../src/security/commands/words.js';

const show = (word: Word) => knownValue(word) ?? `<${word.source}>`;

/** Every command found, as its words (unknown ones as <source>). */
function argvs(line: string): string[] {
  return analyseCommandLine(line).commands.map((command) => command.argv.map(show).join(' '));
}

/** The programs found. */
function programs(line: string): string[] {
  return analyseCommandLine(line).commands.map((command) => command.program);
}

function problems(line: string): { kind: string; reason: string }[] {
  return analyseCommandLine(line).unanalysable.map(({ kind, reason }) => ({ kind, reason }));
}

describe('words and quoting', () => {
  it.each([
    ['rm  -rf /', 'rm -rf /'],
    ['sudo\tid', 'sudo id'],
    ["'su'do id", 'sudo id'],
    ['"sudo" id', 'sudo id'],
    ['s\\udo id', 'sudo id'],
    ['su\\\ndo id', 'sudo id'],
    ["$'\\x73udo' id", 'sudo id'],
    ["$'\\163udo' id", 'sudo id'],
    ["$'\\u0073udo' id", 'sudo id'],
    ['$"sudo" id', 'sudo id'],
    ['"s"\'u\'do id', 'sudo id'],
    ['echo "a b" c', 'echo a b c'],
    ['echo ""', 'echo '],
  ])('%j runs %j', (line, expected) => {
    expect(argvs(line)[0]).toBe(expected);
    expect(problems(line)).toEqual([]);
  });

  it('keeps expansions as unknown words, and knows which may split', () => {
    const [command] = analyseCommandLine('echo $X "$Y" "a$Z" ~/x').commands;
    expect(command!.argv.map(show)).toEqual(['echo', '<$X>', '<"$Y">', '<"a$Z">', '~/x']);
    expect(command!.argv.map((w) => w.pieces.map((p) => `${p.kind}:${p.quoted}`).join(','))).toEqual([
      'text:false',
      'unknown:false',
      'unknown:true',
      'text:true,unknown:true',
      'text:false',
    ]);
  });

  it('reads comments, line continuations and empty lines', () => {
    expect(argvs('echo hi # sudo id\n\n  # only a comment\nls \\\n -l')).toEqual(['echo hi', 'ls -l']);
  });

  it('expands braces as bash does, so a program cannot hide in them', () => {
    expect(argvs('s{u,}do id')).toEqual(['sudo sdo id', 'sdo id']);
    // bash runs `sudo echo id`.
    expect(programs('{sudo,echo} id')).toEqual(['sudo', 'echo']);
    expect(expandBraces(parseShell('a{1..3}b').commands[0]!.words[0]!)!.map(show)).toEqual(['a1b', 'a2b', 'a3b']);
    expect(expandBraces(parseShell("'{a,b}'").commands[0]!.words[0]!)!.map(show)).toEqual(['{a,b}']);
    expect(problems('echo {1..100000}')).toEqual([{ kind: 'program', reason: expect.stringMatching(/brace expansion/) }]);
  });

  it('treats a [ that never closes as a literal (test), not a glob', () => {
    expect(programs('[ -f x ] && ls')).toEqual(['[', 'ls']);
  });
});

describe('structure: every simple command is found', () => {
  it.each([
    ['echo x | sudo tee /etc/x', ['echo', 'sudo', 'tee']],
    ['true && sudo id', ['true', 'sudo', 'id']],
    ['false || sudo id', ['false', 'sudo', 'id']],
    ['a; b & c', ['a', 'b', 'c']],
    ['a\nb\n', ['a', 'b']],
    ['(sudo id)', ['sudo', 'id']],
    ['( (sudo id) )', ['sudo', 'id']],
    ['((sudo id))', ['sudo', 'id']],
    ['{ sudo id; }', ['sudo', 'id']],
    ['! sudo id', ['sudo', 'id']],
    ['a |& sudo id', ['a', 'sudo', 'id']],
    ['if sudo id; then a; elif b; then c; else d; fi', ['sudo', 'id', 'a', 'b', 'c', 'd']],
    ['while sudo id; do a; done', ['sudo', 'id', 'a']],
    ['until a; do sudo id; done', ['a', 'sudo', 'id']],
    ['for x in a b; do sudo id; done', ['sudo', 'id']],
    ['for x do sudo id; done', ['sudo', 'id']],
    ['for ((i=0;i<3;i++)); do sudo id; done', ['sudo', 'id']],
    ['select x in a; do sudo id; done', ['sudo', 'id']],
    ['case $x in a) sudo id;; (b|c) ls;; *) ;; esac', ['sudo', 'id', 'ls']],
    ['case x in\n a)\n  sudo id\n  ;;\nesac', ['sudo', 'id']],
    ['f() { sudo id; }; f', ['sudo', 'id', 'f']],
    ['function f { sudo id; }', ['sudo', 'id']],
    ['function f() ( sudo id )', ['sudo', 'id']],
    ['coproc sudo id', ['sudo', 'id']],
    ['coproc NAME { sudo id; }', ['sudo', 'id']],
    ['time sudo id', ['time', 'sudo', 'id']],
    ['time { sudo id; }', ['sudo', 'id']],
    ['[[ -f x ]] && sudo id', ['sudo', 'id']],
    ['X=1 sudo id', ['sudo', 'id']],
    ['X=1 Y=2', []],
    ['> out sudo id', ['sudo', 'id']],
    ['2>/dev/null sudo id', ['sudo', 'id']],
    ['sudo id >out 2>&1 </dev/null', ['sudo', 'id']],
  ])('%j runs %j', (line, expected) => {
    expect(programs(line)).toEqual(expected);
    expect(problems(line)).toEqual([]);
  });
});

describe('substitutions run commands too', () => {
  it.each([
    ['echo $(sudo id)', ['sudo', 'id', 'echo']],
    ['echo "$(sudo id)"', ['sudo', 'id', 'echo']],
    ['echo `sudo id`', ['sudo', 'id', 'echo']],
    ['echo "`sudo id`"', ['sudo', 'id', 'echo']],
    ['echo `echo \\`sudo id\\``', ['sudo', 'id', 'echo', 'echo']],
    ['echo $(echo $(sudo id))', ['sudo', 'id', 'echo', 'echo']],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    ['echo ${x:-$(sudo id)}', ['sudo', 'id', 'echo']],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    ['echo "${x:-`sudo id`}"', ['sudo', 'id', 'echo']],
    ['echo $((1 + $(sudo id)))', ['sudo', 'id', 'echo']],
    ['echo $[1 + $(sudo id)]', ['sudo', 'id', 'echo']],
    ['diff <(sudo id) >(tee x)', ['sudo', 'id', 'tee', 'diff']],
    ['[[ $(sudo id) ]]', ['sudo', 'id']],
    ['x=$(sudo id)', ['sudo', 'id']],
    ['a=(1 $(sudo id)); echo', ['sudo', 'id', 'echo']],
    ['cat > f <<EOF\n$(sudo id)\n`sudo id`\nEOF\n', ['sudo', 'id', 'sudo', 'id', 'cat']],
    ["cat <<'EOF'\n$(sudo id)\nEOF\n", ['cat']],
    ['cat <<-EOF\n\t$(sudo id)\n\tEOF\necho after', ['sudo', 'id', 'cat', 'echo']],
    ['echo $(case x in a) sudo id;; esac)', ['sudo', 'id', 'echo']],
    ['echo $( (sudo id) )', ['sudo', 'id', 'echo']],
    // bash falls back to a command substitution when $(( does not close as arithmetic.
    ['echo $((sudo id) )', ['sudo', 'id', 'echo']],
    // Arithmetic, in dash and bash alike: nothing runs.
    ['echo $((sudo id))', ['echo']],
    ['case $(sudo id) in *) ;; esac', ['sudo', 'id']],
    ['for x in $(sudo id); do :; done', ['sudo', 'id', ':']],
  ])('%j runs %j', (line, expected) => {
    expect(programs(line)).toEqual(expected);
  });

  it('says where each command was found', () => {
    const found = analyseCommandLine('echo $(sh -c "env sudo id")').commands.map((c) => [c.program, c.via.join(' › ')]);
    expect(found).toEqual([
      ['sh', '$(…)'],
      ['env', '$(…) › sh -c'],
      ['sudo', '$(…) › sh -c › env'],
      ['id', '$(…) › sh -c › env › sudo'],
      ['echo', ''],
    ]);
  });
});

describe('wrappers: the program they run is a command too', () => {
  it.each([
    ['env sudo id', ['env', 'sudo', 'id']],
    ['env -i FOO=1 sudo id', ['env', 'sudo', 'id']],
    ['env -u HOME -C / -- sudo id', ['env', 'sudo', 'id']],
    ['env - sudo id', ['env', 'sudo', 'id']],
    ['/usr/bin/env sudo', ['/usr/bin/env', 'sudo']],
    ['exec sudo id', ['exec', 'sudo', 'id']],
    ['exec -a name sudo id', ['exec', 'sudo', 'id']],
    ['command sudo id', ['command', 'sudo', 'id']],
    ['command -p sudo id', ['command', 'sudo', 'id']],
    ['builtin eval "sudo id"', ['builtin', 'eval', 'sudo', 'id']],
    ['nice sudo id', ['nice', 'sudo', 'id']],
    ['nice -n 5 sudo id', ['nice', 'sudo', 'id']],
    ['nice -5 sudo id', ['nice', 'sudo', 'id']],
    ['nice --adj=5 sudo id', ['nice', 'sudo', 'id']],
    ['nohup sudo id', ['nohup', 'sudo', 'id']],
    ['timeout 5 sudo id', ['timeout', 'sudo', 'id']],
    ['timeout -s KILL -k 1 5 sudo id', ['timeout', 'sudo', 'id']],
    ['timeout --signal=KILL 5 sudo id', ['timeout', 'sudo', 'id']],
    ['stdbuf -oL sudo id', ['stdbuf', 'sudo', 'id']],
    ['setsid -f sudo id', ['setsid', 'sudo', 'id']],
    ['time -p sudo id', ['time', 'sudo', 'id']],
    ['ionice -c 3 sudo id', ['ionice', 'sudo', 'id']],
    ['taskset -c 1 sudo id', ['taskset', 'sudo', 'id']],
    ['chrt -b 0 sudo id', ['chrt', 'sudo', 'id']],
    ['flock /tmp/l sudo id', ['flock', 'sudo', 'id']],
    ['flock /tmp/l -c "sudo id"', ['flock', 'sudo', 'id']],
    ['xargs sudo', ['xargs', 'sudo']],
    ['xargs -0 -n 1 sudo id', ['xargs', 'sudo', 'id']],
    ['xargs -I{} sudo id {}', ['xargs', 'sudo', 'id']],
    ['xargs', ['xargs', 'echo']],
    ['find . -exec sudo id {} \\;', ['find', 'sudo', 'id']],
    ["find . -execdir sudo id {} + -o -ok rm {} ';'", ['find', 'sudo', 'id', 'rm']],
    ['watch sudo id', ['watch', 'sudo', 'id']],
    ['watch -n 1 "sudo id; ls"', ['watch', 'sudo', 'id', 'ls']],
    ['watch -x sudo id', ['watch', 'sudo', 'id']],
    ['sudo -u root id', ['sudo', 'id']],
    ['sudo -E env sudo id', ['sudo', 'env', 'sudo', 'id']],
    ['doas -u root id', ['doas', 'id']],
    ['su -c "sudo id" root', ['su', 'sudo', 'id']],
    ['busybox sudo id', ['busybox', 'sudo', 'id']],
    ['busybox sh -c "sudo id"', ['busybox', 'sh', 'sudo', 'id']],
    ['chroot / sudo id', ['chroot', 'sudo', 'id']],
    ['unshare -r sudo id', ['unshare', 'sudo', 'id']],
    ['nice timeout 5 env sudo id', ['nice', 'timeout', 'env', 'sudo', 'id']],
    ['eval "sudo id"', ['eval', 'sudo', 'id']],
    ['eval sudo id', ['eval', 'sudo', 'id']],
    ['trap "sudo id" EXIT', ['trap', 'sudo', 'id']],
    ['trap -- "sudo id" EXIT', ['trap', 'sudo', 'id']],
    ['command -v sudo', ['command']],
    ['sudo -l', ['sudo']],
  ])('%j runs %j', (line, expected) => {
    expect(programs(line)).toEqual(expected);
    expect(problems(line)).toEqual([]);
  });

  it('keeps what xargs and find supply as unknown words', () => {
    const [, xargs] = analyseCommandLine('xargs rm -f').commands;
    expect(xargs!.moreArgs).toBe(true);
    const [, found] = analyseCommandLine('find . -exec rm -f {} +').commands;
    expect(found!.argv.map(show)).toEqual(['rm', '-f', '<{}>']);
    const [, replaced] = analyseCommandLine('xargs -I% cp % /tmp/%.bak').commands;
    expect(replaced!.argv.map(show)).toEqual(['cp', '<%>', '</tmp/%.bak>']);
    expect(replaced!.moreArgs).toBe(false);
  });
});

describe('shells: -c strings are parsed, the rest is unanalysable', () => {
  it.each([
    ["sh -c 'sudo id'", ['sh', 'sudo', 'id']],
    ['bash -c "sudo id"', ['bash', 'sudo', 'id']],
    ['bash -ec "sudo id" name arg', ['bash', 'sudo', 'id']],
    ['bash -o pipefail -c "sudo id"', ['bash', 'sudo', 'id']],
    ['bash --norc --noprofile -c "sudo id"', ['bash', 'sudo', 'id']],
    ['dash -c "sh -c \\"sudo id\\""', ['dash', 'sh', 'sudo', 'id']],
    ["sh <<'EOF'\nsudo id\nEOF\n", ['sh', 'sudo', 'id']],
    ['sh <<EOF\nsudo id\nEOF\n', ['sh', 'sudo', 'id']],
    ['bash <<< "sudo id"', ['bash', 'sudo', 'id']],
    ['sh -s <<< "sudo id"', ['sh', 'sudo', 'id']],
  ])('%j runs %j', (line, expected) => {
    expect(programs(line)).toEqual(expected);
    expect(problems(line)).toEqual([]);
  });

  it.each([
    ['echo "sudo id" | sh', /sh reads its commands from its standard input/],
    ['sh < script.sh', /standard input/],
    ['bash script.sh', /runs the script file "script.sh"/],
    ['sh -c "$CMD"', /known only when it runs/],
    ['sh <<EOF\n$(cat f)\nEOF\n', /here-document that expands at run time/],
    ['fish -c "sudo id"', /not sh syntax/],
    ['sudo -s', /starts a shell/],
    ['su', /starts a shell/],
  ])('%j is unanalysable (%s)', (line, reason) => {
    expect(problems(line)).toEqual([{ kind: 'program', reason: expect.stringMatching(reason) }]);
  });

  it('a login or interactive shell runs startup files: unanalysable in detail only', () => {
    expect(problems('bash -lc "ls"')).toEqual([{ kind: 'other', reason: expect.stringMatching(/startup files/) }]);
    expect(programs('bash -lc "ls"')).toEqual(['bash', 'ls']);
  });

  it('SPAWN: a shell running the spawned script itself is the launch, not an unknown script', () => {
    expect(analyseArgv(['bash', '/agents/a.sh', 'x'], '/agents/a.sh').unanalysable).toEqual([]);
    expect(analyseArgv(['bash', '/agents/other.sh'], '/agents/a.sh').unanalysable).toHaveLength(1);
    expect(analyseArgv(['/usr/bin/env', 'sudo', 'x']).commands.map((c) => c.program)).toEqual(['/usr/bin/env', 'sudo', 'x']);
    // An argv is not shell text: a word with shell syntax is just a word.
    expect(analyseArgv(['python3', '-u', '/a.py', '$(sudo id)']).commands.map((c) => c.program)).toEqual(['python3']);
  });
});

describe('what cannot be known is reported, not guessed', () => {
  it.each([
    ['$X id', 'program', /the program "\$X"/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    ['${X} id', 'program', /the program "\$\{X\}"/],
    ['"$X" id', 'program', /the program/],
    ['$(echo sudo) id', 'program', /the program "\$\(echo sudo\)"/],
    ['`echo sudo` id', 'program', /the program/],
    ['/bin/su* id', 'program', /the program "\/bin\/su\*"/],
    ['s?do id', 'program', /the program/],
    ['eval "$X"', 'program', /eval runs text/],
    ['source ./x.sh', 'program', /source runs the commands in the file/],
    ['. ./x.sh', 'program', /\. runs the commands in the file/],
    ['alias ls=sudo', 'program', /alias definitions/],
    ['hash -p /usr/bin/sudo ls', 'program', /hash -p/],
    ['enable -f ./x.so x', 'program', /enable -f/],
    ['env -S "sudo id"', 'program', /env -S/],
    ['nice --frobnicate sudo id', 'program', /not one this parser knows/],
    ['env $OPTS sudo id', 'program', /cannot tell/],
    ['sudo $X', 'program', /cannot tell where its command starts/],
    ['find . -exec sudo id', 'program', /no terminating/],
    ['BASH_ENV=/tmp/x bash -c true', 'program', /BASH_ENV/],
    ['env BASH_FUNC_ls%%="() { sudo id; }" bash -c ls', 'program', /BASH_FUNC_ls%%/],
    ['export SHELLOPTS=xtrace PS4=x', 'program', /SHELLOPTS/],
    ['echo "unterminated', 'program', /cannot be read to its end \(unterminated " quote\)/],
    ['echo $(', 'program', /cannot be read/],
    ['if true; then echo', 'program', /cannot be read/],
    ['{ echo }', 'program', /cannot be read/],
    ['a | | b', 'program', /cannot be read/],
    ["x='a[$(sudo id)]'; echo $((x))", 'program', /bash may run later/],
    ["export X='`sudo id`'", 'program', /bash may run later/],
    ['{fd}>/dev/null sudo id', 'other', /sh runs "\{fd\}" as a program/],
    ['LD_PRELOAD=/x.so ls', 'other', /LD_PRELOAD/],
    ['env NODE_OPTIONS=--require=x node a.js', 'other', /NODE_OPTIONS/],
  ])('%j: %s (%s)', (line, kind, reason) => {
    expect(problems(line)).toContainEqual({ kind, reason: expect.stringMatching(reason) });
  });

  it('still lists the commands before a syntax error (sh would have run them)', () => {
    expect(programs('sudo id\n)')).toEqual(['sudo', 'id']);
    expect(problems('sudo id\n)')).toHaveLength(1);
  });

  it('bounds nesting, brace expansion and the number of commands', () => {
    const deep = `${'$('.repeat(100)}id${')'.repeat(100)}`;
    expect(problems(deep)).toEqual([{ kind: 'program', reason: expect.stringMatching(/cannot be read|nested/) }]);
    // Shells reading shells from here-documents: a script in a script, 20 deep, without quoting growing.
    let shells = 'sudo id\n';
    for (let i = 0; i < 20; i++) shells = `sh <<'E${i}'\n${shells}E${i}\n`;
    expect(problems(shells)).toContainEqual({ kind: 'program', reason: expect.stringMatching(/nested more than 16/) });
    expect(problems(`${'nice '.repeat(20)}sudo id`)).toContainEqual({
      kind: 'program',
      reason: expect.stringMatching(/wrapped more than 16/),
    });
    const braces = '{'.repeat(5000);
    expect(() => analyseCommandLine(braces)).not.toThrow();
    expect(problems(`${'a;'.repeat(5000)}`)).toContainEqual({ kind: 'program', reason: expect.stringMatching(/more than 4096 commands/) });
  });

  it('never throws on arbitrary text', () => {
    const samples = [
      '',
      ' ',
      ';',
      '&&',
      '(',
      ')',
      '|',
      '<',
      '<<',
      '$',
      '`',
      '"',
      "'",
      '\\',
      '${',
      '$((',
      '<(',
      'case',
      'esac',
      'for',
      'in',
      '{',
      '}',
      '[[',
      '((',
      'a',
      '\n',
      '#',
      '=',
      "$'",
      '\0',
    ];
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let k = 0; k < 1 + (i % 12); k++) text += samples[(i * 7 + k * 13 + (i >> 3)) % samples.length];
      expect(() => analyseCommandLine(text), text).not.toThrow();
    }
  });
});
