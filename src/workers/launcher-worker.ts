/**
 * The launcher thread: spawns process agents and forwards their output and exit. Loaded
 * in a worker thread (no top-level await: from the sources it is required through tsx).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parentPort } from 'node:worker_threads';
import { type LauncherCommand, type LauncherEvent, OUTPUT_HIGH_WATER, OUTPUT_LOW_WATER, PIPE_GRACE_MS } from './launcher-protocol.js';

interface Running {
  child: ChildProcess;
  inFlight: number;
  paused: boolean;
}

const port = parentPort;
if (!port) throw new Error('launcher-worker must run in a worker thread');
const running = new Map<number, Running>();
const post = (event: LauncherEvent, transfer: ArrayBuffer[] = []) => port.postMessage(event, transfer);

function launch(id: number, command: string, args: string[], cwd: string, env: Record<string, string>): void {
  let child: ChildProcess;
  try {
    // detached: the agent leads its own process group, so signals and the final kill reach all it starts.
    child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    post({ type: 'error', id, message: (error as Error).message });
    post({ type: 'closed', id });
    return;
  }
  const entry: Running = { child, inFlight: 0, paused: false };
  running.set(id, entry);
  const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    // A copy we can transfer: the chunk may be a view into a pooled buffer.
    const copy = new Uint8Array(chunk);
    entry.inFlight += copy.byteLength;
    post({ type: 'output', id, stream, chunk: copy }, [copy.buffer as ArrayBuffer]);
    if (!entry.paused && entry.inFlight > OUTPUT_HIGH_WATER) {
      entry.paused = true;
      child.stdout?.pause();
      child.stderr?.pause();
    }
  };
  child.stdout?.on('data', forward('stdout'));
  child.stderr?.on('data', forward('stderr'));
  child.once('error', (error) => {
    post({ type: 'error', id, message: error.message });
    // Never started (ENOENT, EACCES): no exit or close will follow.
    if (child.pid === undefined && running.delete(id)) post({ type: 'closed', id });
  });
  child.once('spawn', () => {
    if (child.pid !== undefined) post({ type: 'spawned', id, pid: child.pid });
  });
  child.once('exit', (code, signal) => {
    post({ type: 'exit', id, code, signal });
    // A process that left the group may hold the pipes open: stop waiting for it.
    setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, PIPE_GRACE_MS).unref();
  });
  child.once('close', () => {
    running.delete(id);
    post({ type: 'closed', id });
  });
}

port.on('message', (command: LauncherCommand) => {
  if (command.type === 'launch') {
    launch(command.id, command.command, command.args, command.cwd, command.env);
    return;
  }
  const entry = running.get(command.id);
  if (!entry) return;
  entry.inFlight = Math.max(0, entry.inFlight - command.bytes);
  if (entry.paused && entry.inFlight < OUTPUT_LOW_WATER) {
    entry.paused = false;
    entry.child.stdout?.resume();
    entry.child.stderr?.resume();
  }
});
