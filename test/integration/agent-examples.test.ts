/**
 * examples/agents/run.ts end to end: a private kernel runs an in-kernel XState agent, a
 * worker-thread agent, a one_for_all subtree with a crashing child, a Python process
 * agent spawned from Python, and a Node process agent using the SDK; then exits 0.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/agents/run.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/agents/run.ts', () => {
  it('runs every kind of agent and reports what happened', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const line = (prefix: string) => lines.filter((l) => l.startsWith(prefix));

    expect(lines[0]).toMatch(/^kernel ready on \/.+\/agentos\.sock$/);
    expect(line('[actor]')).toEqual([
      expect.stringMatching(/^\[actor\] spawned agent \d+ "clock" \(XState logic in the kernel\)$/),
      expect.stringMatching(/^\[actor\] it wrote: agent \d+ runs on Linux; exit: normal$/),
    ]);
    expect(line('[worker]')).toEqual([
      expect.stringMatching(/^\[worker\] spawned agent \d+ "indexer" \(a worker thread\)$/),
      expect.stringMatching(/^\[worker\] it indexed examples\/agents: \d+ files; exit: normal$/),
    ]);
    expect(line('[subtree]')).toEqual([
      expect.stringMatching(/^\[subtree\] supervisor agent \d+ "pipeline" \(one_for_all\) with children store, flaky$/),
      // one_for_all: flaky's crash stops store (shutdown); both restart, in order.
      '[subtree] store started, flaky started, flaky exited (crash), store exited (shutdown), store restarting, flaky restarting, store started, flaky started',
      // Stopped in reverse order.
      '[subtree] stopped: flaky exited (shutdown), store exited (shutdown)',
    ]);
    // The tree printed while the subtree ran: nested under agents, with strategies and restarts.
    expect(stdout).toMatch(/agent-\d+ \(pipeline\)\s+supervisor:one_for_all\s+\d+\s+running/);
    expect(stdout).toMatch(/store \(pipeline\.store\)\s+actor\s+\d+\s+running\s+1/);
    expect(stdout).toMatch(/flaky \(pipeline\.flaky\)\s+actor\s+\d+\s+running\s+1/);
    expect(line('[python]')).toEqual([
      expect.stringMatching(/^\[python\] spawn\.py sent SPAWN: agent (\d+) "py-agent", pid \d+, restart_policy on-failure$/),
      expect.stringMatching(/^\[python\] agent \d+ \(py-agent\) said: hello from python; exit: normal \(code 0\)$/),
    ]);
    // The Python agent's connection is the spawned agent itself (its token bound them).
    const spawnedId = /agent (\d+) "py-agent"/.exec(stdout)?.[1];
    expect(stdout).toContain(`agent ${spawnedId} (py-agent) said`);
    expect(line('[node]')).toEqual([
      expect.stringMatching(/^\[node\] SPAWN through the SDK: agent \d+ "node-agent", pid \d+$/),
      expect.stringMatching(/^\[node\] agent \d+ \(node-agent\) runs node v\d+\.\d+\.\d+; exit: normal \(code 0\)$/),
    ]);
    expect(lines.at(-2)).toBe('done: 5 example(s), 0 agent(s) left running');
  });

  it('runs a chosen example alone and refuses an unknown one', async () => {
    const one = await run(['actor']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/\[actor\] it wrote: agent \d+ runs on Linux; exit: normal\ndone: 1 example\(s\)/);
    const bad = await run(['nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown example\(s\): nope/);
  });
});
