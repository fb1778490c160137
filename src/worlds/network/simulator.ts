/**
 * A world's network (worlds.md §3): decides what happens to each HTTP call of its agents
 * and, in `simulate`, makes the call wait its simulated latency on a timer.
 *
 * Order of decision: a partition cutting the agent off → connection reset; packet loss →
 * the request hangs until its timeout; the most specific matching mock → its response
 * after its latency, or a failure with probability `fail_rate`; an allowed host → the
 * caller's real request (passthrough) after the simulated latency; otherwise blocked.
 *
 * Determinism: every decision draws exactly three numbers from the network's stream, in
 * this order: loss, jitter, fail. The stream's position therefore depends only on how many
 * requests were decided, never on which branch each took or on the effects in force, so
 * the same seed and the same sequence of requests always give the same decisions.
 *
 * The random stream belongs to the caller (the world passes `random.fork('network')` and
 * snapshots it with the rest of its random state); `state()` holds counters, effects, the
 * sequence number and the log.
 */
import { clearTimeout as clearTimer, setTimeout as setTimer } from 'node:timers';
import { z } from 'zod';
import { describeZodError } from '../../protocol/errors.js';
import { normalizeHost } from '../../security/domains.js';
import { compileGlob, type PathMatcher } from '../../security/paths-glob.js';
import type { WorldRandom } from '../random.js';
import { NetworkConfigError, type NetworkConfigInput, parseNetworkConfig } from './config.js';
import { NetworkEffects, NetworkEffectsState } from './effects.js';
import { emptyCounters, NetworkCounters, RequestLog, RequestLogEntry } from './log.js';
import { bySpecificity, type CompiledPattern, compilePattern, patternMatches } from './pattern.js';
import { readTarget } from './target.js';

export interface NetworkRequest {
  readonly agentId: string;
  readonly agentName?: string | undefined;
  readonly method: string;
  readonly url: string;
  /** The request's own timeout: how long a lost packet hangs (default: options.dropTimeoutMs). */
  readonly timeoutMs?: number | undefined;
}

export type NetworkDecision =
  | { kind: 'mock'; mock: string; status: number; headers: Record<string, string>; body: string; latency_ms: number }
  | { kind: 'passthrough'; latency_ms: number }
  | {
      kind: 'fail';
      error: 'timeout' | 'connection_reset' | 'mock_failure';
      cause: 'partition' | 'packet_loss' | 'fail_rate';
      message: string;
      /** How long the failure takes to surface. */
      latency_ms: number;
    }
  | { kind: 'blocked'; message: string; latency_ms: 0 };

export interface WorldClock {
  /** The world's time in ms (since its start). */
  now(): number;
}

/** Waits `ms`; rejects with the signal's reason when aborted. Must not block the event loop. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface NetworkSimulatorOptions {
  /** Named in every failure message, so an agent's error says which world failed it. */
  readonly worldName: string;
  readonly clock?: WorldClock;
  readonly sleep?: Sleep;
  /** Request log entries kept (default 1000). */
  readonly logCapacity?: number;
  /** How long a lost packet hangs when the request has no timeout of its own (default 30 s). */
  readonly dropTimeoutMs?: number;
  /** Told of every decision as it is logged (the world's scorer); must be quick and must not throw. */
  readonly onRecord?: (entry: RequestLogEntry) => void;
}

export const NETWORK_STATE_VERSION = 1;

export const NetworkSimulatorState = z.strictObject({
  version: z.literal(NETWORK_STATE_VERSION),
  seq: z.number().int().min(0),
  counters: NetworkCounters,
  effects: NetworkEffectsState,
  log: z.array(RequestLogEntry),
});
export type NetworkSimulatorState = z.infer<typeof NetworkSimulatorState>;

interface CompiledMock {
  readonly pattern: CompiledPattern;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly latencyMs: number;
  readonly failRate: number;
}

const realClock: WorldClock = { now: () => performance.now() };

