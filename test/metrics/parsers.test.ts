/**
 * The /proc and cgroup text parsers, on real lines (and awkward ones), plus one real
 * reading of this test process's own tree.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cgroupDirs, ownDirs, parseFlatKeyed } from '../../src/metrics/cgroup.js';
import { parseChildren, parseStat, parseStatusRss, sampleTree } from '../../src/metrics/procfs.js';
import { parseMeminfo, parseNetDev, parseProcStatCpu } from '../../src/metrics/system.js';
import { parseMountinfo } from '../../src/sandbox/cgroup-detect.js';
import { until } from '../agents/support.js';

describe('procfs', () => {
  it('parseStat counts fields from the last ")", so a command name with spaces and parentheses is harmless', () => {
    const line = '4242 (evil) name (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 10 5 20 0 1 0 123 456 789 18446744073709551615';
    expect(parseStat(line)).toEqual({ pid: 4242, state: 'S', ppid: 1, pgrp: 4242, utime: 250, stime: 75, cutime: 10, cstime: 5 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('parseStatusRss reads VmRSS in bytes, 0 when absent', () => {
    expect(parseStatusRss('Name:\tnode\nVmRSS:\t   12345 kB\nThreads: 7\n')).toBe(12345 * 1024);
    expect(parseStatusRss('Name:\tkthreadd\n')).toBe(0);
  });

  it('parseChildren splits the children file', () => {
    expect(parseChildren('12 345 6789 ')).toEqual([12, 345, 6789]);
    expect(parseChildren('')).toEqual([]);
  });

  it('sampleTree finds a real child and its memory and CPU time; undefined for a gone root', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const sample = await until(async () => {
        const s = await sampleTree(process.pid);
        return s?.pids.includes(child.pid as number) ? s : undefined;
      }, 'the child to be in the tree');
      expect(sample.pids[0]).toBe(process.pid);
      expect(sample.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(sample.cpuTimeMs).toBeGreaterThan(0);
      expect(sample.stopped).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await sampleTree(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('system', () => {
  it('parseProcStatCpu sums the aggregate line (idle = idle + iowait)', () => {
    const text = 'cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 50 2 25 400 10 0 1 1 0 0\nintr 1\n';
    expect(parseProcStatCpu(text)).toEqual({ total: 981, idle: 820 });
    expect(parseProcStatCpu('intr 1\n')).toBeUndefined();
  });

  it('parseMeminfo gives bytes', () => {
    const mem = parseMeminfo('MemTotal:       16000 kB\nMemAvailable:    8000 kB\nHugePages_Total:       0\n');
    expect(mem.get('MemTotal')).toBe(16000 * 1024);
    expect(mem.get('MemAvailable')).toBe(8000 * 1024);
    expect(mem.get('HugePages_Total')).toBe(0);
  });

  it('parseNetDev reads each interface after the two header lines', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 5000      50    1    0    0     0          0         0     7000      70    2    0    0     0       0          0
`;
    expect(parseNetDev(text)).toEqual([
      { name: 'lo', rx_bytes: 1000, rx_packets: 10, rx_errors: 0, tx_bytes: 1000, tx_packets: 10, tx_errors: 0 },
      { name: 'eth0', rx_bytes: 5000, rx_packets: 50, rx_errors: 1, tx_bytes: 7000, tx_packets: 70, tx_errors: 2 },
    ]);
  });
});

describe('cgroup', () => {
  const mountinfo = [
    '30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
    '31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
    '32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
    '33 25 0:29 /outer /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids',
  ].join('\n');
  const mounts = parseMountinfo(mountinfo);
  const kernelText = '0::/kernel\n4:memory:/kernel\n3:cpu,cpuacct:/\n2:pids:/outer/kernel\n';
  const agentText = '0::/kernel/agentos/a.1\n4:memory:/kernel/agentos/a.1\n3:cpu,cpuacct:/\n2:pids:/outer/kernel\n';

  it('cgroupDirs maps each hierarchy to its directory, a mount showing a subtree included', () => {
    expect(cgroupDirs(kernelText, mounts)).toEqual({
      v2: '/sys/fs/cgroup/unified/kernel',
      v1: {
        memory: '/sys/fs/cgroup/memory/kernel',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        pids: '/sys/fs/cgroup/pids/kernel',
      },
    });
  });

  it("ownDirs keeps only the groups that differ from the kernel's", () => {
    const kernel = cgroupDirs(kernelText, mounts);
    expect(ownDirs(cgroupDirs(agentText, mounts), kernel)).toEqual({
      v2: '/sys/fs/cgroup/unified/kernel/agentos/a.1',
      v1: { memory: '/sys/fs/cgroup/memory/kernel/agentos/a.1' },
    });
    expect(ownDirs(kernel, kernel)).toBeNull();
  });

  it('parseFlatKeyed reads cpu.stat style files', () => {
    expect([...parseFlatKeyed('usage_usec 100\nnr_throttled 2\nbogus\n')]).toEqual([
      ['usage_usec', 100],
      ['nr_throttled', 2],
    ]);
  });
});
