/**
 * The kernel's LLM: THINK's path from a request to a reply (limits, quotas, the fair
 * queue, the provider, then usage), and LLM_REPORT's accounting of calls an SDK made
 * itself. The provider is made once at start; the key lives in it alone.
 */
import type { AgentRecord } from '../agents/registry.js';
import type { Logger } from '../kernel/logger.js';
import type { AgentMetrics } from '../metrics/usage.js';
import { KernelError } from '../protocol/errors.js';
import type { ChatMessage, LlmReportReply, LlmReportRequest, ThinkReply, ThinkRequest } from '../protocol/schemas/think.js';
import type { Quotas } from '../quotas/quotas.js';
import { FairQueue } from './fair-queue.js';
import { OpenAICompatibleProvider } from './openai.js';
import type { LlmOptions } from './options.js';
import type { ChatRequest, LlmProvider } from './provider.js';
import type { Secret } from './secret.js';

export interface LlmServiceDeps {
  options: LlmOptions;
  /** From resolveApiKey(options), done before the kernel opens anything. */
  apiKey: Secret | undefined;
  log: Logger;
  quotas: Quotas;
  metrics: AgentMetrics;
}

export interface LlmStats {
  running: number;
  queued: number;
}

export class LlmService {
  readonly #options: LlmOptions;
  readonly #log: Logger;
  readonly #quotas: Quotas;
  readonly #metrics: AgentMetrics;
  readonly #provider: LlmProvider | undefined;
  readonly #queue: FairQueue;

  constructor(deps: LlmServiceDeps) {
    const { options } = deps;
    this.#options = options;
    this.#log = deps.log.child({ component: 'llm' });
    this.#quotas = deps.quotas;
    this.#metrics = deps.metrics;
    this.#provider =
      options.baseUrl === undefined
        ? undefined
        : new OpenAICompatibleProvider({
            baseUrl: options.baseUrl,
            apiKey: deps.apiKey,
            timeoutMs: options.timeoutMs,
            maxResponseBytes: options.maxResponseBytes,
          });
    if (options.baseUrl !== undefined) {
      this.#log.info(
        { base_url: options.baseUrl, model: options.model, api_key: deps.apiKey ? 'set' : 'none', max_concurrency: options.maxConcurrency },
        'LLM provider configured',
      );
    }
    this.#queue = new FairQueue({
      concurrency: options.maxConcurrency,
      maxQueuedPerKey: options.maxQueuePerAgent,
      maxQueued: options.maxQueued,
    });
  }

  stats(): LlmStats {
    return { running: this.#queue.running, queued: this.#queue.queued };
  }

  /** Calls `agentId` has waiting for a turn. */
  queuedFor(agentId: number): number {
    return this.#queue.queuedFor(agentId);
  }

  async think(request: ThinkRequest, agent: AgentRecord, signal: AbortSignal): Promise<ThinkReply> {
    const provider = this.#provider;
    if (provider === undefined) {
      throw new KernelError(
        'UNAVAILABLE',
        'THINK: this kernel has no LLM configured (kernel option llm.baseUrl and llm.model, or --llm-base-url and --llm-model)',
      );
    }
    const chat = this.#chatRequest(request);
    // A call the queue would refuse is refused before it is charged. Quotas are awaited
    // only when they hold the call: an await in between would let others fill the queue.
    this.#queue.assertRoom(agent.id);
    const tokensHeld = this.#quotas.check(agent, 'llm_tokens', 1, { signal, op: 'THINK' });
    if (tokensHeld) await tokensHeld;
    const callHeld = this.#quotas.charge(agent, 'llm_calls', 1, { signal, op: 'THINK' });
    if (callHeld) await callHeld;
    const completion = await this.#queue.run(
      agent.id,
      async (callSignal) => {
        this.#metrics.add(agent.id, 'llm_calls', 1);
        try {
          return await provider.complete(chat, callSignal);
        } catch (error) {
          if (error instanceof KernelError && !callSignal.aborted) {
            this.#log.warn({ agent_id: agent.id, model: chat.model, code: error.code, error: error.message }, 'LLM call failed');
          }
          throw error;
        }
      },
      signal,
    );
    const tokens = completion.usage.total_tokens;
    this.#quotas.record(agent, 'llm_tokens', tokens);
    this.#metrics.add(agent.id, 'llm_tokens_used', tokens);
    this.#log.debug({ agent_id: agent.id, model: completion.model, tokens, finish_reason: completion.finish_reason }, 'LLM call');
    return { success: true, ...completion, tokens };
  }

  /** LLM_REPORT: a call the agent's SDK made itself, counted as if THINK had made it; never refused. */
  report(request: LlmReportRequest, agent: AgentRecord): LlmReportReply {
    this.#metrics.add(agent.id, 'llm_calls', 1);
    this.#metrics.add(agent.id, 'llm_tokens_used', request.tokens);
    this.#quotas.record(agent, 'llm_calls', 1);
    this.#quotas.record(agent, 'llm_tokens', request.tokens);
    this.#log.debug({ agent_id: agent.id, tokens: request.tokens, success: request.success, model: request.model }, 'LLM usage reported');
    const quotas = this.#quotas.view(agent.id);
    const tokens = quotas.llm_tokens;
    const calls = quotas.llm_calls;
    return {
      success: true,
      tokens: tokens ? tokens.used : this.#metrics.usage(agent.id).llm_tokens_used,
      quota_exceeded: (tokens !== undefined && tokens.used >= tokens.limit) || (calls !== undefined && calls.used >= calls.limit),
      tokens_limit: tokens?.limit ?? null,
      window_s: tokens?.window_s ?? null,
      resets_at: tokens?.resets_at ?? null,
    };
  }

  /** Refuses waiting calls and cancels running ones (kernel shutdown). */
  close(): void {
    this.#queue.close();
  }

  #chatRequest(request: ThinkRequest): ChatRequest {
    const { allowedModels, maxTokens } = this.#options;
    // The options schema requires llm.model with llm.baseUrl, and THINK needs both.
    const model = request.model ?? (this.#options.model as string);
    if (allowedModels !== undefined && !allowedModels.includes(model)) {
      throw invalid('model', `one of ${allowedModels.join(', ')} (llm.allowedModels)`);
    }
    if (maxTokens !== undefined && request.max_tokens !== undefined && request.max_tokens > maxTokens) {
      throw invalid('max_tokens', `at most ${maxTokens} (llm.maxTokens)`);
    }
    const messages: ChatMessage[] = [];
    if (request.system_instruction !== undefined) messages.push({ role: 'system', content: request.system_instruction });
    if (request.messages !== undefined) messages.push(...request.messages);
    else messages.push({ role: 'user', content: request.prompt as string });
    return {
      model,
      messages,
      temperature: request.temperature,
      max_tokens: request.max_tokens ?? maxTokens,
      tools: request.tools,
      tool_choice: request.tool_choice,
    };
  }
}

/** The kernel's own limits on a request read like the schema's refusals. */
function invalid(field: string, expected: string): KernelError {
  return new KernelError('INVALID_REQUEST', `invalid THINK request: field "${field}": expected ${expected}`, { field });
}
