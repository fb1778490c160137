/**
 * Fair queuing of THINK across agents, through a real kernel and a real loopback
 * server that holds its answers back so the order is decided by the kernel alone.
 * Every assertion is on the order in which calls reached the server, never on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmOptionsInput } from '../../src/llm/options.js';
import { Op } from '../../src/protocol/opcodes.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { eventually, expectFailure } from '../integration/support.js';
import { OpenAIServer } from './openai-server.js';

let server: OpenAIServer | undefined;
let kernel: TestKernel | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await kernel?.cleanup();
  await server?.close();
  kernel = undefined;
  server = undefined;
});

async function setUp(llm: Partial<LlmOptionsInput>): Promise<{ server: OpenAIServer; kernel: TestKernel }> {
  server = await OpenAIServer.start();
  kernel = await startTestKernel({ llm: { baseUrl: server.baseUrl, model: 'test-model', ...llm } });
  return { server, kernel };
}

async function agent(k: TestKernel): Promise<{ client: RawClient; id: number }> {
  const client = await RawClient.connect(k.socketPath);
  clients.push(client);
  const hello = await client.call<{ agent_id: number }>(Op.HELLO, {});
  return { client, id: hello.agent_id };
}

/** Reads `n` replies (one connection answers in request order). */
async function replies(client: RawClient, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) out.push(await client.reply(30_000));
  return out;
}

