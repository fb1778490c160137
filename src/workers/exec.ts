/**
 * EXEC inside a worker thread: `/bin/sh -c command` in its own process group, with
 * separate capped stdout and stderr, and a timeout that ends the whole group.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { ExecResult } from '../protocol/schemas/process.js';
import { failure, success, type TaskEnvelope, type TaskOutcome } from './outcome.js';

export interface ExecTask {
  command: string;
  cwd: string;
  /** The child's entire environment: nothing is inherited. */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  killGraceMs: number;
}

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

export async function exec({ input, cancelPort }: TaskEnvelope<ExecTask>): Promise<TaskOutcome<ExecResult>> {
  try {
    const info = await stat(input.cwd);
    if (!info.isDirectory()) return failure('INVALID_REQUEST', `cwd "${input.cwd}" is not a directory`);
  } catch {
    return failure('NOT_FOUND', `cwd "${input.cwd}" does not exist`);
  }

  const started = performance.now();
  const stdout = new OutputCap(input.maxOutputBytes);
  const stderr = new OutputCap(input.maxOutputBytes);
  // detached: the shell leads a new process group, so a timeout can end every process it started.
  const child = spawn('/bin/sh', ['-c', input.command], {
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
    return failure('INTERNAL', `could not start /bin/sh: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
    clearTimeout(ending);
    clearTimeout(forced);
    cancelPort.close();
  }
}
