/**
 * The inspection hub against real XState actors and a fake socket: what it records
 * when nobody listens (nothing), the messages it sends, the live-actor list, and the
 * drop-and-notify backpressure.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { assign, createActor, type InspectionEvent, setup, spawnChild, stopChild } from 'xstate';
import { InspectionHub } from '../../src/inspection/hub.js';
import type { InspectData, InspectionMessage, LiveActor } from '../../src/inspection/messages.js';

/** Just enough of a ws WebSocket: records what is sent, and lets a test set bufferedAmount. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  closedWith: number | undefined;
  readonly sent: InspectionMessage[] = [];
  readonly written: ((error?: Error) => void)[] = [];

  send(text: string, callback?: (error?: Error) => void): void {
    this.sent.push(JSON.parse(text) as InspectionMessage);
    if (callback) this.written.push(callback);
  }

  close(code: number): void {
    this.closedWith = code;
    this.readyState = this.CLOSED;
    this.emit('close');
  }

  terminate(): void {
    this.close(1006);
  }

  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }

  /** The actor list of the hello, which is always the first message. */
  hello(): LiveActor[] {
    const first = this.sent[0];
    if (first?.push !== 'INSPECT_HELLO') throw new Error('the first message is not INSPECT_HELLO');
    return first.data.actors;
  }

  inspected(): InspectData[] {
    return this.sent.flatMap((message) => (message.push === 'INSPECT' ? [message.data] : []));
  }
}

const child = setup({
  types: { context: {} as { ring: unknown; blob: string; count: number }, events: {} as { type: 'bump'; by: number } },
}).createMachine({
  id: 'child',
  context: () => {
    // A cycle that survives assign(), which copies the context object itself.
    const ring: Record<string, unknown> = {};
    ring.ring = ring;
    return { ring, blob: 'b'.repeat(100_000), count: 0 };
  },
  initial: 'idle',
  states: {
    idle: { on: { bump: { target: 'busy', actions: assign({ count: ({ context, event }) => context.count + event.by }) } } },
    busy: {},
  },
});

const parent = setup({
  types: { events: {} as { type: 'spawn'; id: string } | { type: 'stop'; id: string } },
  actors: { child },
}).createMachine({
  id: 'parent',
  initial: 'running',
  states: { running: {} },
  on: {
    spawn: { actions: spawnChild('child', { id: ({ event }) => event.id }) },
    stop: { actions: stopChild(({ event }) => event.id) },
  },
});

function startParent(hub: InspectionHub) {
  return createActor(parent, { inspect: hub.inspect }).start();
}