describe('fair queuing', () => {
  it('serves a single THINK of agent B after at most concurrency + 1 of the 200 that agent A queued first', async () => {
    const concurrency = 3;
    const { server, kernel } = await setUp({ maxConcurrency: concurrency, maxQueuePerAgent: 256 });
    const a = await agent(kernel);
    const b = await agent(kernel);
    server.hold();
    for (let i = 0; i < 200; i++) a.client.send(Op.THINK, { prompt: `A-${i}` });
    await server.waitForCalls(concurrency);
    await eventually(() => kernel.llm.queuedFor(a.id) === 200 - concurrency, 'A has the rest of its flood queued');
    b.client.send(Op.THINK, { prompt: 'B' });
    await eventually(() => kernel.llm.queuedFor(b.id) === 1, 'B is queued behind the flood');
    // One answer at a time, each after the call the previous one let start has arrived:
    // calls start one by one, so the server sees them in the order the kernel chose.
    for (let i = 0; i < 201; i++) {
      await server.waitForCalls(Math.min(201, concurrency + i));
      await server.answerNext();
    }

    expect(await b.client.reply(30_000)).toMatchObject({ success: true, content: 'echo: B' });
    const flood = await replies(a.client, 200);
    expect(flood.every((reply) => reply.success === true)).toBe(true);

    const order = server.calls.map((call) => call.prompt);
    expect(order).toHaveLength(201);
    // B's call reached the server after the calls of A already running and A's next one,
    // which was waiting before B's: one turn each, whatever the length of A's queue.
    expect(order.indexOf('B')).toBeLessThanOrEqual(concurrency + 1);
    // A's own calls kept their order (one FIFO per agent); the first ones started together.
    const own = order.filter((prompt) => prompt !== 'B');
    expect(own.slice(0, concurrency).sort()).toEqual(['A-0', 'A-1', 'A-2']);
    expect(own.slice(concurrency)).toEqual(Array.from({ length: 200 - concurrency }, (_, i) => `A-${i + concurrency}`));
    expect(kernel.llm.stats()).toEqual({ running: 0, queued: 0 });
  });

  it('takes turns round-robin between agents that both have calls waiting', async () => {
    const { server, kernel } = await setUp({ maxConcurrency: 1 });
    const a = await agent(kernel);
    const b = await agent(kernel);
    server.hold();
    for (let i = 0; i < 20; i++) a.client.send(Op.THINK, { prompt: `A-${i}` });
    await server.waitForCalls(1);
    await eventually(() => kernel.llm.queuedFor(a.id) === 19, 'A queued');
    for (let i = 0; i < 20; i++) b.client.send(Op.THINK, { prompt: `B-${i}` });
    await eventually(() => kernel.llm.queuedFor(b.id) === 20, 'B queued');
    server.release();
    await Promise.all([replies(a.client, 20), replies(b.client, 20)]);

    const owners = server.calls.map((call) => call.prompt[0]).join('');
    // A-0 was running; then one call each, in turn, until A runs out.
    expect(owners).toBe(`A${'AB'.repeat(19)}B`);
  });

  it('drops the queued calls of a client that disconnects, and cancels its running one', async () => {
    const { server, kernel } = await setUp({ maxConcurrency: 1 });
    const a = await agent(kernel);
    server.hold();
    for (let i = 0; i < 10; i++) a.client.send(Op.THINK, { prompt: `A-${i}` });
    await server.waitForCalls(1);
    await eventually(() => kernel.llm.queuedFor(a.id) === 9, 'A queued');
    a.client.close();
    await eventually(() => kernel.llm.stats().queued === 0 && kernel.llm.stats().running === 0, 'A dropped and cancelled');
    server.release();

    const b = await agent(kernel);
    expect(await b.client.call(Op.THINK, { prompt: 'B' })).toMatchObject({ success: true, content: 'echo: B' });
    expect(server.calls.map((call) => call.prompt)).toEqual(['A-0', 'B']);
  });

  it('refuses an agent beyond llm.maxQueuePerAgent with QUOTA_EXCEEDED (and the event), without charging it', async () => {
    const { server, kernel } = await setUp({ maxConcurrency: 1, maxQueuePerAgent: 3 });
    const a = await agent(kernel);
    await a.client.call(Op.SUBSCRIBE, { event_types: ['QUOTA_EXCEEDED'] });
    server.hold();
    for (let i = 0; i < 5; i++) a.client.send(Op.THINK, { prompt: `A-${i}` });
    await server.waitForCalls(1);
    await eventually(() => kernel.llm.queuedFor(a.id) === 3, 'A queued up to its bound');
    server.release();

    const answers = await replies(a.client, 5);
    expect(answers.slice(0, 4).map((reply) => reply.success)).toEqual([true, true, true, true]);
    expect(expectFailure(answers[4], 'QUOTA_EXCEEDED').error).toContain('llm.maxQueuePerAgent');
    expect(kernel.metrics.usage(a.id).llm_calls).toBe(4);
    const polled = await a.client.call<{ events: { type: string; data: { op: string } }[] }>(Op.POLL_EVENTS, { wait_ms: 1000 });
    expect(polled.events).toEqual([expect.objectContaining({ type: 'QUOTA_EXCEEDED', data: expect.objectContaining({ op: 'THINK' }) })]);
  });

  it('stops the kernel promptly with calls running and waiting: each is answered UNAVAILABLE, the provider call cancelled', async () => {
    const { server, kernel } = await setUp({ maxConcurrency: 1 });
    const a = await agent(kernel);
    server.hold();
    for (let i = 0; i < 5; i++) a.client.send(Op.THINK, { prompt: `A-${i}` });
    await server.waitForCalls(1);
    await eventually(() => kernel.llm.queuedFor(a.id) === 4, 'A queued');
    await kernel.stop();
    expect(kernel.llm.stats()).toEqual({ running: 0, queued: 0 });
    for (const reply of await replies(a.client, 5)) expect(expectFailure(reply, 'UNAVAILABLE').error).toContain('stopping');
    expect(await a.client.waitClosed()).toBe(true);
    expect(server.calls).toHaveLength(1);
  });

  it('refuses every agent with UNAVAILABLE once llm.maxQueued calls wait across agents', async () => {
    const { server, kernel } = await setUp({ maxConcurrency: 1, maxQueued: 2 });
    const a = await agent(kernel);
    const b = await agent(kernel);
    server.hold();
    for (let i = 0; i < 3; i++) a.client.send(Op.THINK, { prompt: `A-${i}` });
    await server.waitForCalls(1);
    await eventually(() => kernel.llm.stats().queued === 2, 'the queue is full');
    expect(expectFailure(await b.client.call(Op.THINK, { prompt: 'B' }), 'UNAVAILABLE').error).toContain('queue is full');
    server.release();
    expect((await replies(a.client, 3)).every((reply) => reply.success === true)).toBe(true);
    expect(await b.client.call(Op.THINK, { prompt: 'B again' })).toMatchObject({ success: true });
  });
});
