/**
 * THINK and LLM_REPORT through a real kernel on a real Unix socket, against a real
 * OpenAI-compatible server on loopback: what reaches the provider, what comes back,
 * tool calls both ways, bad requests naming their field, and accounting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Op } from '../../src/protocol/opcodes.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { expectFailure } from '../integration/support.js';
import { completion, echo, json, OpenAIServer } from './openai-server.js';

const KEY = 'sk-test-0123456789abcdef';

let server: OpenAIServer;
let kernel: TestKernel;
const clients: RawClient[] = [];

async function agent(): Promise<RawClient> {
  const client = await RawClient.connect(kernel.socketPath);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  server = await OpenAIServer.start();
  kernel = await startTestKernel({
    llm: { baseUrl: server.baseUrl, model: 'test-model', apiKey: KEY, maxTokens: 1000, allowedModels: ['test-model', 'other-model'] },
  });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  server.behaviour = echo;
});

afterAll(async () => {
  await kernel?.cleanup();
  await server?.close();
});

describe('THINK', () => {
  it('sends the prompt to {baseUrl}/chat/completions with the key and answers content, tokens and model', async () => {
    const c = await agent();
    const before = server.calls.length;
    const reply = await c.call(Op.THINK, { prompt: 'what is 2+2?', system_instruction: 'be brief', temperature: 0.2, max_tokens: 50 });
    expect(reply).toMatchObject({ success: true, content: 'echo: what is 2+2?', model: 'test-model', finish_reason: 'stop' });
    const call = server.calls[before];
    expect(call?.method).toBe('POST');
    expect(call?.path).toBe('/v1/chat/completions');
    expect(call?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.body).toEqual({
      model: 'test-model',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'what is 2+2?' },
      ],
      temperature: 0.2,
      max_tokens: 50,
      stream: false,
    });
    const usage = reply.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(reply.tokens).toBe(usage.total_tokens);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(reply.usage_estimated).toBe(false);
    expect(reply.tool_calls).toBeUndefined();
  });

  it('sends the kernel cap as max_tokens when the request names none, and the model the request names', async () => {
    const c = await agent();
    const before = server.calls.length;
    const reply = await c.call(Op.THINK, { prompt: 'hi', model: 'other-model' });
    expect(reply).toMatchObject({ success: true, model: 'other-model' });
    expect(server.calls[before]?.body).toMatchObject({ model: 'other-model', max_tokens: 1000 });
  });

  it('passes a chat history, tool definitions and tool_choice through, and returns the tool calls the model made', async () => {
    const toolCall = { id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } };
    server.behaviour = (call, res) =>
      json(res, 200, completion(call, { content: null, tool_calls: [toolCall] }, { finish_reason: 'tool_calls' }));
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'The weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const messages = [
      { role: 'user', content: 'Weather in Oslo and Bergen?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Bergen"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 9}' },
      // Content may also be left out of an assistant turn that only called tools.
      { role: 'assistant', tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_2', content: '{"temp": 11}' },
    ];
    const c = await agent();
    const before = server.calls.length;
    const reply = await c.call(Op.THINK, { messages, tools, tool_choice: 'auto' });
    expect(reply).toMatchObject({ success: true, content: '', finish_reason: 'tool_calls', tool_calls: [toolCall] });
    expect(server.calls[before]?.body).toMatchObject({ messages, tools, tool_choice: 'auto' });
  });

  it('writes tool-call arguments a server sent as an object back as JSON text, and names calls without an id', async () => {
    server.behaviour = (call, res) =>
      json(res, 200, completion(call, { content: 'calling', tool_calls: [{ function: { name: 'lookup', arguments: { q: 'x' } } }] }));
    const reply = await (await agent()).call(Op.THINK, { prompt: 'look it up' });
    expect(reply.tool_calls).toEqual([{ id: 'call_0', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }]);
    expect(reply.content).toBe('calling');
  });

  it('estimates tokens (about 4 characters each) when the provider reports no usage, and says so', async () => {
    server.behaviour = (call, res) => json(res, 200, completion(call, { content: 'x'.repeat(40) }, { usage: undefined }));
    const reply = await (await agent()).call(Op.THINK, { prompt: 'y'.repeat(80) });
    expect(reply).toMatchObject({ success: true, usage_estimated: true });
    expect(reply.usage).toEqual({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 });
    expect(reply.tokens).toBe(30);
  });

  it('refuses a bad request with INVALID_REQUEST naming the field, without calling the provider', async () => {
    const c = await agent();
    const before = server.calls.length;
    const cases: [unknown, string][] = [
      [{}, 'prompt'],
      [{ prompt: '' }, 'prompt'],
      [{ prompt: 5 }, 'prompt'],
      [{ prompt: 'a', messages: [{ role: 'user', content: 'b' }] }, 'messages'],
      [{ messages: [] }, 'messages'],
      [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      [{ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'user', content: null }] }, 'messages[0].content'],
      [{ messages: [{ role: 'user' }] }, 'messages[0].content'],
      [{ prompt: 'a', temperature: 3 }, 'temperature'],
      [{ prompt: 'a', max_tokens: 0 }, 'max_tokens'],
      [{ prompt: 'a', max_tokens: 5000 }, 'max_tokens'],
      [{ prompt: 'a', model: 'gpt-9' }, 'model'],
      [{ prompt: 'a', tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools[0].function.name'],
      [{ prompt: 'a', tools: [{ type: 'retrieval' }] }, 'tools[0].type'],
      [{ prompt: 'a', tool_choice: 'sometimes' }, 'tool_choice'],
    ];
    for (const [request, field] of cases) {
      const failure = expectFailure(await c.call(Op.THINK, request as object), 'INVALID_REQUEST');
      expect(failure.field, JSON.stringify(request)).toBe(field);
    }
    expect(server.calls.length).toBe(before);
  });

  it('is refused to an agent without can_think (PERMISSION_DENIED, SYSCALL_BLOCKED)', async () => {
    const c = await agent();
    expect((await c.call(Op.SET_PERMS, { permissions: { can_think: false } })).success).toBe(true);
    await c.call(Op.SUBSCRIBE, { event_types: ['SYSCALL_BLOCKED'] });
    const before = server.calls.length;
    expect(expectFailure(await c.call(Op.THINK, { prompt: 'x' }), 'PERMISSION_DENIED').error).toContain('can_think');
    expectFailure(await c.call(Op.LLM_REPORT, { tokens: 1 }), 'PERMISSION_DENIED');
    expect(server.calls.length).toBe(before);
    const polled = await c.call<{ events: { type: string; data: { op: string } }[] }>(Op.POLL_EVENTS, { wait_ms: 1000 });
    expect(polled.events.map((e) => e.data.op)).toContain('THINK');
  });

  it('with async: true answers a request id at once and delivers the reply through ASYNC_POLL', async () => {
    const c = await agent();
    const started = await c.call(Op.THINK, { prompt: 'in the background', async: true });
    expect(started).toMatchObject({ success: true, async: true, opcode_name: 'THINK' });
    const polled = await c.call<{ results: { request_id: number; payload: Record<string, unknown> }[] }>(Op.ASYNC_POLL, {
      wait_ms: 5000,
    });
    expect(polled.results).toHaveLength(1);
    expect(polled.results[0]?.request_id).toBe(started.request_id);
    expect(polled.results[0]?.payload).toMatchObject({ success: true, content: 'echo: in the background' });
  });

  it('counts calls and tokens in the agent metrics', async () => {
    const c = await agent();
    const { agent_id: id } = await c.call<{ agent_id: number }>(Op.HELLO, {});
    const first = await c.call<{ tokens: number }>(Op.THINK, { prompt: 'one' });
    const second = await c.call<{ tokens: number }>(Op.THINK, { prompt: 'two' });
    expect(kernel.metrics.usage(id)).toMatchObject({ llm_calls: 2, llm_tokens_used: first.tokens + second.tokens });
  });
});

describe('LLM_REPORT', () => {
  it('counts tokens an SDK used itself; without a token quota it answers the total since the agent started', async () => {
    const c = await agent();
    const { agent_id: id } = await c.call<{ agent_id: number }>(Op.HELLO, {});
    const think = await c.call<{ tokens: number }>(Op.THINK, { prompt: 'count me' });
    const reply = await c.call(Op.LLM_REPORT, { tokens: 120, model: 'gpt-4o-mini' });
    expect(reply).toEqual({
      success: true,
      tokens: think.tokens + 120,
      quota_exceeded: false,
      tokens_limit: null,
      window_s: null,
      resets_at: null,
    });
    await c.call(Op.LLM_REPORT, { tokens: 0, success: false });
    expect(kernel.metrics.usage(id)).toMatchObject({ llm_calls: 3, llm_tokens_used: think.tokens + 120 });
  });

  it('refuses bad fields with INVALID_REQUEST naming them', async () => {
    const c = await agent();
    for (const [request, field] of [
      [{}, 'tokens'],
      [{ tokens: -1 }, 'tokens'],
      [{ tokens: 1.5 }, 'tokens'],
      [{ tokens: '10' }, 'tokens'],
      [{ tokens: 1e12 }, 'tokens'],
      [{ tokens: 1, success: 'yes' }, 'success'],
    ] as const) {
      expect(expectFailure(await c.call(Op.LLM_REPORT, request), 'INVALID_REQUEST').field).toBe(field);
    }
  });
});

describe('a kernel without an LLM', () => {
  it('answers THINK with UNAVAILABLE saying how to configure one, and still counts LLM_REPORT', async () => {
    const bare = await startTestKernel();
    try {
      const c = await RawClient.connect(bare.socketPath);
      const failure = expectFailure(await c.call(Op.THINK, { prompt: 'anyone there?' }), 'UNAVAILABLE');
      expect(failure.error).toContain('llm.baseUrl');
      expect(await c.call(Op.LLM_REPORT, { tokens: 7 })).toMatchObject({ success: true, tokens: 7, quota_exceeded: false });
      const hello = await c.call<{ features: string[] }>(Op.HELLO, {});
      expect(hello.features).toEqual(expect.arrayContaining(['THINK', 'LLM_REPORT']));
      c.close();
    } finally {
      await bare.cleanup();
    }
  });
});
