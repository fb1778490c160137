/** Child processes for the orchestrator: spawn (never through a shell), lines, IPC, /proc. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { EldReading, MemReading } from './eld-channel.js';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** `node [nodeFlags] --import tsx bench/<script> ...args`, with an IPC channel when asked. */
export function spawnTs(
  script: string,
  args: string[],
  options: { ipc?: boolean; stdin?: boolean; nodeFlags?: string[] } = {},
): ChildProcess {
  return spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', `${BENCH_DIR}${script}`, ...args], {
    cwd: ROOT_DIR,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
}

/** `python3 -u bench/<script> ...args` (a Python load generator), stdout and stderr piped. */
export function spawnPython(script: string, args: string[]): ChildProcess {
  return spawn('python3', ['-u', `${BENCH_DIR}${script}`, ...args], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Calls `onLine` for each stdout line; collects stderr for error messages. */
export function watchLines(child: ChildProcess, onLine: (line: string) => void): { stderr: () => string } {
  let rest = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    rest += text;
    let newline = rest.indexOf('\n');
    while (newline >= 0) {
      onLine(rest.slice(0, newline));
      rest = rest.slice(newline + 1);
      newline = rest.indexOf('\n');
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    err = (err + text).slice(-4000);
  });
  return { stderr: () => err };
}

/** Resolves with the first stdout line matching `test`, rejects if the child exits first. */
export function waitForLine(child: ChildProcess, test: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const watch = watchLines(child, (line) => {
      if (test(line)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line);
      }
    });
    const onExit = (code: number | null) => reject(new Error(`process exited (${code}) before it was ready: ${watch.stderr()}`));
    child.once('exit', onExit);
    const timer = setTimeout(() => reject(new Error(`no ready line after ${timeoutMs} ms: ${watch.stderr()}`)), timeoutMs);
  });
}

/**
 * Run a client script to completion: its last JSON line is the result; `onPhase` sees
 * the `{"phase":...}` lines it prints on the way. With `stdin`, a phase the client asks
 * about (lib/agnt.ts ask()) is answered on its stdin with what `onPhase` resolves to.
 * With `python`, the script is a Python one (spawnPython), speaking the same lines.
 */
export function runClient<T>(
  script: string,
  args: string[],
  onPhase?: (phase: string, clientCpuMs: number) => unknown,
  options: { stdin?: boolean; nodeFlags?: string[]; python?: boolean } = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = options.python ? spawnPython(script, args) : spawnTs(script, args, options);
    let last: T | undefined;
    let failed: Error | undefined;
    const watch = watchLines(child, (line) => {
      if (!line.startsWith('{')) return;
      const value = JSON.parse(line) as { phase?: string; cpu_ms?: number };
      if (value.phase === undefined) {
        last = value as T;
        return;
      }
      const answer = onPhase?.(value.phase, value.cpu_ms ?? Number.NaN);
      // undefined: a phase the client only announces (phase()), not one it waits on (ask()).
      if (options.stdin && answer !== undefined) {
        Promise.resolve(answer).then(
          (v) => child.stdin?.write(`${JSON.stringify(v ?? null)}\n`),
          (error: unknown) => {
            failed = error instanceof Error ? error : new Error(String(error));
            child.kill('SIGTERM');
          },
        );
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (failed) reject(failed);
      else if (code === 0 && last !== undefined) resolve(last);
      else reject(new Error(`${script} exited with ${code}: ${watch.stderr()}`));
    });
  });
}

/** VmRSS of a process, in MB (from /proc/PID/status). */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Math.round((Number(match[1]) / 1024) * 10) / 10;
}

/** A measured server (floor or kernel host) and its side channel. */
export class Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly socketPath: string;
  #nextId = 1;
  readonly #waiting = new Map<number, (value: unknown) => void>();

  private constructor(name: string, child: ChildProcess, socketPath: string) {
    this.name = name;
    this.child = child;
    this.socketPath = socketPath;
    child.on('message', (message: { id: number; value: unknown }) => {
      this.#waiting.get(message.id)?.(message.value);
      this.#waiting.delete(message.id);
    });
  }

  static async start(name: string, script: string, args: string[], socketPath: string, nodeFlags: string[] = []): Promise<Server> {
    const child = spawnTs(script, args, { ipc: true, nodeFlags });
    await waitForLine(child, (line) => line.includes('ready socket='));
    return new Server(name, child, socketPath);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  #request<T>(cmd: string, arg?: unknown): Promise<T> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve as (value: unknown) => void);
      this.child.send({ id, cmd, arg });
    });
  }

  /** A command of the server's own (see installSideChannel's `commands`). */
  request<T>(cmd: string, arg?: unknown): Promise<T> {
    return this.#request(cmd, arg);
  }

  eldReset(): Promise<boolean> {
    return this.#request('eld.reset');
  }

  eldRead(): Promise<EldReading> {
    return this.#request('eld.read');
  }

  mem(): Promise<MemReading> {
    return this.#request('mem');
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    this.child.send({ id: this.#nextId++, cmd: 'stop' });
    await exited;
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
