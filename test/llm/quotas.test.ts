/**
 * THINK and LLM_REPORT against the agent's LLM quotas: permissions.max_llm_calls_per_min
 * and the llm_tokens / llm_calls quotas of SET_QUOTA (kernel.quotas), through a real
 * kernel and a real loopback provider. A refused call never reaches the provider.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Op } from '../../src/protocol/opcodes.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { expectFailure } from '../integration/support.js';
import { OpenAIServer } from './openai-server.js';

let server: OpenAIServer;
let kernel: TestKernel;
const clients: RawClient[] = [];

interface EventEntry {
  type: string;
  data: Record<string, unknown>;
}

beforeAll(async () => {
  server = await OpenAIServer.start();
  kernel = await startTestKernel({ llm: { baseUrl: server.baseUrl, model: 'test-model' } });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await kernel?.cleanup();
  await server?.close();
});

async function agent(): Promise<{ c: RawClient; id: number }> {
  const c = await RawClient.connect(kernel.socketPath);
  clients.push(c);
  const { agent_id } = await c.call<{ agent_id: number }>(Op.HELLO, {});
  await c.call(Op.SUBSCRIBE, { event_types: ['QUOTA_EXCEEDED', 'RESOURCE_WARNING'] });
  return { c, id: agent_id };
}

async function events(c: RawClient): Promise<EventEntry[]> {
  return (await c.call<{ events: EventEntry[] }>(Op.POLL_EVENTS, { max: 100 })).events;
}

describe('LLM quotas', () => {
  it('refuses THINK beyond permissions.max_llm_calls_per_min with QUOTA_EXCEEDED, before the provider', async () => {
    const { c } = await agent();
    expect(await c.call(Op.SET_PERMS, { permissions: { max_llm_calls_per_min: 2 } })).toMatchObject({ success: true });
    const before = server.calls.length;
    expect(await c.call(Op.THINK, { prompt: 'one' })).toMatchObject({ success: true });
    expect(await c.call(Op.THINK, { prompt: 'two' })).toMatchObject({ success: true });
    const refused = expectFailure(await c.call(Op.THINK, { prompt: 'three' }), 'QUOTA_EXCEEDED');
    expect(refused.error).toContain('max_llm_calls_per_min');
    expect(refused).toMatchObject({ resource: 'llm_calls', limit: 2, used: 2 });
    expect(server.calls.length).toBe(before + 2);
    expect(await events(c)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'QUOTA_EXCEEDED', data: expect.objectContaining({ op: 'THINK' }) }),
        expect.objectContaining({ type: 'RESOURCE_WARNING', data: expect.objectContaining({ resource: 'llm_calls_per_min' }) }),
      ]),
    );
  });

  it('counts THINK and LLM_REPORT tokens in one llm_tokens window; once spent, THINK is refused', async () => {
    const { c, id } = await agent();
    kernel.quotas.set(id, { llm_tokens: { limit: 100, window_s: 3600, on_exceed: 'refuse' } });
    const think = await c.call<{ tokens: number }>(Op.THINK, { prompt: 'spend some' });
    expect(think.tokens).toBeGreaterThan(0);
    const report = await c.call(Op.LLM_REPORT, { tokens: 60 });
    expect(report).toMatchObject({ success: true, tokens: think.tokens + 60, quota_exceeded: false, tokens_limit: 100, window_s: 3600 });
    expect(report.resets_at).toBeGreaterThan(Date.now());
    const over = await c.call(Op.LLM_REPORT, { tokens: 100 - think.tokens - 60 });
    expect(over).toMatchObject({ tokens: 100, quota_exceeded: true });

    const before = server.calls.length;
    const refused = expectFailure(await c.call(Op.THINK, { prompt: 'more' }), 'QUOTA_EXCEEDED');
    expect(refused).toMatchObject({ resource: 'llm_tokens', limit: 100 });
    expect(server.calls.length).toBe(before);
    // A report is never refused: the tokens were already spent.
    expect(await c.call(Op.LLM_REPORT, { tokens: 5 })).toMatchObject({ success: true, tokens: 105, quota_exceeded: true });
    const seen = await events(c);
    expect(seen).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'RESOURCE_WARNING', data: expect.objectContaining({ resource: 'llm_tokens', limit: 100 }) }),
        expect.objectContaining({ type: 'QUOTA_EXCEEDED', data: expect.objectContaining({ op: 'THINK' }) }),
      ]),
    );
  });

  it('reports quota_exceeded once the llm_calls quota of SET_QUOTA is spent, and refuses the next THINK', async () => {
    const { c, id } = await agent();
    kernel.quotas.set(id, { llm_calls: { limit: 2, window_s: 60, on_exceed: 'refuse' } });
    expect(await c.call(Op.THINK, { prompt: 'one' })).toMatchObject({ success: true });
    expect(await c.call(Op.LLM_REPORT, { tokens: 3 })).toMatchObject({ success: true, quota_exceeded: true, tokens_limit: null });
    expect(expectFailure(await c.call(Op.THINK, { prompt: 'two' }), 'QUOTA_EXCEEDED')).toMatchObject({ resource: 'llm_calls' });
  });
});
