/**
 * Limits, really enforced: memory, pids and CPU through cgroups where this machine has
 * them, memory through RLIMIT_AS when cgroups are taken away, and reports that say
 * exactly which mechanism holds each limit.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/protocol/errors.js';
import { type CgroupSupport, createAgentCgroup, detectCgroups, findBubblewrap, prepareIsolation } from '../../src/sandbox/index.js';
import { findPrlimit } from '../../src/sandbox/rlimits.js';
import { node, request, run, sh } from './support.js';

const MIB = 1024 * 1024;
const support = await detectCgroups();
const isRoot = process.getuid?.() === 0;
const has = (controller: 'memory' | 'pids' | 'cpu') =>
  isRoot && (support.v1[controller] !== undefined || (support.v2?.controllers.includes(controller) ?? false));
const bwrap = (await findBubblewrap()).ok;
const prlimit = await findPrlimit();
const NO_CGROUPS: CgroupSupport = { v2: null, v1: {} };

/** Allocates and touches `mib` MiB in 1 MiB steps, then says so. */
const allocate = (mib: number) =>
  node(
    `const keep = []; for (let i = 0; i < ${mib}; i++) keep.push(Buffer.alloc(1 << 20, 1)); process.stdout.write(['allocated ${mib} MiB'].join(' ') + '\\n');`,
  );

describe.runIf(has('memory'))('memory_bytes through a cgroup', () => {
  it('kills a sandboxed agent that allocates past the limit, and not one under it', async () => {
    const over = await run({ ...allocate(256), sandboxed: bwrap, limits: { memory_bytes: 96 * MIB } });
    expect(over.stdout).not.toContain('allocated');
    // SIGKILL from the OOM killer: bwrap reports it as 128 + 9; without bwrap it is the signal.
    expect(over.code === 137 || over.signal === 'SIGKILL').toBe(true);
    expect(over.prepared.isolation.applied.some((line) => /^memory_bytes=100663296 via cgroup v[12] memory/.test(line))).toBe(true);

    const under = await run({ ...allocate(64), sandboxed: bwrap, limits: { memory_bytes: 512 * MIB } });
    expect(under.stdout).toContain('allocated 64 MiB');
    expect(under.code).toBe(0);
  });

  it('limits an agent that is not sandboxed too', async () => {
    const over = await run({ ...allocate(256), sandboxed: false, limits: { memory_bytes: 96 * MIB } });
    expect(over.stdout).not.toContain('allocated');
    expect(over.signal).toBe('SIGKILL');
    expect(over.prepared.isolation).toMatchObject({ sandboxed: false, mechanism: 'none', not_applied: [] });
  });
});

describe.runIf(has('pids') && bwrap)('max_pids through a cgroup', () => {
  // Bounded: at most 50 short sleeps, and the pid namespace ends them with the shell.
  const spawner = sh('for i in $(seq 50); do sleep 2 & done; echo all-started');

  it('stops a loop of 50 background sleeps at the limit', async () => {
    const limited = await run({ ...spawner, limits: { max_pids: 10 } });
    expect(limited.stdout).not.toContain('all-started');
    expect(limited.stderr).toMatch(/fork/i);
    expect(limited.prepared.isolation.applied).toEqual(
      expect.arrayContaining([expect.stringMatching(/^max_pids=10 via cgroup v[12] pids\.max$/)]),
    );

    const roomy = await run({ ...spawner, limits: { max_pids: 200 } });
    expect(roomy.stdout).toContain('all-started');
  });
});

describe.runIf(has('cpu') && bwrap)('cpu_percent through a cgroup', () => {
  it('holds a busy loop to about its share of one core', async () => {
    const busy = node(`const start = Date.now(), cpu0 = process.cpuUsage();
      while (Date.now() - start < 1500) {}
      const used = process.cpuUsage(cpu0), wall = Date.now() - start;
      process.stdout.write([((used.user + used.system) / 1000 / wall).toFixed(3)].join(' ') + '\\n');`);
    const result = await run({ ...busy, limits: { cpu_percent: 10 } });
    // One-sided on purpose: a loaded machine can only make the share smaller.
    expect(Number(result.stdout.trim())).toBeLessThan(0.5);
    expect(result.prepared.isolation.applied).toEqual(
      expect.arrayContaining([expect.stringMatching(/^cpu_percent=10 via cgroup v[12] cpu/)]),
    );
  });
});

