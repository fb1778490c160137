import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const ROOT = join(import.meta.dirname, '..', '..');

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('README examples', () => {
  let kernel: TestKernel;
  beforeAll(async () => {
    kernel = await startTestKernel();
  });
  afterAll(async () => {
    await kernel.cleanup();
  });

  it('the TypeScript agent runs a command and writes a file', async () => {
    const target = join(kernel.dir, 'hello.txt');
    const result = await run(process.execPath, ['--import', 'tsx', 'examples/hello-agent.ts', target], {
      AGENTOS_SOCKET: kernel.socketPath,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`wrote ${target}\n`);
    expect(await readFile(target, 'utf8')).toMatch(/^agent \d+ saw Linux /);
  });

  it('the Python agent speaks the original wire format', async () => {
    const result = await run('python3', ['examples/hello_agent.py'], { AGENTOS_SOCKET: kernel.socketPath });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('hello from python\n');
  });
});
