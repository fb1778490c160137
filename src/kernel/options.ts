/**
 * Kernel options: one zod schema with every default, parsed once at start. The hot
 * path reads the parsed object and never re-checks it.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { LlmOptions } from '../llm/options.js';
import { TunnelBackoff } from '../machines/tunnel.machine.js';
import { DEFAULT_MAX_PAYLOAD } from '../protocol/frame.js';
import { DEFAULT_AUDIT_MAX_ENTRIES, MAX_AUDIT_MAX_ENTRIES, MIN_AUDIT_MAX_ENTRIES } from '../protocol/schemas/audit.js';
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

/** See `stateDurability` below. */
export const StateDurability = z.enum(['process', 'power'], { error: 'expected stateDurability "process" or "power"' });
export type StateDurability = z.output<typeof StateDurability>;

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
    /** HTTP and DOWNLOAD (src/syscalls/network.ts). */
    network: z
      .object({
        /** Longest timeout a request may ask for (HTTP's default is 30 s, DOWNLOAD's 300 s). */
        maxTimeoutS: z.number().positive().default(3600),
        /** Largest HTTP response body kept (and max_body's default); more is cut and flagged `truncated`. */
        maxBodyBytes: positiveInt('network.maxBodyBytes').default(8 * 1024 * 1024),
        /** Largest DOWNLOAD (and max_bytes' default); more is QUOTA_EXCEEDED and nothing is kept. */
        maxDownloadBytes: positiveInt('network.maxDownloadBytes').default(1024 * 1024 * 1024),
        /** Redirects followed per call, each checked against allowed_domains. */
        maxRedirects: z.number().int().nonnegative().max(50).default(5),
        /** Largest response head (status line and headers); more fails the call. */
        maxHeaderBytes: positiveInt('network.maxHeaderBytes').default(16 * 1024),
        /**
         * For tests only: fixed addresses for names, consulted before DNS, like an
         * /etc/hosts of the kernel's own (`{ "ok.test": ["127.0.0.1"] }`). The answers
         * are checked like DNS answers; agents cannot set this.
         */
        hosts: z.record(z.string(), z.array(z.string()).min(1)).default({}),
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
    /** Run sandboxed agents and the sandboxed level's EXEC without bubblewrap (reported in SPAWN's isolation; EXEC only logs it) instead of refusing them. */
    allowDegradedIsolation: z.boolean().default(false),
    /** Events one subscriber's queue holds for POLL_EVENTS; beyond it the oldest are dropped (and counted). */
    eventQueueSize: positiveInt('eventQueueSize').default(1000),
    /** Messages one agent's mailbox holds until RECV; a SEND to a full one answers QUOTA_EXCEEDED. */
    mailboxSize: positiveInt('mailboxSize').default(1000),
    /** Process-agent sampling, memory and CPU enforcement, and quota suspensions (src/metrics, src/quotas). */
    resources: z
      .object({
        /** How often process agents' memory and CPU are read from /proc. */
        sampleIntervalMs: positiveInt('resources.sampleIntervalMs').default(1000),
        /** A process agent above its memory limit: 'kill' (SIGKILL; its restart policy decides) or 'warn' (event only). */
        memoryPolicy: z.enum(['kill', 'warn'], { error: 'expected resources.memoryPolicy "kill" or "warn"' }).default('kill'),
        /** Above its CPU share: 'throttle' (SIGSTOP/SIGCONT duty cycle), 'kill', or 'warn'. */
        cpuPolicy: z
          .enum(['throttle', 'kill', 'warn'], { error: 'expected resources.cpuPolicy "throttle", "kill" or "warn"' })
          .default('throttle'),
        /** The longest a client's call is held by a `suspend` quota; a later window restart refuses it instead. */
        maxHoldMs: positiveInt('resources.maxHoldMs').default(300_000),
        /** Calls one agent may have held by `suspend` quotas at once; more are refused. */
        maxHeldCalls: positiveInt('resources.maxHeldCalls').default(64),
      })
      .prefault({}),
    /**
     * false turns every permission check off (the opcode's flag, paths, commands,
     * domains) so `npm run bench` can measure what they cost. Never for real use: every
     * agent is then unrestricted. The kernel logs a warning when it starts so.
     */
    permissionChecks: z.boolean().default(true),
    /** Asynchronous calls (async: true) of one agent, running and waiting for ASYNC_POLL together. */
    asyncSlots: positiveInt('asyncSlots').default(256),
    /** The state store: JSON bytes of one value, agent-scope keys per agent, keys of the global (and of the session) scope. */
    stateMaxValueBytes: positiveInt('stateMaxValueBytes').default(64 * 1024),
    stateMaxKeysPerAgent: positiveInt('stateMaxKeysPerAgent').default(10_000),
    stateMaxSharedKeys: positiveInt('stateMaxSharedKeys').default(100_000),
    /**
     * When a state write (STORE, DELETE, CAS, INCR) is acknowledged. 'process': once its
     * commit is in the WAL file (SQLite synchronous=NORMAL); it survives kill -9 and any
     * crash of the kernel, while power loss or an OS crash may lose the last commits.
     * 'power': once the WAL is fsynced (synchronous=FULL), one fsync per write.
     */
    stateDurability: StateDurability.default('process'),
    /** Period of the state store's active expiry sweep (TTL). */
    stateSweepIntervalMs: positiveInt('stateSweepIntervalMs').default(1000),
    /** The audit log (`<data-dir>/audit.db`, src/audit/log.ts). */
    audit: z
      .object({
        /** Entries held between two writes; beyond it they are counted and dropped (one `audit_dropped` entry says how many). */
        bufferSize: positiveInt('audit.bufferSize').default(10_000),
        /** Time from the first buffered entry to the write of the whole buffer, in one transaction. */
        flushIntervalMs: positiveInt('audit.flushIntervalMs').default(5),
        /** Retention until SET_AUDIT_CONFIG saves its own `max_entries` (which then wins, across restarts). */
        maxEntries: z
          .number({ error: 'expected audit.maxEntries as a number' })
          .int('expected audit.maxEntries as a whole number')
          .min(MIN_AUDIT_MAX_ENTRIES, `expected audit.maxEntries of at least ${MIN_AUDIT_MAX_ENTRIES}`)
          .max(MAX_AUDIT_MAX_ENTRIES, `expected audit.maxEntries of at most ${MAX_AUDIT_MAX_ENTRIES}`)
          .default(DEFAULT_AUDIT_MAX_ENTRIES),
      })
      .prefault({}),
    /** THINK's OpenAI-compatible endpoint (baseUrl, model, apiKey or apiKeyEnv), its fair queue and limits (src/llm/options.ts). */
    llm: LlmOptions.prefault({}),
    /** The outbound tunnel to a relay (docs/relay.md §12): connects at start when relayUrl, machineId and token are all set. */
    tunnel: z
      .object({
        relayUrl: z.url({ protocol: /^wss?$/, error: 'expected tunnel.relayUrl as a ws:// or wss:// URL' }).optional(),
        machineId: z.string().min(1, 'expected tunnel.machineId (a non-empty string)').optional(),
        /** The machine token: kept in memory, never logged. */
        token: z.string().min(1, 'expected tunnel.token (a non-empty string)').optional(),
        /** PEM file of certificates to trust for a wss:// relay besides the system's (one with a self-signed certificate). */
        caFile: z.string().min(1, 'expected tunnel.caFile (a path)').optional(),
        /** Allow plain ws:// to a host other than this machine (the token then travels in clear). */
        insecure: z.boolean().default(false),
        /** The level remote agents start from, before their token's ceiling narrows it. */
        remoteLevel: Level.default('sandboxed'),
        /** Remote sessions at once; the relay's next session_open is refused (session_close kernel_request). */
        maxRemoteAgents: positiveInt('tunnel.maxRemoteAgents').default(1000),
        backoff: TunnelBackoff.prefault({}),
        /** Bounds connecting and authenticating each. */
        handshakeTimeoutMs: positiveInt('tunnel.handshakeTimeoutMs').default(10_000),
        /**
         * Where the relay's deployed scripts are written (`<dir>/<name>/`); default `deployed` beside
         * the data directory, since a sandbox covers the data directory and the agent could not read its script there.
         */
        deployDir: z.string().min(1).optional(),
      })
      .prefault({}),
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
