/**
 * THINK and LLM_REPORT (protocol.md §5): a chat completion through the kernel's LLM
 * provider, and the usage an SDK reports for calls it made itself. Messages, tools and
 * tool calls have the shape of the OpenAI chat-completions API, which every provider
 * this kernel speaks to (OpenAI, Ollama, vLLM, llama.cpp, LM Studio) shares.
 */
import { z } from 'zod';
import { ok } from './common.js';

export const MAX_MESSAGES = 1000;
export const MAX_TOOLS = 128;
export const MAX_TOKENS_CEILING = 1_000_000;
/** Tokens one LLM_REPORT may carry: far above any single call, low enough that sums stay exact. */
export const MAX_REPORTED_TOKENS = 100_000_000;

const text = (what: string) => z.string({ error: `expected ${what} (a string)` });

/** OpenAI's rule for function names; providers reject anything else with a less helpful message. */
const FunctionName = text('a function name').regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a function name of 1-64 letters, digits, "_" or "-"');

/** A JSON object (a tool's parameters schema, a content part): passed to the provider as is. */
const JsonObject = z.record(z.string(), z.unknown(), { error: 'expected a JSON object' });

/** A call the model asked for; `arguments` is the JSON text the model wrote (it may not parse). */
export const ToolCall = z.object({
  id: text('a tool call id').max(256),
  type: z.literal('function', { error: 'expected type "function"' }).default('function'),
  function: z.object({ name: FunctionName, arguments: text('arguments (JSON text)') }),
});
export type ToolCall = z.output<typeof ToolCall>;

/** One message of a chat history: what `messages` carries instead of `prompt`. */
export const ChatMessage = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool'], { error: 'expected role "system", "user", "assistant" or "tool"' }),
    /** Text, or content parts (images and the like) passed through; null or absent only on an assistant turn that called tools. */
    content: z
      .union([text('content'), z.array(JsonObject).max(256)], { error: 'expected content: a string or a list of parts' })
      .nullable()
      .optional(),
    name: text('a name').max(256).optional(),
    tool_calls: z.array(ToolCall).max(MAX_TOOLS).optional(),
    /** On a `tool` message: the id of the call it answers. */
    tool_call_id: text('a tool call id').max(256).optional(),
  })
  .superRefine((message, context) => {
    if (message.role === 'tool' && message.tool_call_id === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['tool_call_id'],
        message: 'expected tool_call_id on a "tool" message (the call it answers)',
      });
    }
    if (message.content == null && !(message.role === 'assistant' && message.tool_calls?.length)) {
      context.addIssue({
        code: 'custom',
        path: ['content'],
        message: 'expected content (null or absent only on an assistant message with tool_calls)',
      });
    }
  });
export type ChatMessage = z.output<typeof ChatMessage>;

/** A function the model may call; `parameters` is a JSON Schema, passed through. */
export const Tool = z.object({
  type: z.literal('function', { error: 'expected type "function"' }),
  function: z.object({
    name: FunctionName,
    description: text('a description').max(16_384).optional(),
    parameters: JsonObject.optional(),
    strict: z.boolean().optional(),
  }),
});
export type Tool = z.output<typeof Tool>;

export const ToolChoice = z.union(
  [z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: FunctionName }) })],
  { error: 'expected tool_choice "auto", "none", "required" or {"type": "function", "function": {"name": ...}}' },
);

export const ThinkRequest = z
  .object({
    /** One user turn. Exactly one of `prompt` and `messages`. */
    prompt: text('prompt').min(1, 'expected a prompt, got an empty string').optional(),
    /** A whole chat history (the model answers its last turn). */
    messages: z
      .array(ChatMessage, { error: 'expected messages: a list of {role, content}' })
      .min(1, 'expected at least one message')
      .max(MAX_MESSAGES)
      .optional(),
    /** Sent first, as a system message. */
    system_instruction: text('system_instruction').optional(),
    /** The kernel's configured model when absent. */
    model: text('a model name').min(1).max(256).optional(),
    temperature: z
      .number({ error: 'expected temperature (a number)' })
      .min(0, 'expected temperature of 0 or more')
      .max(2, 'expected temperature of at most 2')
      .optional(),
    max_tokens: z
      .number({ error: 'expected max_tokens (a number)' })
      .int('expected max_tokens as a whole number')
      .positive('expected max_tokens above 0')
      .max(MAX_TOKENS_CEILING, `expected max_tokens of at most ${MAX_TOKENS_CEILING}`)
      .optional(),
    tools: z.array(Tool, { error: 'expected tools: a list of {type: "function", function}' }).max(MAX_TOOLS).optional(),
    tool_choice: ToolChoice.optional(),
    async: z.boolean({ error: 'expected async (true or false)' }).default(false),
  })
  .superRefine((request, context) => {
    if (request.prompt === undefined && request.messages === undefined) {
      context.addIssue({ code: 'custom', path: ['prompt'], message: 'expected "prompt" (a string) or "messages" (a chat history)' });
    } else if (request.prompt !== undefined && request.messages !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['messages'],
        message: 'expected "prompt" or "messages", not both (append the prompt to messages as a user turn)',
      });
    }
  });
export type ThinkRequest = z.output<typeof ThinkRequest>;

export const TokenUsage = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type TokenUsage = z.output<typeof TokenUsage>;

/** What a provider answers, before the kernel adds its own fields. */
export const Completion = z.object({
  /** The answer's text; "" when the model only called tools. */
  content: z.string(),
  /** The model that answered (as the provider names it). */
  model: z.string(),
  tool_calls: z.array(ToolCall).optional(),
  /** `stop`, `length`, `tool_calls`, ...; null when the provider does not say. */
  finish_reason: z.string().nullable(),
  usage: TokenUsage,
  /** True when the provider reported no usage and the kernel counted about 4 characters a token. */
  usage_estimated: z.boolean(),
});
export type Completion = z.output<typeof Completion>;

export const ThinkReply = z.object({
  ...ok,
  content: z.string(),
  /** Tokens of this call (usage.total_tokens). */
  tokens: z.number().int().nonnegative(),
  model: z.string(),
  tool_calls: z.array(ToolCall).optional(),
  finish_reason: z.string().nullable(),
  usage: TokenUsage,
  usage_estimated: z.boolean(),
});
export type ThinkReply = z.output<typeof ThinkReply>;

export const LlmReportRequest = z.object({
  tokens: z
    .number({ error: 'expected tokens (a number)' })
    .int('expected tokens as a whole number')
    .nonnegative('expected tokens of 0 or more')
    .max(MAX_REPORTED_TOKENS, `expected tokens of at most ${MAX_REPORTED_TOKENS}`),
  /** Whether the SDK's call succeeded (a failed call still counts its tokens). */
  success: z.boolean({ error: 'expected success (true or false)' }).default(true),
  model: text('a model name').max(256).optional(),
});
export type LlmReportRequest = z.output<typeof LlmReportRequest>;

export const LlmReportReply = z.object({
  ...ok,
  /** Tokens the agent used in its llm_tokens quota's current window (THINK and reports together); since it started when it has no such quota. */
  tokens: z.number().int().nonnegative(),
  /** True once the agent's llm_tokens or llm_calls quota (SET_QUOTA) is spent: its next THINK is refused or held. */
  quota_exceeded: z.boolean(),
  /** The llm_tokens quota's limit and window; null when the agent has none. */
  tokens_limit: z.number().int().positive().nullable(),
  window_s: z.number().positive().nullable(),
  /** When the window restarts (epoch ms); null without a quota. */
  resets_at: z.number().int().nullable(),
});
export type LlmReportReply = z.output<typeof LlmReportReply>;
