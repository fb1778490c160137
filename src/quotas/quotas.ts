/**
 * Quotas: how much of a resource an agent may use per window of time (SET_QUOTA), and
 * the one place that admits or refuses a use of it. Sources call it before they act:
 *
 * ```ts
 * // THINK, before calling the model: one call, refused (or held) when the window is spent.
 * await kernel.quotas.charge(session.agent, 'llm_calls', 1, { signal: session.closed, op: 'THINK' });
 * await kernel.quotas.check(session.agent, 'llm_tokens', 1, { signal: session.closed, op: 'THINK' }); // any tokens left?
 * // ...after it answered: tokens are known only now, so they are recorded, never refused.
 * kernel.quotas.record(session.agent, 'llm_tokens', tokens);
 * kernel.metrics.add(session.agent.id, 'llm_calls', 1);
 * kernel.metrics.add(session.agent.id, 'llm_tokens_used', tokens);
 * ```
 *
 * `charge` and `check` return undefined when the use is admitted, throw
 * KernelError('QUOTA_EXCEEDED') when it is refused (the router then emits the
 * QUOTA_EXCEEDED event), and return a promise when the agent's quota says `suspend`:
 * the call is held until the window restarts (a process agent is paused meanwhile), then
 * admitted. Always `await` them.
 *
 * `llm_calls` is bounded by the agent's `permissions.max_llm_calls_per_min` as well (a
 * refusing one-minute window), whatever SET_QUOTA says. RESOURCE_WARNING is emitted at
 * 80 % of every quota (src/resources/warnings.ts).
 */
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import { KernelError } from '../protocol/errors.js';
import { QUOTA_RESOURCES, type QuotaResource, type QuotaRule, type QuotaSpec, type QuotaView } from '../protocol/schemas/metrics.js';
import type { ResourceWarnings } from '../resources/warnings.js';

export type { QuotaResource, QuotaRule, QuotaSpec, QuotaView };
export { QUOTA_RESOURCES };

/** Pauses and resumes a process agent for a `suspend` quota (src/quotas/suspender.ts). */
export interface Suspender {
  /** Stop the agent's processes; false when it is not a running process agent. */
  pause(agent: AgentRecord): boolean;
  /** Continue an agent `pause` stopped (nothing when it is no longer paused). */
  resume(agent: AgentRecord): void;
}

export interface ChargeOptions {
  /** A held call is given up (QUOTA_EXCEEDED) when this aborts: the caller's connection closed. */
  signal?: AbortSignal;
  /** The syscall that uses the resource, for the QUOTA_EXCEEDED event of a suspension. */
  op?: string;
}

/** One quota and what was used in its current window. */
export interface QuotaState {
  readonly rule: QuotaRule;
  used: number;
  /** Epoch ms at which the current window started. */
  windowStart: number;
}

export interface QuotasOptions {
  bus: EventBus;
  registry: AgentRegistry;
  warnings: ResourceWarnings;
  suspender?: Suspender;
  /** The longest a client agent's call is held by a `suspend` quota; a later reset refuses it instead. */
  maxHoldMs?: number;
  /** Calls one agent may have held at once; more are refused. */
  maxHeldCalls?: number;
  now?: () => number;
}

interface Held {
  /** Re-admit the call now (its window restarted, or its quota was raised). */
  wake(): void;
  fail(error: KernelError): void;
}

interface AgentQuotas {
  readonly rules: Map<QuotaResource, QuotaState>;
  /** The implicit one-minute window of permissions.max_llm_calls_per_min. */
  llmRate: { used: number; windowStart: number } | null;
  readonly held: Set<Held>;
  /** Resource → the reset time until which the agent is suspended for it (one event per suspension). */
  readonly suspended: Map<QuotaResource, number>;
  /** Set while this module has paused the agent's process; the timer resumes it. */
  pausedUntil: number;
  resumeTimer: NodeJS.Timeout | null;
}

const MINUTE_MS = 60_000;
/** Calls a `syscalls` quota never counts (see limitsSyscall). */
const UNCOUNTED_SYSCALLS: ReadonlySet<string> = new Set(['HELLO', 'EXIT']);

