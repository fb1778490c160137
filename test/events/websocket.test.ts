/**
 * Events pushed to WebSocket subscribers as `{"push":"EVENT","data":event}`, dropped and
 * counted when the client reads too slowly, and cleaned when the WebSocket closes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
const sockets: WebSocket[] = [];

interface Peer {
  ws: WebSocket;
  pushes: { push: string; data: KernelEvent }[];
  call(op: string, payload?: unknown): Promise<Record<string, unknown>>;
}

async function open(): Promise<Peer> {
  const ws = new WebSocket((kernel.httpUrl as string).replace(/^http/, 'ws'), { perMessageDeflate: false });
  sockets.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const pushes: Peer['pushes'] = [];
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  let nextId = 1;
  ws.on('message', (raw) => {
    const message = JSON.parse(raw.toString());
    if (message.push !== undefined) pushes.push(message);
    else waiting.get(message.id)?.(message.result);
  });
  return {
    ws,
    pushes,
    call(op, payload = {}) {
      const id = nextId++;
      ws.send(JSON.stringify({ id, op, payload }));
      return new Promise((resolve) => waiting.set(id, resolve));
    },
  };
}

beforeAll(async () => {
  kernel = await startTestKernel({ maxBufferedBytes: 64 * 1024 });
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.close();
  await until(() => kernel.subscriptions.size === 0 && kernel.agents().length === 0, 'every WebSocket subscriber to be gone');
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('WebSocket push', () => {
  it('pushes subscribed events as {"push":"EVENT","data":event}, including EMIT from another client', async () => {
    const listener = await open();
    const emitter = await open();
    expect(await listener.call('SUBSCRIBE', { event_types: ['CUSTOM', 'AGENT_PAUSED'] })).toMatchObject({ success: true, push: true });
    expect(await emitter.call('EMIT', { event_type: 'deploy', data: { v: 2 } })).toMatchObject({ success: true, delivered_to: 1 });
    kernel.events.emit('AGENT_PAUSED', { agent_id: 5 }, 5);
    kernel.events.emit('AGENT_RESUMED', { agent_id: 5 }, 5); // not subscribed
    await until(() => listener.pushes.length >= 2, 'two pushed events');
    expect(listener.pushes.map((p) => p.push)).toEqual(['EVENT', 'EVENT']);
    expect(listener.pushes[0]?.data).toMatchObject({ type: 'CUSTOM', data: { v: 2, custom_type: 'deploy' } });
    expect(listener.pushes[1]?.data).toMatchObject({ type: 'AGENT_PAUSED', source_agent_id: 5 });
    // Pushed events are not queued a second time.
    expect(await listener.call('POLL_EVENTS', {})).toMatchObject({ success: true, count: 0, dropped: 0 });
    expect(emitter.pushes).toEqual([]);
  });

  it('"push": false queues for POLL_EVENTS instead, long poll included', async () => {
    const peer = await open();
    expect(await peer.call('SUBSCRIBE', { event_types: ['CUSTOM'], push: false })).toMatchObject({ push: false });
    const pending = peer.call('POLL_EVENTS', { wait_ms: 5_000 });
    setTimeout(() => kernel.events.emit('CUSTOM', { polled: true }, null), 50);
    expect(await pending).toMatchObject({ count: 1, events: [{ type: 'CUSTOM', data: { polled: true } }] });
    expect(peer.pushes).toEqual([]);
  });

  it('drops and counts events while the client does not read (bufferedAmount over the limit)', async () => {
    const peer = await open();
    await peer.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    const agentId = kernel.agents().find((agent) => agent.transport === 'websocket')?.id as number;
    // The client stops reading: the kernel's socket buffer fills, then events are dropped.
    (peer.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const blob = 'x'.repeat(16 * 1024);
    for (let n = 0; n < 2_000; n++) kernel.events.emit('CUSTOM', { n, blob }, null);
    const subscription = kernel.subscriptions.get(agentId);
    expect(subscription?.droppedTotal).toBeGreaterThan(0);
    const dropped = subscription?.droppedTotal as number;
    (peer.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await until(() => peer.pushes.length === 2_000 - dropped, 'the pushed events to arrive', 20_000);
    const reply = await peer.call('POLL_EVENTS', {});
    expect(reply).toMatchObject({ count: 0, dropped });
  });

  it("removes a WebSocket client's subscription when it closes", async () => {
    const peer = await open();
    await peer.call('SUBSCRIBE', { event_types: ['*'] });
    expect(kernel.subscriptions.size).toBe(1);
    peer.ws.close();
    await until(() => kernel.subscriptions.size === 0, 'the subscription to be removed');
    expect(kernel.subscriptions.indexed).toBe(0);
    // The event bus still works with nobody subscribed.
    kernel.events.emit('CUSTOM', {}, null);
  });
});
