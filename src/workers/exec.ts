/**
 * EXEC inside a worker thread: `/bin/sh -c command` in its own process group, with
 * separate capped stdout and stderr, and a timeout that ends the whole group. With a
 * `sandbox`, the shell runs inside bubblewrap (exec-sandbox.ts); ending bwrap's group
 * ends the sandbox, whose processes die with it (--die-with-parent, its own pid namespace).
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { ExecResult } from '../protocol/schemas/process.js';
import { type CommandDenial, type CommandPolicy, checkCommandLine } from '../security/commands/index.js';
import { type ExecSandbox, sandboxedShellArgv } from './exec-sandbox.js';
import { failure, success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

export interface ExecTask {
  command: string;
  cwd: string;
  /** The child's entire environment: nothing is inherited. */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  killGraceMs: number;
  /** Run inside bubblewrap (the sandboxed level); absent: directly. */
  sandbox?: ExecSandbox | undefined;
  /**
   * A launch built by the caller (bwrap first) that runs `command`, instead of
   * `/bin/sh -c command` or `sandbox`: EXEC inside a world (src/worlds/exec-argv.ts).
   * The command rules still apply to `command` first.
   */
  argv?: readonly string[] | undefined;
  /**
   * The agent's command rules, checked here first (parsing a long command line is CPU
   * work the kernel's event loop should not do); a refused command starts nothing.
   */
  rules: { policy: CommandPolicy; home: string };
}

/** A refused command comes back as a value: error classes do not cross threads, and the reply names the rule. */
export type ExecAnswer = ExecResult | { denied: CommandDenial };

/** Bounded collector: keeps the first `limit` bytes and drains the rest. */
class OutputCap {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  truncated = false;
  constructor(readonly limit: number) {}
  add(chunk: Buffer): void {
    const room = this.limit - this.#kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (piece.length < chunk.length) this.truncated = true;
    this.#chunks.push(piece);
    this.#kept += piece.length;
  }
  text(): string {
    return Buffer.concat(this.#chunks, this.#kept).toString('utf8');
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

export async function exec({ input, cancelPort }: TaskEnvelope<ExecTask>): Promise<TaskOutcome<ExecAnswer>> {
  const denied = checkCommandLine(input.command, input.rules.policy, { home: input.rules.home, cwd: input.cwd });
  if (denied) {
    cancelPort.close();
    return success({ denied });
  }
  try {
    const info = await stat(input.cwd);
    if (!info.isDirectory()) return failure('INVALID_REQUEST', `cwd "${input.cwd}" is not a directory`);
  } catch {
    return failure('NOT_FOUND', `cwd "${input.cwd}" does not exist`);
  }

  let argv = input.argv ? [...input.argv] : ['/bin/sh', '-c', input.command];
  if (input.sandbox && !input.argv) {
    try {
      argv = await sandboxedShellArgv(input.sandbox, input.command, input.cwd);
    } catch (error) {
      return failure('INTERNAL', `could not prepare the sandbox: ${(error as Error).message}`);
    }
  }

  const started = performance.now();
  const stdout = new OutputCap(input.maxOutputBytes);
  const stderr = new OutputCap(input.maxOutputBytes);
  // detached: the shell (or bwrap) leads a new process group, so a timeout can end every process it started.
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: input.cwd,
    env: input.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));

  let timedOut = false;
  let ending: NodeJS.Timeout | undefined;
  let forced: NodeJS.Timeout | undefined;
  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  const end = () => {
    if (ending) return;
    killGroup('SIGTERM');
    ending = setTimeout(() => {
      killGroup('SIGKILL');
      // A process that left the group (setsid) may hold the pipes open: stop waiting for it.
      forced = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000);
    }, input.killGraceMs);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    end();
  }, input.timeoutMs);
  cancelPort.on('message', end);

  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    return success({
      stdout: stdout.text(),
      stderr: stderr.text(),
      exit_code: code ?? (signal ? 128 + signalNumber(signal) : -1),
      signal,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      timed_out: timedOut,
      truncated: stdout.truncated || stderr.truncated,
    });
  } catch (error) {
    return failure('INTERNAL', `could not start ${argv[0]}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
    clearTimeout(ending);
    clearTimeout(forced);
    cancelPort.close();
  }
}