describe.runIf(has('memory') && has('pids'))('the agent cgroup itself', () => {
  it('writes the limits it reports, holds the processes added to it, and says busy until they are gone', async () => {
    const group = await createAgentCgroup('cgroup-test', { memory_bytes: 64 * MIB, max_pids: 7 });
    expect(group.notApplied).toEqual([]);
    expect(group.appliedLimits).toEqual(['memory_bytes', 'max_pids']);
    const memoryDir = group.dirs.find((dir) => dir.includes('memory')) ?? group.dirs[0]!;
    const pidsDir = group.dirs.find((dir) => dir.includes('pids')) ?? group.dirs[0]!;
    const memoryFile = support.v2?.controllers.includes('memory') ? 'memory.max' : 'memory.limit_in_bytes';
    expect((await readFile(join(memoryDir, memoryFile), 'utf8')).trim()).toBe(String(64 * MIB));
    expect((await readFile(join(pidsDir, 'pids.max'), 'utf8')).trim()).toBe('7');

    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => sleeper.once('exit', resolve));
    await group.addPid(sleeper.pid!);
    const procs = await readFile(join(pidsDir, 'cgroup.procs'), 'utf8');
    expect(procs.split('\n')).toContain(String(sleeper.pid));

    const busy = await group.remove({ waitMs: 50 });
    expect(busy.removed).toBe(false);
    expect(busy.busy[0]!.pids).toContain(sleeper.pid);
    expect(busy.message).toMatch(/still holds processes/);

    sleeper.kill('SIGKILL');
    await exited;
    const removed = await group.remove();
    expect(removed).toMatchObject({ removed: true, busy: [] });
    for (const dir of group.dirs) await expect(readFile(join(dir, 'cgroup.procs'))).rejects.toThrow(/ENOENT/);
  });

  it('the launch joins its cgroup before the agent starts (no race with attach)', async () => {
    const result = await run({ ...sh('cat /proc/self/cgroup'), sandboxed: false, limits: { max_pids: 50 } });
    // The process reading its own cgroup is the agent itself, started after the join.
    expect(result.stdout).toMatch(/pids:\/.*agentos\/sandbox-test\.\d+\.\d+$|^0::\/.*agentos\/sandbox-test\.\d+\.\d+$/m);
  });
});

describe.runIf(prlimit !== null)('the rlimit fallback (cgroups taken away)', () => {
  it('applies memory_bytes as RLIMIT_AS and says what it could not apply, and why', async () => {
    const python = sh('/usr/bin/python3 -c "b = bytearray(256 << 20); print(\'allocated\')" 2>&1; echo "exit $?"');
    const result = await run(
      { ...python, sandboxed: bwrap, limits: { memory_bytes: 64 * MIB, max_pids: 10, cpu_percent: 50 } },
      { cgroups: NO_CGROUPS, uid: 0 },
    );
    expect(result.stdout).toContain('MemoryError');
    expect(result.stdout).not.toContain('allocated');
    const { applied, not_applied } = result.prepared.isolation;
    expect(applied).toContain(`memory_bytes=${64 * MIB} via rlimit RLIMIT_AS (address space of each process, not their total)`);
    expect(not_applied).toEqual([
      {
        what: 'max_pids',
        why: expect.stringMatching(
          /^no cgroup pids controller: no cgroup v2 hierarchy is mounted .*; rlimit fallback: RLIMIT_NPROC is not enforced for root$/,
        ),
      },
      { what: 'cpu_percent', why: expect.stringMatching(/^no cgroup cpu controller: .*; rlimit fallback: rlimits cannot cap a CPU share/) },
    ]);
    expect(result.prepared.args).toContain(`--as=${64 * MIB}`);
  });

  it('uses RLIMIT_NPROC for max_pids when the agent is not root', async () => {
    const prepared = await prepareIsolation(request({ sandboxed: false, limits: { max_pids: 10 } }), { cgroups: NO_CGROUPS, uid: 1000 });
    expect([prepared.command, ...prepared.args]).toEqual([prlimit, '--nproc=10', '--', '/bin/sh', '-c', 'true']);
    expect(prepared.isolation.applied).toEqual(['max_pids=10 via rlimit RLIMIT_NPROC (counts all processes of uid 1000)']);
  });

  it('reports every limit as not applied when prlimit is missing too', async () => {
    const prepared = await prepareIsolation(request({ sandboxed: false, limits: { memory_bytes: 64 * MIB } }), {
      cgroups: NO_CGROUPS,
      prlimitPath: '/nonexistent/prlimit',
    });
    expect(prepared.isolation.applied).toEqual([]);
    expect(prepared.isolation.not_applied).toEqual([
      { what: 'memory_bytes', why: expect.stringMatching(/rlimit fallback: prlimit \(util-linux\) is not installed$/) },
    ]);
    expect([prepared.command, ...prepared.args]).toEqual(['/bin/sh', '-c', 'true']);
  });
});

describe('limits validation', () => {
  it('refuses absurd limits as INVALID_REQUEST naming the field and what was expected', async () => {
    const attempt = prepareIsolation(request({ sandboxed: false, limits: { memory_bytes: 5 } }));
    await expect(attempt).rejects.toBeInstanceOf(KernelError);
    await expect(attempt).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'invalid SPAWN request: field "limits.memory_bytes": expected at least 1 MiB (1048576 bytes)',
      details: { field: 'limits.memory_bytes' },
    });
  });
});
