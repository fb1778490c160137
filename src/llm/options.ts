/**
 * The `llm` section of the kernel options: which OpenAI-compatible endpoint THINK
 * reaches, with which key, and the limits of the fair queue and the quotas. Without a
 * `baseUrl` the kernel has no LLM: THINK answers UNAVAILABLE (LLM_REPORT still counts).
 * Quotas on calls and tokens are per agent (permissions.max_llm_calls_per_min, SET_QUOTA),
 * not options.
 */
import { z } from 'zod';
import { Secret } from './secret.js';

const positiveInt = (what: string) =>
  z
    .number({ error: `expected llm.${what} as a number` })
    .int(`expected llm.${what} as a whole number`)
    .positive(`expected llm.${what} above 0`);

/** http(s), no credentials in the URL (the key goes in `apiKey`), no query or fragment. */
const BaseUrl = z.string({ error: 'expected llm.baseUrl as a URL string' }).superRefine((value, context) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    context.addIssue({
      code: 'custom',
      message: `expected llm.baseUrl as an absolute URL such as http://127.0.0.1:11434/v1, got "${value}"`,
    });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    context.addIssue({ code: 'custom', message: `expected an http or https llm.baseUrl, got ${url.protocol}` });
  } else if (url.username || url.password) {
    context.addIssue({
      code: 'custom',
      message: 'expected llm.baseUrl without user:password (give the key as llm.apiKey or llm.apiKeyEnv)',
    });
  } else if (url.search || url.hash) {
    context.addIssue({ code: 'custom', message: 'expected llm.baseUrl without a query or fragment' });
  }
});

export const LlmOptions = z
  .object({
    /** The API root, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama); THINK posts to `{baseUrl}/chat/completions`. */
    baseUrl: BaseUrl.optional(),
    /** The model THINK uses when a request names none. */
    model: z.string().min(1, 'expected llm.model, got an empty string').optional(),
    /** The key, sent as `Authorization: Bearer`; it never reaches agents, logs or child processes. */
    apiKey: z
      .string({ error: 'expected llm.apiKey as a string' })
      .min(1, 'expected llm.apiKey, got an empty string')
      .transform((key) => new Secret(key))
      .optional(),
    /** Read the key from this environment variable of the kernel at start (e.g. OPENAI_API_KEY). */
    apiKeyEnv: z
      .string({ error: 'expected llm.apiKeyEnv as an environment variable name' })
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected llm.apiKeyEnv as an environment variable name such as OPENAI_API_KEY')
      .optional(),
    /** One call, from sending the request to the last byte of the answer. */
    timeoutMs: positiveInt('timeoutMs').default(120_000),
    /** Calls in flight to the provider at once, across every agent. */
    maxConcurrency: positiveInt('maxConcurrency').default(4),
    /** Calls one agent may have waiting for a turn; beyond it THINK answers QUOTA_EXCEEDED. */
    maxQueuePerAgent: positiveInt('maxQueuePerAgent').default(64),
    /** Calls waiting across every agent; beyond it THINK answers UNAVAILABLE. */
    maxQueued: positiveInt('maxQueued').default(1024),
    /** Largest answer body read from the provider; a larger one is refused (UNAVAILABLE). */
    maxResponseBytes: positiveInt('maxResponseBytes').default(4 * 1024 * 1024),
    /** The most `max_tokens` a THINK may ask for, also sent when it asks for none; absent: no cap. */
    maxTokens: positiveInt('maxTokens').optional(),
    /** Models a THINK may name; absent: any model the provider serves. */
    allowedModels: z.array(z.string().min(1)).min(1, 'expected at least one model in llm.allowedModels').optional(),
  })
  .strict()
  .superRefine((llm, context) => {
    if (llm.apiKey !== undefined && llm.apiKeyEnv !== undefined) {
      context.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: 'expected llm.apiKey or llm.apiKeyEnv, not both' });
    }
    if (llm.baseUrl !== undefined && llm.model === undefined) {
      context.addIssue({ code: 'custom', path: ['model'], message: 'expected llm.model (the default model) with llm.baseUrl' });
    }
    if (llm.model !== undefined && llm.allowedModels !== undefined && !llm.allowedModels.includes(llm.model)) {
      context.addIssue({
        code: 'custom',
        path: ['allowedModels'],
        message: `expected llm.allowedModels to include llm.model "${llm.model}"`,
      });
    }
  });
export type LlmOptions = z.output<typeof LlmOptions>;
export type LlmOptionsInput = z.input<typeof LlmOptions>;

/** The key the kernel sends: `apiKey`, else the variable `apiKeyEnv` names (which must be set), else none. */
export function resolveApiKey(options: LlmOptions, env: NodeJS.ProcessEnv = process.env): Secret | undefined {
  if (options.apiKey !== undefined) return options.apiKey;
  if (options.apiKeyEnv === undefined) return undefined;
  const value = env[options.apiKeyEnv];
  if (!value) throw new Error(`llm.apiKeyEnv names ${options.apiKeyEnv}, which is not set in the kernel's environment`);
  return new Secret(value);
}
