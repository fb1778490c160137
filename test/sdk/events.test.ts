/**
 * The SDK's event methods against a real kernel: subscribe, unsubscribe, pollEvents,
 * emit and the events() iterator (order, no loss across polls, aborts and iterators
 * left early, dropped counts, the end on close) over each transport.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmitReply, type KernelEvent, PollEventsReply, SubscribeReply, UnsubscribeReply } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { closeAll, connect, expectShape, type Transport } from './support.js';

const QUEUE = 20;
let kernel: TestKernel;

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted', eventQueueSize: QUEUE });
});

afterEach(async () => {
  await closeAll();
  await until(() => kernel.subscriptions.size === 0, 'every subscription of the test to be gone');
});

afterAll(async () => {
  await kernel?.cleanup();
});

const numbers = (events: KernelEvent[]) => events.map((event) => event.data.n);

/** Takes `count` events from the iterator, then leaves it (which ends the generator). */
async function take(iterator: AsyncIterable<KernelEvent>, count: number): Promise<KernelEvent[]> {
  const got: KernelEvent[] = [];
  if (count === 0) return got;
  for await (const event of iterator) {
    got.push(event);
    if (got.length === count) break;
  }
  return got;
}

describe('subscribe, emit, pollEvents, unsubscribe', () => {
  it('subscribes to one type or several, emits to subscribers, and polls what arrived', async () => {
    const listener = await connect(kernel);
    const emitter = await connect(kernel);
    const first = await listener.subscribe('CUSTOM');
    expectShape(SubscribeReply, first);
    expect(first).toEqual({ success: true, subscribed: ['CUSTOM'], push: false });
    expect((await listener.subscribe(['AGENT_PAUSED', 'AGENT_RESUMED'])).subscribed.sort()).toEqual([
      'AGENT_PAUSED',
      'AGENT_RESUMED',
      'CUSTOM',
    ]);

    const emitted = await emitter.emit('deploy.done', { n: 1 });
    expectShape(EmitReply, emitted);
    expect(emitted).toMatchObject({ success: true, delivered_to: 1, type: 'CUSTOM' });
    await emitter.emit('CUSTOM', { n: 2 });
    const polled = await listener.pollEvents();
    expectShape(PollEventsReply, polled);
    expect(polled).toMatchObject({ success: true, count: 2, dropped: 0 });
    expect(polled.events.map((e) => e.data)).toEqual([{ n: 1, custom_type: 'deploy.done' }, { n: 2 }]);
    expect(polled.events[0]).toMatchObject({ id: emitted.event_id, type: 'CUSTOM', source_agent_id: emitter.agentId });
    expect((await listener.pollEvents()).count).toBe(0);
  });

  it('emit reaches this agent only with includeSelf', async () => {
    const os = await connect(kernel);
    await os.subscribe('CUSTOM');
    expect((await os.emit('self.test', { n: 1 })).delivered_to).toBe(0);
    expect((await os.emit('self.test', { n: 2 }, { includeSelf: true })).delivered_to).toBe(1);
    expect(numbers((await os.pollEvents()).events)).toEqual([2]);
  });

  it('a filter narrows the types it was given', async () => {
    const listener = await connect(kernel);
    const wanted = await connect(kernel);
    const other = await connect(kernel);
    await listener.subscribe('CUSTOM', { filter: { source_agent_id: wanted.agentId as number } });
    await other.emit('noise', { n: 1 });
    await wanted.emit('signal', { n: 2 });
    expect(numbers((await listener.pollEvents()).events)).toEqual([2]);
  });

  it('pollEvents: max, a waitMs long poll that wakes on the event, and the dropped count', async () => {
    const listener = await connect(kernel);
    const emitter = await connect(kernel);
    await listener.subscribe('CUSTOM');
    for (let n = 0; n < 5; n++) await emitter.emit('batch', { n });
    expect(numbers((await listener.pollEvents({ max: 2 })).events)).toEqual([0, 1]);
    expect(numbers((await listener.pollEvents({ max: 10 })).events)).toEqual([2, 3, 4]);

    const started = Date.now();
    const waiting = listener.pollEvents({ waitMs: 10_000 });
    setTimeout(() => void emitter.emit('late', { n: 'late' }), 100);
    expect(numbers((await waiting).events)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(5_000);

    // More than the queue holds: the oldest are dropped, and the next poll says how many.
    for (let n = 0; n < QUEUE + 3; n++) await emitter.emit('flood', { n });
    const flooded = await listener.pollEvents({ max: 1000 });
    expect(flooded.dropped).toBe(3);
    expect(numbers(flooded.events)).toEqual(Array.from({ length: QUEUE }, (_, i) => i + 3));
    expect((await listener.pollEvents()).dropped).toBe(0);
  });

  it('unsubscribes from some types, then from all; polling then fails', async () => {
    const os = await connect(kernel);
    await os.subscribe(['CUSTOM', 'AGENT_EXITED', 'STATE_CHANGED']);
    const some = await os.unsubscribe('AGENT_EXITED');
    expectShape(UnsubscribeReply, some);
    expect(some.unsubscribed).toEqual(['AGENT_EXITED']);
    expect(some.subscribed.sort()).toEqual(['CUSTOM', 'STATE_CHANGED']);
    expect(await os.unsubscribe(['AGENT_EXITED'])).toMatchObject({ unsubscribed: [] });
    const rest = await os.unsubscribe();
    expect(rest.unsubscribed.sort()).toEqual(['CUSTOM', 'STATE_CHANGED']);
    expect(rest.subscribed).toEqual([]);
    await failure(os.pollEvents(), 'INVALID_REQUEST');
  });

  it('rejects what the kernel refuses, with the code the docs promise', async () => {
    const os = await connect(kernel);
    await failure(os.pollEvents(), 'INVALID_REQUEST'); // no subscription yet
    const unknown = 'NOT_A_TYPE' as unknown as 'CUSTOM';
    await failure(os.subscribe(unknown), 'INVALID_REQUEST');
    expect((await failure(os.subscribe('FILE_CHANGED'), 'INVALID_REQUEST')).reply?.field).toBe('filter.path');
    await failure(os.emit('AGENT_EXITED', { agent_id: 1 }), 'PERMISSION_DENIED');
    await failure(os.emit('1-starts-with-a-digit'), 'INVALID_REQUEST');
    expect((await failure(os.emit('big', { blob: 'x'.repeat(70_000) }), 'INVALID_REQUEST')).reply?.field).toBe('data');
    await os.subscribe('CUSTOM');
    // Checked by the schema on the client side, failing as the kernel would.
    expect((await failure(os.pollEvents({ max: 0 }), 'INVALID_REQUEST')).reply?.field).toBe('max');
    expect((await failure(os.pollEvents({ waitMs: 60_001 }), 'INVALID_REQUEST')).reply?.field).toBe('wait_ms');
  });

  it('FILE_CHANGED needs can_read: PERMISSION_DENIED for a minimal agent', async () => {
    const os = await connect(kernel, 'in-process');
    const minimal = await AgentOSClient.connect({ connection: kernel.connect({ level: 'minimal' }) });
    try {
      await failure(minimal.subscribe('FILE_CHANGED', { filter: { path: `${kernel.dir}/**` } }), 'PERMISSION_DENIED');
      expect((await os.subscribe('FILE_CHANGED', { filter: { path: `${kernel.dir}/**` } })).subscribed).toEqual(['FILE_CHANGED']);
    } finally {
      await minimal.close();
    }
  });
});

describe('events()', () => {
  it('yields every event in emission order, across many polls', async () => {
    const listener = await connect(kernel);
    const emitter = await connect(kernel);
    await listener.subscribe('CUSTOM');
    const total = 3 * QUEUE;
    const received = take(listener.events({ waitMs: 2_000 }), total);
    // Emitted while the iterator runs, in bursts smaller than the queue, so none is dropped.
    for (let n = 0; n < total; n++) {
      await emitter.emit('seq', { n });
      if (n % 10 === 9) await until(() => (kernel.subscriptions.get(listener.agentId as number)?.pending ?? 0) === 0, 'the queue to drain');
    }
    const events = await received;
    expect(numbers(events)).toEqual(Array.from({ length: total }, (_, n) => n));
    const ids = events.map((event) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('loses nothing when an iteration is left early: the rest comes next, from pollEvents or events()', async () => {
    const listener = await connect(kernel);
    const emitter = await connect(kernel);
    await listener.subscribe('CUSTOM');
    for (let n = 0; n < 10; n++) await emitter.emit('split', { n });
    expect(numbers(await take(listener.events(), 3))).toEqual([0, 1, 2]);
    expect(numbers((await listener.pollEvents({ max: 4 })).events)).toEqual([3, 4, 5, 6]);
    expect(numbers(await take(listener.events(), 3))).toEqual([7, 8, 9]);
    expect((await listener.pollEvents()).count).toBe(0);
  });

  it('ends at once when its signal aborts; the poll it left in flight keeps what it brings', async () => {
    const listener = await connect(kernel);
    const emitter = await connect(kernel);
    await listener.subscribe('CUSTOM');
    const abort = new AbortController();
    const seen: KernelEvent[] = [];
    const started = Date.now();
    const iteration = (async () => {
      for await (const event of listener.events({ waitMs: 20_000, signal: abort.signal })) seen.push(event);
    })();
    await until(() => (kernel.subscriptions.get(listener.agentId as number) ? true : undefined), 'the subscription');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the long poll is waiting in the kernel
    abort.abort();
    await iteration;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen).toEqual([]);
    // The POLL_EVENTS it started is still waiting in the kernel: it takes this event, which is kept.
    await emitter.emit('after-abort', { n: 'kept' });
    expect(numbers((await listener.pollEvents({ waitMs: 5_000 })).events)).toEqual(['kept']);
    // An already aborted signal yields nothing.
    await emitter.emit('unseen', { n: 'still queued' });
    expect(await take(listener.events({ signal: abort.signal }), 1)).toEqual([]);
    expect(numbers((await listener.pollEvents()).events)).toEqual(['still queued']);
  });

  it('reports events the kernel dropped to onDropped, where they were lost', async () => {
    const listener = await connect(kernel);
    const emitter = await connect(kernel);
    await listener.subscribe('CUSTOM');
    for (let n = 0; n < QUEUE + 5; n++) await emitter.emit('flood', { n });
    const log: (number | string)[] = [];
    for await (const event of listener.events({ onDropped: (count) => log.push(`dropped ${count}`) })) {
      log.push(event.data.n as number);
      if (event.data.n === QUEUE + 4) break;
    }
    expect(log).toEqual(['dropped 5', ...Array.from({ length: QUEUE }, (_, i) => i + 5)]);
  });

  it('rejects with INVALID_REQUEST without a subscription', async () => {
    const os = await connect(kernel);
    const error = await take(os.events({ waitMs: 100 }), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentOSError);
    expect((error as AgentOSError).code).toBe('INVALID_REQUEST');
  });

  for (const transport of ['socket', 'websocket', 'in-process'] as const satisfies readonly Transport[]) {
    it(`over ${transport}: delivers as events arrive and ends when the client closes`, async () => {
      const listener = await connect(kernel, transport);
      const emitter = await connect(kernel);
      // The SDK subscribes with push off, so the WebSocket queues for POLL_EVENTS too.
      expect((await listener.subscribe('CUSTOM')).push).toBe(false);
      const seen: unknown[] = [];
      let ended = false;
      const iteration = (async () => {
        for await (const event of listener.events({ waitMs: 20_000 })) seen.push(event.data.n);
        ended = true;
      })();
      await emitter.emit('live', { n: 1 });
      await emitter.emit('live', { n: 2 });
      await until(() => seen.length === 2, 'both events');
      expect(seen).toEqual([1, 2]);
      // The iteration ends at once, not when the long poll in flight returns (20 s).
      const closing = Date.now();
      const closed = listener.close();
      await iteration;
      expect(ended).toBe(true);
      expect(Date.now() - closing).toBeLessThan(500);
      await closed;
    });
  }
});

describe('messages() (the same long poll as events())', () => {
  it('ends at once when its signal aborts, and keeps the message its RECV then brings', async () => {
    const receiver = await connect(kernel);
    const sender = await connect(kernel);
    const abort = new AbortController();
    const started = Date.now();
    const iteration = (async () => {
      for await (const _ of receiver.messages({ waitMs: 20_000, signal: abort.signal })) throw new Error('no message was sent yet');
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort();
    await iteration;
    expect(Date.now() - started).toBeLessThan(5_000);
    await sender.send(receiver.agentId as number, 'after abort');
    expect((await receiver.recv({ waitMs: 5_000 })).map((m) => m.message)).toEqual(['after abort']);
  });
});
