/**
 * /inspect on a real kernel: a visualizer is greeted with the live actor tree, sees
 * connection actors come and go, is refused from a foreign Origin, and one that stops
 * reading has messages dropped (bounded memory) and is told how many on recovery.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { InspectionEvent } from 'xstate';
import type { InspectData, InspectionMessage, LiveActor } from '../../src/inspection/messages.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
const cleanups: (() => unknown)[] = [];

/** A visualizer: collects every message; `until` waits for one matching. */
class Inspector {
  readonly messages: InspectionMessage[] = [];
  #changed: (() => void) | undefined;

  private constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as InspectionMessage);
      this.#changed?.();
    });
  }

  static open(): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${inspectUrl()}`, { perMessageDeflate: false });
      const inspector = new Inspector(ws);
      ws.once('open', () => {
        cleanups.push(() => ws.close());
        resolve(inspector);
      });
      ws.once('error', reject);
    });
  }

  async until<T>(find: (messages: InspectionMessage[]) => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find(this.messages);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  hello(): Promise<LiveActor[]> {
    return this.until(
      (messages) => messages.find((m) => m.push === 'INSPECT_HELLO')?.data as { actors: LiveActor[] } | undefined,
      'hello',
    ).then((data) => data.actors);
  }

  inspected(find: (data: InspectData) => boolean, what: string): Promise<InspectData> {
    return this.until((messages) => messages.find((m) => m.push === 'INSPECT' && find(m.data))?.data as InspectData | undefined, what);
  }
}

function inspectUrl(): string {
  return `${kernel.httpUrl!.replace('http', 'ws')}/inspect`;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  kernel = await startTestKernel();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await eventually(() => kernel.inspection.counters.clients === 0, 'every inspector to detach');
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('/inspect', () => {
  it('greets with the root kernel actor, then streams a new connection actor and its snapshots', async () => {
    const inspector = await Inspector.open();
    const actors = await inspector.hello();
    const root = actors.find((actor) => actor.machine === 'kernel');
    expect(root).toMatchObject({ status: 'active', value: 'running' });
    expect(root?.parent).toBeUndefined();
    // The kernel's own children (its supervisors) are listed too; count from here.
    const known = actors.length;
    expect(kernel.inspection.counters.actors).toBe(known);

    const client = await RawClient.connect(kernel.socketPath);
    cleanups.push(() => client.close());
    const opened = await inspector.inspected((d) => d.kind === 'event' && d.event?.type === 'connection.opened', 'connection.opened');
    expect(opened.session).toBe(root?.session);
    const connectionId = opened.event?.connectionId as string;
    expect(connectionId).toMatch(/^connection-\d+$/);

    const actor = await inspector.inspected((d) => d.kind === 'actor' && d.actor === connectionId, 'the connection actor');
    expect(actor).toMatchObject({ parent: root?.session, machine: 'connection' });
    expect(typeof actor.at).toBe('number');
    const open = await inspector.inspected((d) => d.kind === 'snapshot' && d.session === actor.session, 'its first snapshot');
    expect(open.snapshot).toMatchObject({ status: 'active', value: 'open', context: { transport: 'unix', closeReason: null } });
    expect(kernel.inspection.counters.actors).toBe(known + 1);

    client.close();
    const gone = await inspector.inspected(
      (d) => d.kind === 'snapshot' && d.session === actor.session && d.snapshot?.status !== 'active',
      'the connection ending',
    );
    expect(['done', 'stopped']).toContain(gone.snapshot?.status);
    await eventually(() => kernel.inspection.counters.actors === known, 'the connection to leave the live list');
  });

  it('lists connections that opened while nobody was listening', async () => {
    const events = kernel.inspection.counters.events;
    const client = await RawClient.connect(kernel.socketPath);
    cleanups.push(() => client.close());
    await eventually(() => kernel.agents().length === 1, 'the connection to register');
    // Nobody listening: nothing was serialized or recorded.
    expect(kernel.inspection.counters).toMatchObject({ events, actors: 0 });

    const inspector = await Inspector.open();
    const actors = await inspector.hello();
    const root = actors.find((actor) => actor.machine === 'kernel');
    const connection = actors.find((actor) => actor.machine === 'connection');
    expect(connection).toMatchObject({ parent: root?.session, status: 'active', value: 'open' });
    expect(connection?.actor).toMatch(/^connection-\d+$/);
  });

  it('refuses a foreign Origin with 403', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const ws = new WebSocket(inspectUrl(), { headers: { Origin: 'https://evil.example.com' } });
      ws.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode);
        ws.terminate();
      });
      ws.on('open', () => {
        ws.close();
        reject(new Error('a foreign origin was accepted'));
      });
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(403);
    expect(kernel.inspection.counters.clients).toBe(0);
  });

  it('drops messages for a client that stops reading, and tells it the count when it reads again', async () => {
    const socket = await rawUpgrade();
    cleanups.push(() => socket.destroy());
    await eventually(() => kernel.inspection.counters.clients === 1, 'the raw inspector to attach');
    socket.pause();

    // Large snapshots through the kernel's own hub: about 33 KB each after serialization.
    const context = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'x'.repeat(1024)]));
    const event = {
      type: '@xstate.snapshot',
      rootId: 'pump',
      actorRef: { id: 'pump', sessionId: 'pump:1' },
      event: { type: 'tick' },
      snapshot: { status: 'active', value: 'pumping', context },
    } as unknown as InspectionEvent;
    const { sent } = kernel.inspection.counters;
    let pumped = 0;
    while (kernel.inspection.counters.dropped < 500 && pumped < 20_000) {
      for (let i = 0; i < 100; i++) kernel.inspection.inspect(event);
      pumped += 100;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const counters = kernel.inspection.counters;
    expect(counters.dropped).toBeGreaterThanOrEqual(500);
    // Whatever the client fails to read, the kernel holds at most 1 MiB plus one message for it.
    expect(counters.buffered).toBeLessThan(1024 * 1024 + 64 * 1024);
    expect(counters.sent - sent + counters.dropped).toBe(pumped);

    const notice = await readUntilNotice(socket);
    expect(notice).toBe(counters.dropped);
  });
});

/** An inspector that upgrades by hand over a plain TCP socket, so the test controls reading. */
async function rawUpgrade(): Promise<Socket> {
  const { hostname, port } = new URL(kernel.httpUrl!);
  const socket = createConnection(Number(port), hostname);
  socket.on('error', () => {});
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET /inspect HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
  });
  return socket;
}

/** Resume reading, discarding frames, until the INSPECT_DROPPED notice; returns its count. */
function readUntilNotice(socket: Socket, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const pattern = /"push":"INSPECT_DROPPED","data":\{"count":(\d+)\}/;
    let tail = '';
    const timer = setTimeout(() => reject(new Error('no INSPECT_DROPPED notice')), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      // Server frames are unmasked, so the JSON is in the bytes; keep a tail across chunk boundaries.
      const text = tail + chunk.toString('latin1');
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
      tail = text.slice(-100);
    });
    socket.resume();
  });
}
