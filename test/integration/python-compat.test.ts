/**
 * Wire compatibility with agents written for the original kernel: the stdlib Python
 * client in test/python runs its fixed sequence of syscalls against a real kernel.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { agentIdOf, eventually, session } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = join(ROOT, 'test', 'python', 'compat_agent.py');

interface AgentResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runAgent(args: string[], env: NodeJS.ProcessEnv): Promise<AgentResult> {
  return new Promise((resolvePromise) => {
    execFile('python3', [AGENT, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The environment without a spawn token or socket from outside. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.AGENTOS_AGENT_TOKEN;
  delete env.AGENTOS_SOCKET;
  return env;
}

let kernel: TestKernel;
let workdir: string;

beforeAll(async () => {
  kernel = await startTestKernel({ httpPort: null });
  workdir = join(kernel.dir, 'py-work');
  mkdirSync(workdir);
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('Python compat agent', () => {
  it('passes every check and reports the agent id the kernel gave it', async () => {
    // Ids are handed out in order: the agent is the next connection after this one.
    const probe = await RawClient.connect(kernel.socketPath);
    const probeId = await agentIdOf(probe);
    probe.close();
    await eventually(() => session(kernel, probeId) === undefined, 'the probe connection to close');

    const result = await runAgent([kernel.socketPath, workdir], cleanEnv());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0] as string);
    expect(report.ok, report.error).toBe(true);
    expect(report.agent_id).toBe(probeId + 1);
    expect(report.checks).toBeGreaterThan(50);

    // Its WRITE reached the disk, and it said goodbye: its session is gone.
    expect(readFileSync(join(workdir, 'py.txt'), 'utf8')).toBe('from python');
    await eventually(() => session(kernel, report.agent_id) === undefined, 'the Python agent session to close');
  });

  it('reports failure as {"ok": false} when no kernel listens', async () => {
    const result = await runAgent([join(kernel.dir, 'nobody.sock'), workdir], cleanEnv());
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout.trim());
    expect(report.ok).toBe(false);
    expect(typeof report.error).toBe('string');
  });
});