export class Quotas {
  readonly #bus: EventBus;
  readonly #registry: AgentRegistry;
  readonly #warnings: ResourceWarnings;
  readonly #suspender: Suspender | undefined;
  readonly #maxHoldMs: number;
  readonly #maxHeldCalls: number;
  readonly #now: () => number;
  readonly #agents = new Map<number, AgentQuotas>();

  constructor(options: QuotasOptions) {
    this.#bus = options.bus;
    this.#registry = options.registry;
    this.#warnings = options.warnings;
    this.#suspender = options.suspender;
    this.#maxHoldMs = options.maxHoldMs ?? 300_000;
    this.#maxHeldCalls = options.maxHeldCalls ?? 64;
    this.#now = options.now ?? Date.now;
    options.registry.onRemove((record) => this.#forget(record.id, 'has ended'));
  }

  /**
   * SET_QUOTA: rules by resource merged into the agent's (null removes one). A changed
   * rule starts a new window; an unchanged one keeps its use.
   */
  set(agentId: number, spec: QuotaSpec): Record<string, QuotaView> {
    const state = this.#state(agentId);
    const now = this.#now();
    for (const resource of QUOTA_RESOURCES) {
      const rule = spec[resource];
      if (rule === undefined) continue;
      if (rule === null) {
        state.rules.delete(resource);
        this.#warnings.observe(agentId, resource, 0, 1);
        continue;
      }
      const before = state.rules.get(resource);
      if (before && sameRule(before.rule, rule)) continue;
      state.rules.set(resource, { rule: Object.freeze({ ...rule }), used: 0, windowStart: now });
      this.#warnings.observe(agentId, resource, 0, rule.limit);
    }
    this.#release(agentId, state);
    return this.view(agentId);
  }

  /** The agent's quotas with their use in the current window (empty when it has none). */
  view(agentId: number): Record<string, QuotaView> {
    const state = this.#agents.get(agentId);
    const out: Record<string, QuotaView> = {};
    if (!state) return out;
    const now = this.#now();
    for (const [resource, quota] of state.rules) {
      this.#roll(agentId, resource, quota, now);
      out[resource] = { ...quota.rule, used: quota.used, resets_at: quota.windowStart + quota.rule.window_s * 1000 };
    }
    return out;
  }

  /** Whether the agent has a quota on `resource` (a cheap test before building a charge). */
  limits(agentId: number, resource: QuotaResource): boolean {
    return this.#agents.get(agentId)?.rules.has(resource) === true;
  }

  /**
   * The router's fast path: whether a `syscalls` quota counts this call. HELLO and EXIT
   * never count, so an agent whose quota is spent can still identify itself and leave.
   */
  limitsSyscall(agentId: number, op: string): boolean {
    return this.#agents.get(agentId)?.rules.has('syscalls') === true && !UNCOUNTED_SYSCALLS.has(op);
  }

  /** Admit `amount` units of `resource` and count them in the window (see the module comment). */
  charge(agent: AgentRecord, resource: QuotaResource, amount = 1, options: ChargeOptions = {}): void | Promise<void> {
    return this.#admit(agent, resource, amount, true, options);
  }

  /** Whether `amount` more units would be admitted, counting nothing; refuses or holds as `charge` does. */
  check(agent: AgentRecord, resource: QuotaResource, amount = 1, options: ChargeOptions = {}): void | Promise<void> {
    return this.#admit(agent, resource, amount, false, options);
  }

  /** Count use that is known only afterwards (tokens of an answer, bytes read); never refuses. */
  record(agent: AgentRecord, resource: QuotaResource, amount: number): void {
    if (!(amount > 0)) return;
    // Calls an agent reports itself (LLM_REPORT) count toward its per-minute rate too.
    if (resource === 'llm_calls') this.#checkLlmRate(agent, amount, 'record', this.#now());
    const quota = this.#agents.get(agent.id)?.rules.get(resource);
    if (!quota) return;
    this.#roll(agent.id, resource, quota, this.#now());
    quota.used += amount;
    this.#warnings.observe(agent.id, resource, quota.used, quota.rule.limit);
  }

  /** Stops every timer and refuses every held call (kernel shutdown). */
  close(): void {
    for (const id of [...this.#agents.keys()]) this.#forget(id, 'is stopping (the kernel shuts down)');
  }

  #admit(agent: AgentRecord, resource: QuotaResource, amount: number, consume: boolean, options: ChargeOptions): void | Promise<void> {
    const now = this.#now();
    const rated = resource === 'llm_calls';
    if (rated) this.#checkLlmRate(agent, amount, 'check', now);
    const state = this.#agents.get(agent.id);
    const quota = state?.rules.get(resource);
    if (!state || !quota) {
      if (rated && consume) this.#checkLlmRate(agent, amount, 'record', now);
      return;
    }
    this.#roll(agent.id, resource, quota, now);
    const { limit } = quota.rule;
    if (quota.used + amount <= limit) {
      if (consume) {
        quota.used += amount;
        this.#warnings.observe(agent.id, resource, quota.used, limit);
        // Counted toward the per-minute rate only once admitted by both.
        if (rated) this.#checkLlmRate(agent, amount, 'record', now);
      }
      return;
    }
    const resetsAt = quota.windowStart + quota.rule.window_s * 1000;
    const refusal = new KernelError(
      'QUOTA_EXCEEDED',
      `the ${resource} quota of agent ${agent.id} is spent: ${quota.used} of ${limit} used in this ${quota.rule.window_s} s window` +
        `${amount > 1 ? ` and ${amount} more asked` : ''}; it restarts in ${Math.ceil((resetsAt - now) / 1000)} s`,
      { resource, limit, used: quota.used, window_s: quota.rule.window_s, resets_at: resetsAt },
    );
    if (quota.rule.on_exceed !== 'suspend' || amount > limit) throw refusal;
    const hold = this.#hold(agent, state, resource, resetsAt, now, options, refusal);
    return hold.then(() => this.#admit(agent, resource, amount, consume, options));
  }

  /** permissions.max_llm_calls_per_min: a one-minute window that always refuses. */
  #checkLlmRate(agent: AgentRecord, amount: number, mode: 'check' | 'record', now: number): void {
    const max = agent.permissions.max_llm_calls_per_min;
    if (max === null) return;
    const state = this.#state(agent.id);
    let rate = state.llmRate;
    if (rate === null || now >= rate.windowStart + MINUTE_MS) {
      rate = { used: 0, windowStart: rate === null ? now : advance(rate.windowStart, MINUTE_MS, now) };
      state.llmRate = rate;
    }
    if (mode !== 'record' && rate.used + amount > max) {
      const resetsAt = rate.windowStart + MINUTE_MS;
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `agent ${agent.id} may make ${max} LLM calls per minute (permissions.max_llm_calls_per_min); ` +
          `${rate.used} made in this minute, the next is allowed in ${Math.ceil((resetsAt - now) / 1000)} s`,
        { resource: 'llm_calls', limit: max, used: rate.used, window_s: 60, resets_at: resetsAt },
      );
    }
    if (mode !== 'check') rate.used += amount;
    this.#warnings.observe(agent.id, 'llm_calls_per_min', rate.used, max);
  }

  /**
   * A `suspend` quota is spent: hold the call until the window restarts. A process agent
   * is paused too (its calls wait anyway); a client's call is held only when the restart
   * is near enough (`maxHoldMs`), and never more than `maxHeldCalls` of them.
   */
  #hold(
    agent: AgentRecord,
    state: AgentQuotas,
    resource: QuotaResource,
    resetsAt: number,
    now: number,
    options: ChargeOptions,
    refusal: KernelError,
  ): Promise<void> {
    const delay = Math.max(0, resetsAt - now);
    const isProcess = agent.kind === 'process';
    if ((!isProcess && delay > this.#maxHoldMs) || state.held.size >= this.#maxHeldCalls || options.signal?.aborted) {
      return Promise.reject(refusal);
    }
    if ((state.suspended.get(resource) ?? 0) < resetsAt) {
      state.suspended.set(resource, resetsAt);
      this.#bus.emit(
        'QUOTA_EXCEEDED',
        {
          agent_id: agent.id,
          op: options.op ?? null,
          resource,
          action: 'suspend',
          resumes_at: resetsAt,
          reason: `${refusal.message}; agent ${agent.id} is suspended until then`,
        },
        agent.id,
      );
      if (isProcess) this.#pauseProcess(agent, state, resetsAt);
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => held.wake(), delay);
      const held: Held = {
        wake() {
          done();
          resolve();
        },
        fail(error) {
          done();
          reject(error);
        },
      };
      const onAbort = () => held.fail(new KernelError('QUOTA_EXCEEDED', `${refusal.message}; the call was given up while held`));
      const done = () => {
        clearTimeout(timer);
        state.held.delete(held);
        options.signal?.removeEventListener('abort', onAbort);
      };
      timer.unref();
      state.held.add(held);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #pauseProcess(agent: AgentRecord, state: AgentQuotas, until: number): void {
    if (!this.#suspender) return;
    if (state.pausedUntil === 0 && !this.#suspender.pause(agent)) return;
    if (until <= state.pausedUntil) return;
    state.pausedUntil = until;
    if (state.resumeTimer) clearTimeout(state.resumeTimer);
    state.resumeTimer = setTimeout(() => this.#resumeProcess(agent.id), Math.max(0, until - this.#now()));
    state.resumeTimer.unref();
  }

  #resumeProcess(agentId: number): void {
    const state = this.#agents.get(agentId);
    if (!state || state.pausedUntil === 0) return;
    state.pausedUntil = 0;
    state.resumeTimer = null;
    const agent = this.#registry.get(agentId);
    if (agent) this.#suspender?.resume(agent);
  }

  /** A new window when the current one is over: its use is forgotten, its warning re-armed. */
  #roll(agentId: number, resource: QuotaResource, quota: QuotaState, now: number): void {
    const windowMs = quota.rule.window_s * 1000;
    if (now < quota.windowStart + windowMs) return;
    quota.windowStart = advance(quota.windowStart, windowMs, now);
    if (quota.used === 0) return;
    quota.used = 0;
    this.#warnings.observe(agentId, resource, 0, quota.rule.limit);
  }

  /** After SET_QUOTA raised or removed a limit, a suspension it no longer justifies ends now. */
  #release(agentId: number, state: AgentQuotas): void {
    for (const resource of [...state.suspended.keys()]) {
      const quota = state.rules.get(resource);
      if (quota && quota.rule.on_exceed === 'suspend' && quota.used >= quota.rule.limit) continue;
      state.suspended.delete(resource);
    }
    if (state.suspended.size > 0) return;
    if (state.resumeTimer) clearTimeout(state.resumeTimer);
    this.#resumeProcess(agentId);
    // Held calls are admitted again at once; any still over a limit is held again.
    for (const held of [...state.held]) held.wake();
  }

  #state(agentId: number): AgentQuotas {
    let state = this.#agents.get(agentId);
    if (state === undefined) {
      state = { rules: new Map(), llmRate: null, held: new Set(), suspended: new Map(), pausedUntil: 0, resumeTimer: null };
      this.#agents.set(agentId, state);
    }
    return state;
  }

  #forget(agentId: number, why: string): void {
    const state = this.#agents.get(agentId);
    if (!state) return;
    this.#agents.delete(agentId);
    if (state.resumeTimer) clearTimeout(state.resumeTimer);
    for (const held of [...state.held])
      held.fail(new KernelError('QUOTA_EXCEEDED', `a held call of agent ${agentId} was given up: the agent ${why}`));
  }
}

/** The start of the window that contains `now`, windows being `windowMs` long from `start`. */
function advance(start: number, windowMs: number, now: number): number {
  return start + Math.floor((now - start) / windowMs) * windowMs;
}

function sameRule(a: QuotaRule, b: QuotaRule): boolean {
  return a.limit === b.limit && a.window_s === b.window_s && a.on_exceed === b.on_exceed;
}
