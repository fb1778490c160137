/** The bwrap argv, checked flag by flag (the real behaviour is in sandbox.test.ts). */
import { describe, expect, it } from 'vitest';
import { type Bubblewrap, bubblewrapArgv, bubblewrapProtections, findBubblewrap } from '../../src/sandbox/bubblewrap.js';
import { joinCgroupsArgv } from '../../src/sandbox/cgroups.js';
import { rlimitPlan } from '../../src/sandbox/rlimits.js';

const BWRAP: Bubblewrap = { path: '/usr/bin/bwrap', version: '0.8.0', disableUserns: true };
const base = { command: '/usr/bin/python3', args: ['-u', '/srv/agents/a.py', '/run/agentos.sock'], cwd: '/srv/agents', network: false };

/** The value after each occurrence of `flag` (or pairs for two-argument flags). */
function operands(argv: string[], flag: string, count = 1): string[][] {
  const out: string[][] = [];
  argv.forEach((word, index) => {
    if (word === flag) out.push(argv.slice(index + 1, index + 1 + count));
  });
  return out;
}

describe('bubblewrapArgv', () => {
  it('isolates by default: no network, own pid namespace, no capabilities, new session, dies with the kernel', () => {
    const argv = bubblewrapArgv({ ...base, socketPath: '/run/agentos.sock' }, BWRAP);
    expect(argv[0]).toBe('/usr/bin/bwrap');
    for (const flag of ['--unshare-net', '--unshare-pid', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session']) {
      expect(argv).toContain(flag);
    }
    expect(operands(argv, '--cap-drop')).toEqual([['ALL']]);
    expect(operands(argv, '--tmpfs')).toEqual([['/tmp']]);
    expect(operands(argv, '--chdir')).toEqual([['/srv/agents']]);
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual([base.command, ...base.args]);
  });

  it('shares the network only when asked', () => {
    expect(bubblewrapArgv({ ...base, network: true }, BWRAP)).not.toContain('--unshare-net');
  });

  it('binds the system read-only, the kernel socket at its own path, and user paths parent-first after the private /tmp', () => {
    const argv = bubblewrapArgv(
      {
        ...base,
        cwd: '/tmp/work',
        socketPath: '/tmp/agentos.sock',
        scriptPath: '/srv/agents/a.py',
        writablePaths: ['/tmp/work/out/deep', '/tmp/work'],
        readablePaths: ['/tmp/work/out'],
      },
      BWRAP,
    );
    expect(operands(argv, '--ro-bind', 2)).toEqual(
      expect.arrayContaining([
        ['/usr', '/usr'],
        ['/etc', '/etc'],
        ['/tmp/agentos.sock', '/tmp/agentos.sock'],
        ['/srv/agents', '/srv/agents'],
        ['/tmp/work/out', '/tmp/work/out'],
      ]),
    );
    expect(operands(argv, '--ro-bind-try', 2)).toEqual(expect.arrayContaining([['/lib64', '/lib64']]));
    const position = (path: string) =>
      argv.findIndex((word, i) => (word === '--bind' || word === '--ro-bind') && argv[i + 1] === path && argv[i + 2] === path);
    expect(position('/tmp/work')).toBeGreaterThan(argv.indexOf('--tmpfs'));
    expect(position('/tmp/agentos.sock')).toBeGreaterThan(argv.indexOf('--tmpfs'));
    expect(position('/tmp/work')).toBeLessThan(position('/tmp/work/out'));
    expect(position('/tmp/work/out')).toBeLessThan(position('/tmp/work/out/deep'));
    expect(operands(argv, '--bind', 2)).toEqual([
      ['/tmp/work', '/tmp/work'],
      ['/tmp/work/out/deep', '/tmp/work/out/deep'],
    ]);
    // cwd is inside a writable path: not bound a second time.
    expect(operands(argv, '--ro-bind', 2)).not.toContainEqual(['/tmp/work', '/tmp/work']);
    expect(operands(argv, '--remount-ro')).toEqual([['/']]);
  });

  it('makes an otherwise invisible cwd readable, but never binds / or the host /tmp for it', () => {
    expect(operands(bubblewrapArgv({ ...base, cwd: '/srv/agents' }, BWRAP), '--ro-bind', 2)).toContainEqual(['/srv/agents', '/srv/agents']);
    for (const cwd of ['/', '/tmp', '/usr/lib']) {
      const binds = operands(bubblewrapArgv({ ...base, cwd }, BWRAP), '--ro-bind', 2);
      expect(binds).not.toContainEqual([cwd, cwd]);
    }
  });

  it('covers masked files with /dev/null and directories with a tmpfs, and refuses relative paths or the whole root', () => {
    const argv = bubblewrapArgv({ ...base, masks: [{ path: '/etc/shadow', directory: false }] }, BWRAP);
    expect(operands(argv, '--ro-bind', 2)).toContainEqual(['/dev/null', '/etc/shadow']);
    const dir = bubblewrapArgv({ ...base, masks: [{ path: '/srv/agents/data', directory: true }] }, BWRAP);
    expect(operands(dir, '--tmpfs')).toEqual([['/tmp'], ['/srv/agents/data']]);
    expect(() => bubblewrapArgv({ ...base, masks: [{ path: 'data', directory: true }] }, BWRAP)).toThrow(/must be absolute/);
    expect(() => bubblewrapArgv({ ...base, writablePaths: ['out'] }, BWRAP)).toThrow('writable path must be absolute, got "out"');
    expect(() => bubblewrapArgv({ ...base, readablePaths: ['/'] }, BWRAP)).toThrow(/would expose the whole host/);
  });

  it('mounts the masks after every bind (a later bind of a parent would uncover them), before the root turns read-only', () => {
    const argv = bubblewrapArgv(
      {
        ...base,
        cwd: '/home/u/work',
        scriptPath: '/home/u/work/a.py',
        writablePaths: ['/home/u/work/out', '/home/u'],
        masks: [
          { path: '/home/u/.agentos/data', directory: true },
          { path: '/etc/shadow', directory: false },
          { path: '/home/u/.agentos/data/admin.token', directory: false },
        ],
      },
      BWRAP,
    );
    const lastBind = Math.max(
      ...['--bind', '--ro-bind', '--ro-bind-try'].map((flag) => argv.lastIndexOf(flag)).filter((i) => argv[i + 1] !== '/dev/null'),
    );
    const dataMask = argv.findIndex((word, i) => word === '--tmpfs' && argv[i + 1] === '/home/u/.agentos/data');
    const shadowMask = argv.findIndex((word, i) => word === '--ro-bind' && argv[i + 1] === '/dev/null' && argv[i + 2] === '/etc/shadow');
    expect(dataMask).toBeGreaterThan(lastBind);
    expect(shadowMask).toBeGreaterThan(lastBind);
    expect(Math.max(dataMask, shadowMask)).toBeLessThan(argv.indexOf('--remount-ro'));
    // A mask inside a masked directory is redundant: the directory's tmpfs already covers it.
    expect(argv).not.toContain('/home/u/.agentos/data/admin.token');
  });

  it('keeps the kernel socket reachable under a masked directory, and never masks the socket itself', () => {
    const socketPath = '/home/u/.agentos/data/agentos.sock';
    const argv = bubblewrapArgv(
      {
        ...base,
        socketPath,
        masks: [
          { path: '/home/u/.agentos/data', directory: true },
          { path: socketPath, directory: false },
        ],
      },
      BWRAP,
    );
    const mask = argv.findIndex((word, i) => word === '--tmpfs' && argv[i + 1] === '/home/u/.agentos/data');
    const rebind = argv.findLastIndex((word, i) => word === '--ro-bind' && argv[i + 1] === socketPath);
    expect(rebind).toBeGreaterThan(mask);
    expect(operands(argv, '--ro-bind', 2)).not.toContainEqual(['/dev/null', socketPath]);
    expect(operands(bubblewrapArgv({ ...base, socketPath }, BWRAP), '--ro-bind', 2).filter(([from]) => from === socketPath)).toHaveLength(
      1,
    );
  });

  it('leaves --disable-userns out for a bwrap older than 0.8', () => {
    expect(bubblewrapArgv(base, { ...BWRAP, version: '0.7.0', disableUserns: false })).not.toContain('--disable-userns');
  });

  it('never puts the environment in the argv', () => {
    const argv = bubblewrapArgv(base, BWRAP);
    expect(argv.some((word) => word.startsWith('--setenv') || word === '--clearenv')).toBe(false);
  });

  it('lists its protections for the report', () => {
    const lines = bubblewrapProtections(
      { network: false, writablePaths: ['/srv/out'], masks: [{ path: '/etc/shadow', directory: false }] },
      BWRAP,
    );
    expect(lines).toEqual(
      expect.arrayContaining(['bubblewrap 0.8.0', 'private /tmp', 'no network', 'writable: /srv/out', 'hidden: /etc/shadow']),
    );
    expect(bubblewrapProtections({ network: true }, BWRAP)).not.toContain('no network');
  });
});

describe('findBubblewrap', () => {
  it('reports a missing bwrap as not installed, with the refusal sentence', async () => {
    const lookup = await findBubblewrap({ path: '/nonexistent/bwrap' });
    expect(lookup).toMatchObject({ ok: false, installed: false, problem: 'bubblewrap (bwrap) is not installed' });
  });

  it('caches the lookup per path', () => {
    expect(findBubblewrap({ path: '/nonexistent/bwrap' })).toBe(findBubblewrap({ path: '/nonexistent/bwrap' }));
  });
});

describe('launch layering', () => {
  it('joins the cgroups with a constant script, every value passed as an argument', () => {
    const argv = joinCgroupsArgv(['/sys/fs/cgroup/pids/agentos/a.1.1'], '/usr/bin/bwrap', ['--', 'x; rm -rf /']);
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).not.toContain('agentos/a.1.1');
    expect(argv.slice(3)).toEqual([
      'agentos-cgroup-join',
      '/sys/fs/cgroup/pids/agentos/a.1.1/cgroup.procs',
      '--',
      '/usr/bin/bwrap',
      '--',
      'x; rm -rf /',
    ]);
    expect(joinCgroupsArgv([], 'cmd', ['a'])).toEqual(['cmd', 'a']);
  });

  it('prefixes prlimit only for limits an rlimit can express', () => {
    const plan = rlimitPlan(
      [
        ['memory_bytes', 1 << 26],
        ['max_pids', 5],
        ['cpu_percent', 20],
      ],
      '/usr/bin/prlimit',
      1000,
    );
    expect(plan.prefix).toEqual(['/usr/bin/prlimit', `--as=${1 << 26}`, '--nproc=5', '--']);
    expect(plan.appliedLimits).toEqual(['memory_bytes', 'max_pids']);
    expect(plan.notApplied.map((entry) => entry.what)).toEqual(['cpu_percent']);
    expect(rlimitPlan([['max_pids', 5]], '/usr/bin/prlimit', 0).prefix).toEqual([]);
  });
});
