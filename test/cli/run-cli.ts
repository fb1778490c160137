/**
 * `agentos ...args` run from the TypeScript sources (so a stale dist/ cannot answer), in a
 * child process with no socket, token or data dir inherited from outside.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Killed (SIGKILL) past this; default 30 s. */
  timeoutMs?: number;
  /** The output so far, each time it grows. */
  onStdout?: (text: string, child: ChildProcess) => void;
  onStderr?: (text: string, child: ChildProcess) => void;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const argv = JSON.stringify(['node', 'agentos', ...args]);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AGENTOS_SOCKET;
  delete env.AGENTOS_AGENT_TOKEN;
  delete env.AGENTOS_DATA_DIR;
  const child = spawn(process.execPath, ['--import', TSX, '-e', `import(${JSON.stringify(MAIN)}).then((m) => m.main(${argv}))`], {
    cwd: options.cwd ?? ROOT,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    options.onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onStderr?.(stderr, child);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((done) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
