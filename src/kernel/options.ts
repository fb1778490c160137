/**
 * Kernel options: one zod schema with every default, parsed once at start. The hot
 * path reads the parsed object and never re-checks it.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_PAYLOAD } from '../protocol/frame.js';
import { Level } from '../protocol/schemas/permissions.js';

export const DEFAULT_SOCKET_PATH = '/tmp/agentos.sock';
export const DEFAULT_HTTP_PORT = 7391;

/** `--socket PATH`, else `$AGENTOS_SOCKET`, else /tmp/agentos.sock (protocol.md §1). */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTOS_SOCKET || DEFAULT_SOCKET_PATH;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTOS_DATA_DIR || join(homedir(), '.agentos', 'data');
}

const positiveInt = (what: string) =>
  z
    .number({ error: `expected ${what} as a number` })
    .int(`expected ${what} as a whole number`)
    .positive(`expected ${what} above 0`);

export const KernelOptions = z
  .object({
    socketPath: z
      .string()
      .min(1)
      .default(() => defaultSocketPath()),
    /** File mode of the socket; 0600 keeps other users out. */
    socketMode: z.number().int().min(0).max(0o777).default(0o600),
    dataDir: z
      .string()
      .min(1)
      .default(() => defaultDataDir()),
    /** The WebSocket endpoint's port; 0 picks a free one; null turns HTTP off. */
    httpPort: z.number().int().min(0).max(65535).nullable().default(DEFAULT_HTTP_PORT),
    httpHost: z.string().min(1).default('127.0.0.1'),
    /** The level every direct connection starts at (deny by default: no spawn, no network). */
    defaultLevel: Level.default('standard'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    logFile: z.string().min(1).optional(),
    maxPayload: positiveInt('maxPayload (bytes)').default(DEFAULT_MAX_PAYLOAD),
    /** A connection silent this long in the middle of a frame is dropped. */
    frameIdleTimeoutMs: positiveInt('frameIdleTimeoutMs').default(30_000),
    /** Requests a connection may have in flight before the kernel stops reading it. */
    maxPipeline: positiveInt('maxPipeline').default(256),
    /** Reply bytes queued for a slow reader before the kernel stops reading its requests. */
    maxBufferedBytes: positiveInt('maxBufferedBytes').default(1024 * 1024),
    maxConnections: positiveInt('maxConnections').default(10_000),
    exec: z
      .object({
        maxTimeoutS: z.number().positive().default(3600),
        maxOutputBytes: positiveInt('exec.maxOutputBytes').default(4 * 1024 * 1024),
        /** Time between SIGTERM and SIGKILL when a command times out or is cancelled. */
        killGraceMs: z.number().int().nonnegative().default(500),
      })
      .prefault({}),
    files: z
      .object({
        /** Largest READ reply body; larger files are read in parts with offset and length. */
        maxReadBytes: positiveInt('files.maxReadBytes').default(16 * 1024 * 1024),
      })
      .prefault({}),
    workers: z
      .object({
        // No idle thread: a worker starts with the first EXEC or file call (tens of ms, once).
        minThreads: z.number().int().nonnegative().default(0),
        maxThreads: positiveInt('workers.maxThreads').default(4),
        /** I/O-bound tasks (a child process, a file) share a thread. */
        concurrentTasksPerWorker: positiveInt('workers.concurrentTasksPerWorker').default(32),
      })
      .prefault({}),
    /** Run sandboxed agents without bubblewrap (reported in SPAWN's isolation) instead of refusing them. */
    allowDegradedIsolation: z.boolean().default(false),
    /** Events one subscriber's queue holds for POLL_EVENTS; beyond it the oldest are dropped (and counted). */
    eventQueueSize: positiveInt('eventQueueSize').default(1000),
    /** Messages one agent's mailbox holds until RECV; a SEND to a full one answers QUOTA_EXCEEDED. */
    mailboxSize: positiveInt('mailboxSize').default(1000),
    /** The state store: JSON bytes of one value, agent-scope keys per agent, keys of the global (and of the session) scope. */
    stateMaxValueBytes: positiveInt('stateMaxValueBytes').default(64 * 1024),
    stateMaxKeysPerAgent: positiveInt('stateMaxKeysPerAgent').default(10_000),
    stateMaxSharedKeys: positiveInt('stateMaxSharedKeys').default(100_000),
    /** Period of the state store's active expiry sweep (TTL). */
    stateSweepIntervalMs: positiveInt('stateSweepIntervalMs').default(1000),
    /** How long shutdown waits for connections and work to finish before forcing them. */
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs').default(5_000),
  })
  .strict();

export type KernelOptions = z.output<typeof KernelOptions>;
export type KernelOptionsInput = z.input<typeof KernelOptions>;

export function parseKernelOptions(input: KernelOptionsInput = {}): KernelOptions {
  const parsed = KernelOptions.parse(input);
  return { ...parsed, socketPath: resolve(parsed.socketPath), dataDir: resolve(parsed.dataDir) };
}
