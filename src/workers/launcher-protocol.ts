/**
 * Messages between the kernel and its process launcher thread. Forking from the main
 * thread blocks the event loop for a time that grows with the kernel's memory (1 ms at
 * 50 MB, 12 ms at 450 MB); from a worker thread it does not stall the kernel's loop.
 */

export interface LaunchRequest {
  type: 'launch';
  id: number;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** The kernel has consumed this many bytes of a child's output (flow control). */
export interface OutputAck {
  type: 'ack';
  id: number;
  bytes: number;
}

export type LauncherCommand = LaunchRequest | OutputAck;

export type LauncherEvent =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'output'; id: number; stream: 'stdout' | 'stderr'; chunk: Uint8Array }
  | { type: 'exit'; id: number; code: number | null; signal: string | null }
  /** The child's output pipes are closed (or given up on): nothing more will come for `id`. */
  | { type: 'closed'; id: number };

/** Output in flight to the kernel before the launcher stops reading a child's pipes. */
export const OUTPUT_HIGH_WATER = 1024 * 1024;
export const OUTPUT_LOW_WATER = 256 * 1024;
/** After the main process exits, how long its output pipes may stay open. */
export const PIPE_GRACE_MS = 2_000;