describe('InspectionHub', () => {
  it('does nothing at all while nobody listens', () => {
    const hub = new InspectionHub();
    const root = startParent(hub);
    root.send({ type: 'spawn', id: 'c1' });
    // An event that throws on any property read proves the idle path reads none.
    const untouchable = new Proxy({} as InspectionEvent, {
      get() {
        throw new Error('the idle path read the event');
      },
    });
    expect(() => hub.inspect(untouchable)).not.toThrow();
    expect(hub.counters).toEqual({ clients: 0, events: 0, sent: 0, dropped: 0, errors: 0, actors: 0, untracked: 0, buffered: 0 });
    root.stop();
  });

  it('greets with the live actor tree, then streams actor, event and snapshot messages', () => {
    let rootRef: ReturnType<typeof startParent> | undefined;
    const hub = new InspectionHub({ root: () => rootRef });
    rootRef = startParent(hub);
    rootRef.send({ type: 'spawn', id: 'early' });

    const socket = new FakeSocket();
    expect(hub.attach(socket.ws)).toBe(true);
    const actors = socket.hello();
    const rootSession = rootRef.sessionId;
    expect(actors[0]).toEqual({ actor: rootSession, session: rootSession, machine: 'parent', status: 'active', value: 'running' });
    expect(actors[1]).toMatchObject({ actor: 'early', parent: rootSession, machine: 'child', status: 'active', value: 'idle' });

    rootRef.send({ type: 'spawn', id: 'late' });
    const announced = socket.inspected().find((data) => data.kind === 'actor' && data.actor === 'late');
    expect(announced).toMatchObject({ parent: rootSession, machine: 'child' });
    const late = rootRef.getSnapshot().children.late;
    late?.send({ type: 'bump', by: 2 });
    const event = socket.inspected().find((data) => data.kind === 'event' && data.event?.type === 'bump');
    expect(event).toMatchObject({ actor: 'late', session: late?.sessionId, event: { type: 'bump', by: 2 } });
    const snapshot = socket.inspected().findLast((data) => data.kind === 'snapshot' && data.actor === 'late');
    expect(snapshot?.event).toEqual({ type: 'bump' });
    expect(snapshot?.snapshot).toMatchObject({ status: 'active', value: 'busy', context: { ring: { ring: '[Circular]' }, count: 2 } });
    const context = snapshot?.snapshot?.context as { blob: string } | undefined;
    expect(context?.blob.length).toBeLessThan(1100);
    expect(hub.counters).toMatchObject({ clients: 1, actors: 3, dropped: 0, errors: 0 });

    rootRef.send({ type: 'stop', id: 'late' });
    expect(hub.counters.actors).toBe(2);
    const ended = socket.inspected().findLast((data) => data.kind === 'snapshot' && data.actor === 'late');
    expect(ended?.snapshot?.status).toBe('stopped');

    // The last listener leaving empties the map; the next one rebuilds it from the tree.
    socket.close(1000);
    expect(hub.counters).toMatchObject({ clients: 0, actors: 0 });
    const again = new FakeSocket();
    hub.attach(again.ws);
    expect(again.hello().map((a) => a.actor)).toEqual([rootSession, 'early']);
    rootRef.stop();
  });

  it('lists the actors of several actor systems (separate createActor roots) sharing one hub', () => {
    let roots: unknown[] = [];
    const hub = new InspectionHub({ root: () => roots });
    const first = startParent(hub);
    const second = startParent(hub);
    roots = [first, second];
    const socket = new FakeSocket();
    hub.attach(socket.ws);
    const [a, b] = socket.hello();
    expect([a?.session, b?.session]).toEqual([first.sessionId, second.sessionId]);

    second.send({ type: 'spawn', id: 'kid' });
    const kid = socket.inspected().find((data) => data.kind === 'actor' && data.actor === 'kid');
    expect(kid?.parent).toBe(b?.session);
    first.stop();
    expect(hub.counters.actors).toBe(2);
    expect(socket.hello().length).toBe(2);
    second.stop();
    expect(hub.counters.actors).toBe(0);
  });

  it('never throws into XState, whatever the event or the socket does', () => {
    const hub = new InspectionHub();
    const socket = new FakeSocket();
    hub.attach(socket.ws);
    const junk = [
      { type: '@xstate.actor', actorRef: null },
      { type: '@xstate.event', actorRef: { sessionId: 7 }, event: 'not an object', sourceRef: {} },
      { type: '@xstate.snapshot', actorRef: {}, event: null, snapshot: null },
      { type: '@xstate.transition' },
      null,
    ];
    for (const event of junk) expect(() => hub.inspect(event as unknown as InspectionEvent)).not.toThrow();
    socket.send = () => {
      throw new Error('socket exploded');
    };
    const root = startParent(hub);
    expect(() => root.send({ type: 'spawn', id: 'x' })).not.toThrow();
    expect(hub.counters.errors).toBeGreaterThan(0);
    root.stop();
  });

  it('drops messages for a backed-up client, then tells it how many it missed', () => {
    const hub = new InspectionHub({ maxBufferedBytes: 1024 });
    const socket = new FakeSocket();
    hub.attach(socket.ws);
    const root = startParent(hub);
    const before = socket.sent.length;

    socket.bufferedAmount = 4096;
    for (let i = 0; i < 10; i++) root.send({ type: 'spawn', id: `c${i}` });
    expect(socket.sent.length).toBe(before);
    const { dropped } = hub.counters;
    expect(dropped).toBeGreaterThan(10);

    // The socket drains: the next write callback sends the notice.
    socket.bufferedAmount = 0;
    socket.written.at(-1)?.();
    expect(socket.sent.at(-1)).toEqual({ push: 'INSPECT_DROPPED', data: { count: dropped } });
    root.send({ type: 'spawn', id: 'after' });
    expect(socket.sent.filter((message) => message.push === 'INSPECT_DROPPED')).toHaveLength(1);
    expect(socket.sent.at(-1)?.push).toBe('INSPECT');
    root.stop();
  });

  it('caps the live-actor map and the number of clients, and refuses clients after close', () => {
    const hub = new InspectionHub({ maxActors: 3, maxClients: 2 });
    const first = new FakeSocket();
    const second = new FakeSocket();
    const third = new FakeSocket();
    expect(hub.attach(first.ws)).toBe(true);
    expect(hub.attach(second.ws)).toBe(true);
    expect(hub.full).toBe(true);
    expect(hub.attach(third.ws)).toBe(false);
    expect(third.closedWith).toBe(1013);

    const root = startParent(hub);
    for (let i = 0; i < 5; i++) root.send({ type: 'spawn', id: `c${i}` });
    expect(hub.counters).toMatchObject({ actors: 3, untracked: 3 });

    hub.close();
    expect(first.closedWith).toBe(1001);
    expect(second.closedWith).toBe(1001);
    const late = new FakeSocket();
    expect(hub.attach(late.ws)).toBe(false);
    expect(late.closedWith).toBe(1001);
    root.stop();
  });
});
