/**
 * A chat-completions answer, read leniently (providers differ in what they add or
 * leave out) but never trusted: anything that is not a completion is UNAVAILABLE with
 * what was wrong, and nothing from it reaches the agent unchecked.
 */
import { z } from 'zod';
import { describeZodError, KernelError } from '../protocol/errors.js';
import type { ChatMessage, Completion, ToolCall } from '../protocol/schemas/think.js';
import type { ChatRequest } from './provider.js';
import type { Secret } from './secret.js';
import { explain, oneLine } from './upstream-error.js';

const count = z.number().int().nonnegative();

/** Some servers send `arguments` as an object rather than JSON text: it is written back as text. */
const WireToolCall = z.object({
  id: z.string().max(256).optional(),
  type: z.string().optional(),
  function: z.object({
    name: z.string().min(1).max(256),
    arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  }),
});

const WireCompletion = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          tool_calls: z.array(WireToolCall).max(1024).nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1, 'expected at least one choice'),
  usage: z
    .object({ prompt_tokens: count.optional(), completion_tokens: count.optional(), total_tokens: count.optional() })
    .nullable()
    .optional(),
});

/** About 4 characters a token: used only when the provider reports no usage, so that quotas still count. */
const CHARS_PER_TOKEN = 4;

export function parseCompletion(body: string, request: ChatRequest, what: string, secret?: Secret): Completion {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new KernelError('UNAVAILABLE', `${what} answered with something that is not JSON: "${oneLine(body, secret) || '(empty)'}"`);
  }
  if (typeof value === 'object' && value !== null && 'error' in value && !('choices' in value)) {
    throw new KernelError('UNAVAILABLE', `${what} answered with an error: ${explain(body, secret)}`);
  }
  const parsed = WireCompletion.safeParse(value);
  if (!parsed.success) {
    const { message } = describeZodError(parsed.error, 'chat completion');
    throw new KernelError('UNAVAILABLE', `${what} answered JSON that is not a chat completion (${oneLine(message, secret)})`);
  }
  const [choice] = parsed.data.choices as [(typeof parsed.data.choices)[number]];
  const content = choice.message.content ?? '';
  const toolCalls = choice.message.tool_calls?.map(toToolCall);
  const usage = parsed.data.usage;
  const estimated = usage?.total_tokens === undefined && (usage?.prompt_tokens === undefined || usage?.completion_tokens === undefined);
  const promptTokens = usage?.prompt_tokens ?? estimate(request.messages);
  const completionTokens =
    usage?.completion_tokens ?? Math.ceil((content.length + (toolCalls ? JSON.stringify(toolCalls).length : 0)) / CHARS_PER_TOKEN);
  return {
    content,
    model: parsed.data.model || request.model,
    ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
    finish_reason: choice.finish_reason ?? null,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: usage?.total_tokens ?? promptTokens + completionTokens,
    },
    usage_estimated: estimated,
  };
}

function toToolCall(call: z.output<typeof WireToolCall>, index: number): ToolCall {
  const args = call.function.arguments;
  return {
    id: call.id || `call_${index}`,
    type: 'function',
    function: { name: call.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) },
  };
}

function estimate(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const message of messages)
    chars += typeof message.content === 'string' ? message.content.length : JSON.stringify(message.content ?? '').length;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}
