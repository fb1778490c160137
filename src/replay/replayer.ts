/**
 * REPLAY_START and REPLAY_STATUS (protocol.md §8): re-runs a recording's deterministic
 * calls, in order, each as a fresh in-process agent holding the rights its recorded agent
 * had, and compares every reply with the recorded one. Calls whose outcome depends on
 * the world outside or on other agents' timing (THINK, HTTP, SPAWN, SEND, RECV, ...) are
 * skipped and counted. Every divergence is reported with the fields that differ.
 */
import type { Logger } from '../kernel/logger.js';
import { KernelError } from '../protocol/errors.js';
import type { RecordedAgent, Recording } from '../protocol/schemas/replay.js';
import type { InProcessConnection } from '../transports/inprocess.js';
import { fromPortable, portable } from './recorder.js';

/** Calls whose reply follows from the request and the kernel's own state. */
export const REPLAYABLE: ReadonlySet<string> = new Set([
  'NOOP',
  'READ',
  'WRITE',
  'EXEC',
  'STORE',
  'FETCH',
  'DELETE',
  'KEYS',
  'CAS',
  'INCR',
  'GET_PERMS',
]);

/** Reply fields that differ between any two runs (times, ids the kernel hands out). */
const VOLATILE: ReadonlySet<string> = new Set([
  'duration_ms',
  'timestamp',
  'expires_in',
  'expires_at',
  'started_at',
  'finished_at',
  'agent_id',
  'id',
  'request_id',
]);

/** Divergences kept in detail (all are counted), and differing fields listed per divergence. */
const MAX_DIVERGENCES = 1000;
const MAX_DIFFERENCES = 10;

export interface Difference {
  path: string;
  expected: unknown;
  actual: unknown;
}

export interface Divergence {
  seq: number;
  op: string;
  agent_id: number;
  differences: Difference[];
}

export type ReplayState = 'idle' | 'running' | 'done' | 'failed';

export interface ReplayStatus {
  state: ReplayState;
  progress: number;
  entries_total: number;
  entries_replayed: number;
  entries_skipped: number;
  divergence_count: number;
  divergences: Divergence[];
  error?: string;
}

export interface ReplayerDeps {
  /** A new in-process agent acting with the recorded agent's rights. */
  connectAs(agent: RecordedAgent): InProcessConnection;
  log: Logger;
}

export class Replayer {
  readonly #deps: ReplayerDeps;
  #status: ReplayStatus = emptyStatus('idle', 0);
  #closed = false;

  constructor(deps: ReplayerDeps) {
    this.#deps = deps;
  }

  status(): ReplayStatus {
    return { ...this.#status, divergences: [...this.#status.divergences] };
  }

  /** Starts replaying in the background; CONFLICT while another replay runs. */
  start(recording: Recording): void {
    if (this.#status.state === 'running') {
      throw new KernelError('CONFLICT', 'REPLAY_START: a replay is running; REPLAY_STATUS shows its progress');
    }
    this.#status = emptyStatus('running', recording.entries.length);
    void this.#run(recording).catch((error: unknown) => {
      this.#status.state = 'failed';
      this.#status.error = (error as Error)?.message ?? String(error);
      this.#deps.log.error({ err: error }, 'replay failed');
    });
  }

  /** Kernel shutdown: a running replay stops at its next call. */
  close(): void {
    this.#closed = true;
  }

  async #run(recording: Recording): Promise<void> {
    const status = this.#status;
    const agents = new Map(recording.agents.map((agent) => [agent.id, agent]));
    const connections = new Map<number, InProcessConnection>();
    try {
      for (const entry of recording.entries) {
        if (this.#closed) throw new Error('the kernel is stopping');
        if (!REPLAYABLE.has(entry.op)) {
          status.entries_skipped++;
        } else {
          let connection = connections.get(entry.agent_id);
          if (!connection) {
            const agent = agents.get(entry.agent_id);
            if (!agent) throw new Error(`entry ${entry.seq}: agent ${entry.agent_id} is not among the recording's agents`);
            connection = this.#deps.connectAs(agent);
            connections.set(entry.agent_id, connection);
          }
          const reply = portable(await connection.call(entry.opcode, fromPortable(entry.request)));
          status.entries_replayed++;
          const differences = compare(entry.reply, reply);
          if (differences.length > 0) {
            status.divergence_count++;
            if (status.divergences.length < MAX_DIVERGENCES) {
              status.divergences.push({ seq: entry.seq, op: entry.op, agent_id: entry.agent_id, differences });
            }
          }
        }
        status.progress = (status.entries_replayed + status.entries_skipped) / Math.max(1, status.entries_total);
      }
      status.progress = 1;
      status.state = 'done';
    } finally {
      for (const connection of connections.values()) connection.close();
    }
  }
}

function emptyStatus(state: ReplayState, total: number): ReplayStatus {
  return {
    state,
    progress: 0,
    entries_total: total,
    entries_replayed: 0,
    entries_skipped: 0,
    divergence_count: 0,
    divergences: [],
  };
}

/** The fields where `actual` differs from `expected`, volatile ones aside (at most MAX_DIFFERENCES). */
export function compare(expected: unknown, actual: unknown, path = '', found: Difference[] = []): Difference[] {
  if (found.length >= MAX_DIFFERENCES) return found;
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      if (VOLATILE.has(key)) continue;
      compare(expected[key], actual[key], path === '' ? key : `${path}.${key}`, found);
    }
    return found;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const length = Math.max(expected.length, actual.length);
    for (let index = 0; index < length; index++) compare(expected[index], actual[index], `${path}[${index}]`, found);
    return found;
  }
  if (!Object.is(expected, actual)) found.push({ path: path || '(reply)', expected, actual });
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
