/**
 * cgroup detection from mountinfo and /proc/self/cgroup texts (hybrid, pure v2, a
 * container's subtree), and the v2 code path against a fake hierarchy in a temp dir,
 * since this machine's v2 mount offers no controllers.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCgroups, parseMountinfo, parseProcCgroup, unavailableReason } from '../../src/sandbox/cgroup-detect.js';
import { cpuQuota, createAgentCgroup } from '../../src/sandbox/cgroups.js';

// As on this project's machines: v1 controllers plus a `unified` v2 mount.
const HYBRID_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_CGROUP = ['9:name=systemd:/', '8:pids:/', '4:memory:/process_api/abc', '1:cpu:/', '0::/'].join('\n');

describe('parsing', () => {
  it('finds cgroup mounts with their controllers and unescapes paths', () => {
    const mounts = parseMountinfo(`${HYBRID_MOUNTINFO}\n50 31 0:40 / /mnt/with\\040space rw - cgroup cgroup rw,cpu,cpuacct`);
    expect(mounts).toHaveLength(7);
    expect(mounts[0]).toEqual({ mountPoint: '/sys/fs/cgroup/cpu', root: '/', fstype: 'cgroup', options: ['rw', 'cpu'] });
    expect(mounts[5]).toMatchObject({ mountPoint: '/sys/fs/cgroup/unified', fstype: 'cgroup2' });
    expect(mounts[6]).toMatchObject({ mountPoint: '/mnt/with space', options: ['rw', 'cpu', 'cpuacct'] });
  });

  it('reads /proc/self/cgroup lines', () => {
    expect(parseProcCgroup('4:memory:/a/b\n1:cpu,cpuacct:/\n0::/x\n')).toEqual([
      { id: '4', controllers: ['memory'], path: '/a/b' },
      { id: '1', controllers: ['cpu', 'cpuacct'], path: '/' },
      { id: '0', controllers: [], path: '/x' },
    ]);
  });
});

describe('detectCgroups', () => {
  it('hybrid: each controller from its v1 hierarchy, under the kernel own group; v2 noted with what it offers', async () => {
    const support = await detectCgroups({
      mountinfo: HYBRID_MOUNTINFO,
      procCgroup: HYBRID_CGROUP,
      readControllers: async () => 'hugetlb\n',
    });
    expect(support.v1).toEqual({ memory: '/sys/fs/cgroup/memory/process_api/abc', pids: '/sys/fs/cgroup/pids', cpu: '/sys/fs/cgroup/cpu' });
    expect(support.v2).toEqual({ dir: '/sys/fs/cgroup/unified', mountPoint: '/sys/fs/cgroup/unified', controllers: ['hugetlb'] });
  });

  it('pure v2: the kernel own group and its controllers', async () => {
    const support = await detectCgroups({
      mountinfo: '25 21 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate',
      procCgroup: '0::/system.slice/agentos.service\n',
      readControllers: async (dir) => (dir === '/sys/fs/cgroup/system.slice/agentos.service' ? 'cpu io memory pids' : ''),
    });
    expect(support.v1).toEqual({});
    expect(support.v2).toMatchObject({ dir: '/sys/fs/cgroup/system.slice/agentos.service', controllers: ['cpu', 'io', 'memory', 'pids'] });
  });

  it('a container whose mount shows only its own subtree', async () => {
    const support = await detectCgroups({
      mountinfo: '60 50 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory',
      procCgroup: '4:memory:/docker/abc/inner\n',
      readControllers: async () => '',
    });
    expect(support.v1.memory).toBe('/sys/fs/cgroup/memory/inner');
  });

  it('nothing mounted: nothing found, and a reason to report', async () => {
    const support = await detectCgroups({ mountinfo: '', procCgroup: '', readControllers: async () => '' });
    expect(support).toEqual({ v2: null, v1: {} });
    expect(unavailableReason(support, 'cpu')).toBe(
      'no cgroup cpu controller: no cgroup v2 hierarchy is mounted and no cgroup v1 hierarchy mounts it',
    );
  });

  it('reads this machine without throwing', async () => {
    const support = await detectCgroups();
    expect(support).toHaveProperty('v1');
  });
});

describe('a v2 agent group (fake hierarchy)', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('enables the controllers level by level and writes memory.max, pids.max and cpu.max', async () => {
    root = await mkdtemp(join(tmpdir(), 'agentos-fake-cgroup-'));
    await writeFile(join(root, 'cgroup.controllers'), 'cpu memory pids');
    await writeFile(join(root, 'cgroup.subtree_control'), '');
    const support = { v2: { dir: root, mountPoint: root, controllers: ['cpu', 'memory', 'pids'] }, v1: {} };
    const group = await createAgentCgroup('fake/agent', { memory_bytes: 2 ** 26, max_pids: 9, cpu_percent: 25 }, { support });
    expect(group.notApplied).toEqual([]);
    expect(group.applied).toEqual([
      'memory_bytes=67108864 via cgroup v2 memory.max (swap.max=0)',
      'max_pids=9 via cgroup v2 pids.max',
      'cpu_percent=25 via cgroup v2 cpu.max',
    ]);
    expect(group.dirs).toHaveLength(1);
    const dir = group.dirs[0]!;
    expect(dir).toMatch(new RegExp(`^${root}/agentos/fake_agent\\.${process.pid}\\.\\d+$`));
    expect(await readFile(join(dir, 'memory.max'), 'utf8')).toBe('67108864');
    expect(await readFile(join(dir, 'pids.max'), 'utf8')).toBe('9');
    expect(await readFile(join(dir, 'cpu.max'), 'utf8')).toBe('25000 100000');
    // A real cgroup.subtree_control accumulates "+x" writes; the fake keeps the last one.
    expect(await readFile(join(root, 'agentos', 'cgroup.subtree_control'), 'utf8')).toMatch(/^\+(cpu|memory|pids)$/);
  });

  it('falls back to v1 for a controller v2 does not offer, and reports one that no hierarchy has', async () => {
    root = await mkdtemp(join(tmpdir(), 'agentos-fake-cgroup-'));
    const v2 = join(root, 'unified');
    const v1pids = join(root, 'pids');
    await mkdir(v2);
    await mkdir(v1pids);
    const support = { v2: { dir: v2, mountPoint: v2, controllers: ['memory'] }, v1: { pids: v1pids } };
    const group = await createAgentCgroup('mixed', { memory_bytes: 2 ** 26, max_pids: 9, cpu_percent: 25 }, { support });
    expect(group.applied).toEqual(['memory_bytes=67108864 via cgroup v2 memory.max (swap.max=0)', 'max_pids=9 via cgroup v1 pids.max']);
    expect(group.notApplied).toEqual([
      {
        what: 'cpu_percent',
        why: `no cgroup cpu controller: cgroup v2 at ${v2} does not offer it (cgroup.controllers: memory) and no cgroup v1 hierarchy mounts it`,
      },
    ]);
    expect(group.dirs).toHaveLength(2);
  });

  it('converts a CPU percentage to a quota of at least 1 ms', () => {
    expect(cpuQuota(50, 100_000)).toBe(50_000);
    expect(cpuQuota(250, 100_000)).toBe(250_000);
    expect(cpuQuota(1, 50_000)).toBe(1000);
  });
});