/** A timer-based wait: the event loop and other agents run on while a request "travels". */
export const timerSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimer(timer);
      reject(signal?.reason);
    };
    const timer = setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class NetworkSimulator {
  readonly #worldName: string;
  readonly #random: WorldRandom;
  readonly #clock: WorldClock;
  readonly #sleep: Sleep;
  readonly #dropTimeoutMs: number;
  readonly #mocks: readonly CompiledMock[];
  readonly #allowed: readonly PathMatcher[];
  readonly #baseLatencyMs: number;
  readonly #jitterMs: number;
  readonly #packetLoss: number;
  readonly #onRecord: ((entry: RequestLogEntry) => void) | undefined;
  #effects = new NetworkEffects();
  #log: RequestLog;
  #counters: NetworkCounters = emptyCounters();
  #seq = 0;

  /** `random`: the network's own stream (`worldRandom.fork('network')`). Throws NetworkConfigError on a bad config. */
  constructor(config: NetworkConfigInput | undefined, random: WorldRandom, options: NetworkSimulatorOptions) {
    const parsed = parseNetworkConfig(config);
    this.#worldName = options.worldName;
    this.#random = random;
    this.#clock = options.clock ?? realClock;
    this.#sleep = options.sleep ?? timerSleep;
    this.#dropTimeoutMs = options.dropTimeoutMs ?? 30_000;
    this.#onRecord = options.onRecord;
    this.#log = new RequestLog(options.logCapacity ?? 1000);
    this.#baseLatencyMs = parsed.base_latency_ms;
    this.#jitterMs = parsed.jitter_ms;
    this.#packetLoss = parsed.packet_loss;
    this.#allowed = parsed.allowed_hosts.map((entry, index) => compileHost(entry, `network.allowed_hosts[${index}]`));
    this.#mocks = bySpecificity(
      parsed.mocks.map((mock, index): CompiledMock => {
        let pattern: CompiledPattern;
        try {
          pattern = compilePattern(mock.pattern);
        } catch (error) {
          const path = `network.mocks[${index}].pattern`;
          throw new NetworkConfigError(path, `invalid network section: field "${path}": ${(error as Error).message}`);
        }
        const text = typeof mock.response === 'string';
        const body = mock.response === undefined ? '' : text ? (mock.response as string) : JSON.stringify(mock.response);
        const headers = hasHeader(mock.headers, 'content-type')
          ? { ...mock.headers }
          : { 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json', ...mock.headers };
        return { pattern, status: mock.status, headers, body, latencyMs: mock.latency_ms, failRate: mock.fail_rate };
      }),
    );
  }

  /** Restores a simulator saved by `state()`; `random` is the network stream as the world restored it. */
  static fromState(
    config: NetworkConfigInput | undefined,
    random: WorldRandom,
    state: unknown,
    options: NetworkSimulatorOptions,
  ): NetworkSimulator {
    const version = (state as { version?: unknown } | null)?.version;
    if (version !== NETWORK_STATE_VERSION) {
      throw new Error(`network state: version ${String(version)} is not supported (expected ${NETWORK_STATE_VERSION})`);
    }
    const parsed = NetworkSimulatorState.safeParse(state);
    if (!parsed.success) throw new Error(describeZodError(parsed.error, 'network state').message);
    const simulator = new NetworkSimulator(config, random, options);
    simulator.#seq = parsed.data.seq;
    simulator.#counters = { ...parsed.data.counters };
    simulator.#effects = NetworkEffects.fromState(parsed.data.effects);
    simulator.#log = new RequestLog(options.logCapacity ?? 1000, parsed.data.log);
    return simulator;
  }

  /** Decides the fate of one request (and records it). Pure but for the draws, the log and the counters. */
  decide(request: NetworkRequest): NetworkDecision {
    const nowMs = this.#clock.now();
    this.#effects.prune(nowMs);
    // Always three draws, in this order, whatever the outcome (see the module comment).
    const lossDraw = this.#random.next();
    const jitterDraw = this.#random.next();
    const failDraw = this.#random.next();
    const decision = this.#decide(request, lossDraw, jitterDraw, failDraw);
    this.#record(request, decision, nowMs);
    return decision;
  }

  /**
   * Decides, then waits the decision's latency on a timer (cancellable by `signal`) and
   * returns it. For `passthrough` the caller then makes the real request itself; `fail`
   * and `blocked` are returned, not thrown, for the caller to map onto its own errors.
   */
  async simulate(request: NetworkRequest, { signal }: { signal?: AbortSignal } = {}): Promise<NetworkDecision> {
    signal?.throwIfAborted();
    const decision = this.decide(request);
    if (decision.latency_ms > 0) await this.#sleep(decision.latency_ms, signal);
    return decision;
  }

  /** network_partition: `targets` (agent ids or names) or the whole world lose the network. */
  partition(targets: readonly string[] | 'all', untilWorldMs?: number): void {
    if (targets !== 'all' && targets.length === 0) throw new RangeError('partition targets: expected agent ids/names or "all", got []');
    this.#effects.partition(targets, untilWorldMs);
  }

  /** latency_spike: `ms` more on every request while in force (spikes add up). */
  addLatency(ms: number, untilWorldMs?: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency_spike value: expected ms >= 0, got ${ms}`);
    this.#effects.addLatency(ms, untilWorldMs);
  }

  /** packet_loss: the loss rate while in force, replacing the configured one. */
  setPacketLoss(rate: number, untilWorldMs?: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`packet_loss value: expected a probability in [0, 1], got ${rate}`);
    this.#effects.setPacketLoss(rate, untilWorldMs);
  }

  /** Ends every network effect (the `heal` event). */
  heal(): void {
    this.#effects.heal();
  }

  counters(): NetworkCounters {
    return { ...this.#counters };
  }

  /** The last `logCapacity` requests, oldest first. */
  log(): RequestLogEntry[] {
    return this.#log.entries();
  }

  /** Effects in force now (expired ones dropped). */
  effects(): NetworkEffectsState {
    this.#effects.prune(this.#clock.now());
    return this.#effects.state();
  }

  state(): NetworkSimulatorState {
    return {
      version: NETWORK_STATE_VERSION,
      seq: this.#seq,
      counters: this.counters(),
      effects: this.effects(),
      log: this.log(),
    };
  }

  #decide(request: NetworkRequest, lossDraw: number, jitterDraw: number, failDraw: number): NetworkDecision {
    const world = `world "${this.#worldName}"`;
    const what = `${request.method.toUpperCase()} ${request.url.slice(0, 200)}`;
    const latency = (extraMs: number) =>
      Math.max(0, Math.round(extraMs + this.#baseLatencyMs + this.#effects.extraLatencyMs() + this.#jitterMs * (2 * jitterDraw - 1)));

    if (this.#effects.isPartitioned(request.agentId, request.agentName)) {
      return {
        kind: 'fail',
        error: 'connection_reset',
        cause: 'partition',
        message: `${world}: connection reset (network partition) on ${what}`,
        latency_ms: latency(0),
      };
    }
    if (lossDraw < this.#effects.packetLoss(this.#packetLoss)) {
      const hangMs = Math.max(0, request.timeoutMs ?? this.#dropTimeoutMs);
      return {
        kind: 'fail',
        error: 'timeout',
        cause: 'packet_loss',
        message: `${world}: ${what} timed out after ${hangMs} ms (packet lost)`,
        latency_ms: hangMs,
      };
    }
    const target = readTarget(request.method, request.url);
    if (!target.ok) return { kind: 'blocked', message: `${world}: ${target.reason}`, latency_ms: 0 };

    const mock = this.#mocks.find((candidate) => patternMatches(candidate.pattern, target));
    if (mock) {
      if (failDraw < mock.failRate) {
        return {
          kind: 'fail',
          error: 'mock_failure',
          cause: 'fail_rate',
          message: `${world}: ${what} failed (mock "${mock.pattern.source}", fail_rate ${mock.failRate})`,
          latency_ms: latency(mock.latencyMs),
        };
      }
      return {
        kind: 'mock',
        mock: mock.pattern.source,
        status: mock.status,
        headers: { ...mock.headers },
        body: mock.body,
        latency_ms: latency(mock.latencyMs),
      };
    }
    if (this.#allowed.some((host) => host.test(target.host))) return { kind: 'passthrough', latency_ms: latency(0) };
    return {
      kind: 'blocked',
      message: `${world}: host "${target.host}" is not reachable (not in network.allowed_hosts and no mock matches ${target.method} ${target.host}${target.path})`,
      latency_ms: 0,
    };
  }

  #record(request: NetworkRequest, decision: NetworkDecision, nowMs: number): void {
    this.#seq += 1;
    const counters = this.#counters;
    counters.intercepted += 1;
    if (decision.kind === 'mock') counters.mocked += 1;
    else if (decision.kind === 'passthrough') counters.passed_through += 1;
    else if (decision.kind === 'blocked') counters.blocked += 1;
    else if (decision.cause === 'packet_loss') counters.dropped += 1;
    else counters.failed += 1;

    const entry: RequestLogEntry = {
      seq: this.#seq,
      at_ms: nowMs,
      agent_id: request.agentId,
      method: request.method.toUpperCase(),
      url: request.url.slice(0, 2048),
      kind: decision.kind,
      latency_ms: decision.latency_ms,
    };
    if (request.agentName !== undefined) entry.agent_name = request.agentName;
    if (decision.kind === 'fail') entry.error = decision.error;
    if (decision.kind === 'mock') entry.status = decision.status;
    this.#log.add(entry);
    this.#onRecord?.(entry);
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** An allowed_hosts entry: an exact host (normalized as URLs are) or a `*` glob. */
function compileHost(entry: string, path: string): PathMatcher {
  const lower = entry.trim().toLowerCase();
  if (lower.includes('*')) return compileGlob(lower.replace(/\.$/, ''));
  const host = normalizeHost(lower);
  if (host === undefined)
    throw new NetworkConfigError(path, `invalid network section: field "${path}": expected a host name or a "*" glob, got "${entry}"`);
  return compileGlob(host);
}
