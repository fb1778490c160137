/**
 * RECORD_START to RECORD_STATUS (protocol.md §8): while recording, the router hands every
 * validated call and its reply here (`capture`), with its timing. The recording lives in
 * memory, bounded by `max_entries` (calls beyond it are counted, not kept), and leaves the
 * kernel through RECORD_STATUS `{export: true}`.
 *
 * When nothing records, the router's cost is one property read (`active`).
 */
import type { AgentRecord } from '../agents/registry.js';
import type { OpcodeInfo } from '../protocol/opcodes.js';
import type { RecordedAgent, RecordedEntry, Recording, RecordStartRequest } from '../protocol/schemas/replay.js';

/** Left out unless the recording asks for them by kind. */
const OPTIONAL_KINDS: Readonly<Record<string, keyof Pick<RecordStartRequest, 'include_think' | 'include_http' | 'include_exec'>>> = {
  THINK: 'include_think',
  LLM_REPORT: 'include_think',
  HTTP: 'include_http',
  DOWNLOAD: 'include_http',
  EXEC: 'include_exec',
};

/** The recorder's own calls (and replay's) would only describe the recording itself. */
// TUNNEL_*: they carry the machine token, and a replay must not move the kernel's link to a relay.
const NEVER_RECORDED: ReadonlySet<string> = new Set([
  'RECORD_START',
  'RECORD_STOP',
  'RECORD_STATUS',
  'REPLAY_START',
  'REPLAY_STATUS',
  'TUNNEL_CONNECT',
  'TUNNEL_STATUS',
  'TUNNEL_DISCONNECT',
  'TUNNEL_LIST_REMOTES',
  'TUNNEL_CONFIG',
]);

export type RecorderState = 'idle' | 'recording' | 'stopped';

export class Recorder {
  #state: RecorderState = 'idle';
  #options: RecordStartRequest | undefined;
  #filter: ReadonlySet<number> | undefined;
  #startedAt = 0;
  #stoppedAt: number | null = null;
  #entries: RecordedEntry[] = [];
  #agents = new Map<number, RecordedAgent>();
  #overflow = 0;
  #seq = 0;

  /** Whether the router should capture calls at all. */
  get active(): boolean {
    return this.#state === 'recording';
  }

  get state(): RecorderState {
    return this.#state;
  }

  get entryCount(): number {
    return this.#entries.length;
  }

  /** Starts a new recording, discarding the previous one. */
  start(options: RecordStartRequest, now = Date.now()): void {
    this.#state = 'recording';
    this.#options = options;
    this.#filter = options.filter_agents ? new Set(options.filter_agents) : undefined;
    this.#startedAt = now;
    this.#stoppedAt = null;
    this.#entries = [];
    this.#agents = new Map();
    this.#overflow = 0;
    this.#seq = 0;
  }

  stop(now = Date.now()): void {
    if (this.#state !== 'recording') return;
    this.#state = 'stopped';
    this.#stoppedAt = now;
  }

  /** Whether a call of `agent` to `info` belongs in the recording. */
  wants(agent: AgentRecord, info: OpcodeInfo): boolean {
    if (!this.active || NEVER_RECORDED.has(info.name)) return false;
    if (this.#filter && !this.#filter.has(agent.id)) return false;
    const kind = OPTIONAL_KINDS[info.name];
    return kind === undefined || (this.#options as RecordStartRequest)[kind];
  }

  /** One finished call that started at `startedAt` (epoch ms) and took `durationMs`. */
  capture(agent: AgentRecord, info: OpcodeInfo, request: unknown, reply: unknown, startedAt: number, durationMs: number): void {
    if (!this.active) return;
    const options = this.#options as RecordStartRequest;
    if (this.#entries.length >= options.max_entries) {
      this.#overflow++;
      return;
    }
    if (!this.#agents.has(agent.id)) {
      this.#agents.set(agent.id, { id: agent.id, name: agent.name, level: agent.level, permissions: { ...agent.permissions } });
    }
    this.#entries.push({
      seq: this.#seq++,
      agent_id: agent.id,
      op: info.name,
      opcode: info.code,
      request: portable(request),
      reply: portable(reply),
      at_ms: Math.max(0, startedAt - this.#startedAt),
      duration_ms: Math.max(0, durationMs),
    });
  }

  status(): { state: RecorderState; entry_count: number; overflow: number; started_at: number | null; stopped_at: number | null } {
    return {
      state: this.#state,
      entry_count: this.#entries.length,
      overflow: this.#overflow,
      started_at: this.#state === 'idle' ? null : this.#startedAt,
      stopped_at: this.#stoppedAt,
    };
  }

  /** The recording so far (or the finished one); undefined before any RECORD_START. */
  export(): Recording | undefined {
    if (this.#state === 'idle' || !this.#options) return undefined;
    return {
      version: 1,
      started_at: this.#startedAt,
      stopped_at: this.#stoppedAt,
      options: this.#options,
      agents: [...this.#agents.values()],
      entries: this.#entries,
      overflow: this.#overflow,
    };
  }
}

/** Bytes (NOOP's payload and reply) as `{base64}`, so a recording is plain JSON. */
export function portable(value: unknown): unknown {
  return Buffer.isBuffer(value) ? { base64: value.toString('base64') } : value;
}

/** The inverse of `portable` for a request about to be replayed. */
export function fromPortable(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'base64' && typeof (value as { base64: unknown }).base64 === 'string') {
      return Buffer.from((value as { base64: string }).base64, 'base64');
    }
  }
  return value;
}
