/**
 * IPC over the real Unix socket: SEND by id and name, RECV long polls that wake on
 * arrival, per-sender FIFO order, bounded mailboxes (QUOTA_EXCEEDED, never a silent
 * drop), NOT_FOUND for unknown and exited agents, BROADCAST, REGISTER (unique, released
 * with its agent, reclaimed by a restarted spawned agent), MESSAGE_RECEIVED events, the
 * SDK's request/response and message iterator, and cleanup on disconnect.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import type { Message } from '../../src/protocol/schemas/ipc.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { EventLog, failure, readJsonWhenThere, script, sleep, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const MAILBOX = 5;
let kernel: TestKernel;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(name?: string): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null, name });
  clients.push(c);
  return c;
}

const idOf = (c: AgentOSClient) => c.agentId as number;

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted', mailboxSize: MAILBOX });
  dir = mkdtempSync(join(tmpdir(), 'agentos-ipc-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  await until(() => kernel.agents().length === 0 && kernel.mailboxes.size === 0, 'every agent and mailbox of the test to be gone');
});

afterAll(async () => {
  await kernel?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('SEND and RECV', () => {
  it('delivers by id and by name, with message ids, sender and reply_to', async () => {
    const a = await client('alice');
    const b = await client();
    await b.register('bob');
    const byId = await a.send(idOf(b), { n: 1 });
    expect(byId).toMatchObject({ success: true, delivered_to: idOf(b) });
    const byName = await a.send('bob', 'two', { replyTo: byId.message_id });
    expect(byName.delivered_to).toBe(idOf(b));
    expect(byName.message_id).toBeGreaterThan(byId.message_id);
    // The raw wire form: to_name, and "to" given as a name.
    expect(await a.call('SEND', { to_name: 'bob', message: null })).toMatchObject({ delivered_to: idOf(b) });
    expect(await a.call('SEND', { to: 'bob', message: [3] })).toMatchObject({ delivered_to: idOf(b) });
    const got = (await b.call('RECV', { max: 10 })) as { messages: Message[]; count: number };
    expect(got.count).toBe(4);
    expect(got.messages[0]).toMatchObject({ id: byId.message_id, from: idOf(a), from_name: 'alice', message: { n: 1 } });
    expect(got.messages[0]?.reply_to).toBeUndefined();
    expect(got.messages[1]).toMatchObject({ id: byName.message_id, message: 'two', reply_to: byId.message_id });
    expect(got.messages.map((m) => m.message)).toEqual([{ n: 1 }, 'two', null, [3]]);
    expect(typeof got.messages[0]?.timestamp).toBe('number');
    expect(await b.recv()).toEqual([]);
  });

  it('keeps each sender’s order (FIFO) and RECV honours max', async () => {
    const a = await client();
    const c = await client();
    const b = await client();
    // Concurrent senders, each pipelining its messages.
    await Promise.all([
      ...Array.from({ length: MAILBOX - 2 }, (_, n) => a.send(idOf(b), { from: 'a', n })),
      ...Array.from({ length: 2 }, (_, n) => c.send(idOf(b), { from: 'c', n })),
    ]);
    const first = await b.recv({ max: 2 });
    expect(first).toHaveLength(2);
    const all = [...first, ...(await b.recv({ max: 100 }))];
    expect(all).toHaveLength(MAILBOX);
    const order = (who: string) =>
      all.filter((m) => (m.message as { from: string }).from === who).map((m) => (m.message as { n: number }).n);
    expect(order('a')).toEqual([0, 1, 2]);
    expect(order('c')).toEqual([0, 1]);
    // Message ids rise in delivery order.
    expect(all.map((m) => m.id)).toEqual([...all.map((m) => m.id)].sort((x, y) => x - y));
  });

  it('a waiting RECV wakes the moment a message arrives (well under 200 ms), and returns empty at its deadline', async () => {
    const a = await client();
    const b = await client();
    const waiting = b.call('RECV', { wait_ms: 10_000 }) as Promise<{ messages: Message[] }>;
    await sleep(100);
    const sentAt = Date.now();
    await a.send(idOf(b), 'wake');
    const got = await waiting;
    expect(Date.now() - sentAt).toBeLessThan(200);
    expect(got.messages.map((m) => m.message)).toEqual(['wake']);

    const started = Date.now();
    expect(await b.recv({ waitMs: 150 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('a full mailbox answers the sender QUOTA_EXCEEDED and keeps what it has; RECV makes room', async () => {
    const a = await client();
    const b = await client();
    for (let n = 0; n < MAILBOX; n++) await a.send(idOf(b), n);
    await failure(a.send(idOf(b), 'one too many'), 'QUOTA_EXCEEDED');
    expect(kernel.mailboxes.get(idOf(b))?.refused).toBe(1);
    expect((await b.recv({ max: 1 })).map((m) => m.message)).toEqual([0]);
    await a.send(idOf(b), 'fits now');
    expect((await b.recv({ max: 100 })).map((m) => m.message)).toEqual([1, 2, 3, 4, 'fits now']);
  });

  it('NOT_FOUND for an unknown id or name and for an agent that has exited', async () => {
    const a = await client();
    await failure(a.send(987_654, 'hi'), 'NOT_FOUND');
    await failure(a.send('nobody-by-this-name', 'hi'), 'NOT_FOUND');
    const gone = await client('gone');
    const goneId = idOf(gone);
    await gone.close();
    await until(() => kernel.agents().every((r) => r.id !== goneId), 'the closed client to be gone');
    await failure(a.send(goneId, 'hi'), 'NOT_FOUND');
    await failure(a.send('gone', 'hi'), 'NOT_FOUND');
  });

  it('rejects bad requests: no target, no message, an oversized message', async () => {
    const a = await client();
    const b = await client();
    expect((await failure(a.call('SEND', { message: 1 }), 'INVALID_REQUEST')).message).toMatch(/to/);
    await failure(a.call('SEND', { to: idOf(b) }), 'INVALID_REQUEST');
    await failure(a.call('RECV', { wait_ms: -1 }), 'INVALID_REQUEST');
    const big = 'x'.repeat(300 * 1024);
    const error = await failure(a.send(idOf(b), big), 'INVALID_REQUEST');
    expect(error.reply?.field).toBe('message');
    await failure(a.broadcast(big), 'INVALID_REQUEST');
    expect(await b.recv()).toEqual([]);
  });

  it('a mailbox goes with its agent: messages dropped with it, a waiting RECV of another connection is not stuck', async () => {
    const a = await client();
    const b = await client();
    const bId = idOf(b);
    for (let n = 0; n < 3; n++) await a.send(bId, n);
    expect(kernel.mailboxes.get(bId)?.pending).toBe(3);
    await b.close();
    await until(() => kernel.mailboxes.get(bId) === undefined, 'the mailbox to be removed');
    await failure(a.send(bId, 'late'), 'NOT_FOUND');
  });
});

describe('BROADCAST', () => {
  it('reaches every other live agent, and the sender too with include_self', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    expect(await a.broadcast({ all: 1 })).toMatchObject({ success: true, delivered_count: 2, full: [] });
    expect((await b.recv()).map((m) => [m.from, m.message])).toEqual([[idOf(a), { all: 1 }]]);
    expect((await c.recv()).map((m) => m.message)).toEqual([{ all: 1 }]);
    expect(await a.recv()).toEqual([]);
    expect((await a.broadcast('me too', { includeSelf: true })).delivered_count).toBe(3);
    for (const x of [a, b, c]) expect((await x.recv()).map((m) => m.message)).toEqual(['me too']);
  });

  it('names the agents whose mailbox was full instead of dropping in silence', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    for (let n = 0; n < MAILBOX; n++) await a.send(idOf(b), n);
    const reply = await a.broadcast('hello');
    expect(reply).toMatchObject({ delivered_count: 1, full: [idOf(b)] });
    expect((await c.recv()).map((m) => m.message)).toEqual(['hello']);
  });
});

describe('REGISTER', () => {
  it('names are unique among live agents and released when their agent ends', async () => {
    const a = await client();
    const b = await client();
    expect(await a.register('unique-name')).toMatchObject({ success: true, agent_id: idOf(a), name: 'unique-name' });
    expect(await a.register('unique-name')).toMatchObject({ agent_id: idOf(a) }); // again: still ours
    await failure(b.register('unique-name'), 'CONFLICT');
    await failure(b.call('REGISTER', { name: '' }), 'INVALID_REQUEST');
    // A client's new name replaces its old one.
    await a.register('renamed');
    expect(await b.register('unique-name')).toMatchObject({ agent_id: idOf(b) });
    await a.close();
    await until(() => kernel.agents().length === 1, 'a to be gone');
    expect(await b.register('renamed')).toMatchObject({ agent_id: idOf(b), name: 'renamed' });
    expect((await b.send('renamed', 'to myself')).delivered_to).toBe(idOf(b));
  });

  it('a spawned agent keeps its REGISTERed name across a restart, answers requests by it, and frees it when it ends', async () => {
    const out = join(dir, 'svc');
    mkdirSync(out);
    const pyDir = resolve('test/python');
    const path = script(
      dir,
      'svc.py',
      [
        'import json, os, sys',
        `sys.path.insert(0, ${JSON.stringify(pyDir)})`,
        'from agentos_client import AgentOSClient',
        'out, marker = sys.argv[2], sys.argv[3]',
        'c = AgentOSClient(sys.argv[1]).connect()',
        'c.hello()',
        'reply = c.call(0x23, {"name": "svc"})[2]',
        'tmp = os.path.join(out, "tmp")',
        'with open(tmp, "w") as f: json.dump(reply, f)',
        'os.rename(tmp, os.path.join(out, f"register-{os.getpid()}.json"))',
        'if not os.path.exists(marker):',
        '    open(marker, "w").close()',
        '    sys.exit(1)',
        'while True:',
        '    got = c.call(0x21, {"wait_ms": 1000})[2]',
        '    for m in got["messages"]:',
        '        c.call(0x20, {"to": m["from"], "message": {"echo": m["message"]}, "reply_to": m["id"]})',
      ].join('\n'),
    );
    const owner = await client();
    const events = new EventLog(kernel);
    const spawned = (await owner.call('SPAWN', {
      name: 'svc-host',
      script: path,
      interpreter: 'python3',
      args: [out, join(out, 'crashed-once')],
      restart_policy: 'on-failure',
    })) as { agent_id: number; pid: number };
    const first = await readJsonWhenThere(join(out, `register-${spawned.pid}.json`));
    expect(first).toMatchObject({ success: true, agent_id: spawned.agent_id, name: 'svc' });
    const second = await events.wait('AGENT_SPAWNED', spawned.agent_id, 2, 15_000);
    const again = await readJsonWhenThere(join(out, `register-${second.data.pid}.json`));
    expect(again).toMatchObject({ success: true, agent_id: spawned.agent_id, name: 'svc' });

    await failure(owner.register('svc'), 'CONFLICT');
    const reply = await owner.request('svc', { q: 42 }, { timeoutMs: 10_000 });
    expect(reply).toMatchObject({ from: spawned.agent_id, from_name: 'svc-host', message: { echo: { q: 42 } } });
    // Its spawn name still works too.
    expect((await owner.request('svc-host', 'ping', { timeoutMs: 10_000 })).message).toEqual({ echo: 'ping' });

    await owner.call('KILL', { id: spawned.agent_id, grace_ms: 2000 });
    await until(() => kernel.agents().every((r) => r.id !== spawned.agent_id), 'svc-host to end');
    expect(kernel.mailboxes.get(spawned.agent_id)).toBeUndefined();
    await failure(owner.send('svc', 'anyone?'), 'NOT_FOUND');
    expect(await owner.register('svc')).toMatchObject({ agent_id: idOf(owner) });
    events.stop();
  });
});

describe('MESSAGE_RECEIVED', () => {
  it('is emitted per delivery with message_id, from and to, never the body', async () => {
    const a = await client();
    const b = await client();
    const watcher = await client();
    await watcher.call('SUBSCRIBE', { event_types: ['MESSAGE_RECEIVED'] });
    const sent = await a.send(idOf(b), { secret: 'body' });
    const polled = (await watcher.call('POLL_EVENTS', { wait_ms: 2000 })) as { events: KernelEvent[] };
    expect(polled.events).toHaveLength(1);
    expect(polled.events[0]).toMatchObject({
      type: 'MESSAGE_RECEIVED',
      source_agent_id: idOf(a),
      data: { message_id: sent.message_id, from: idOf(a), to: idOf(b), agent_id: idOf(b) },
    });
    expect(JSON.stringify(polled.events[0])).not.toContain('secret');
    // A refused message is not reported as received.
    for (let n = 0; n < MAILBOX - 1; n++) await a.send(idOf(b), n);
    await failure(a.send(idOf(b), 'full'), 'QUOTA_EXCEEDED');
    const rest = (await watcher.call('POLL_EVENTS', { max: 100 })) as { events: KernelEvent[] };
    expect(rest.events).toHaveLength(MAILBOX - 1);
  });
});

describe('SDK: request and messages()', () => {
  it('request/response between two clients; other messages wait for recv; TIMEOUT when nobody answers', async () => {
    const asker = await client();
    const responder = await client();
    await responder.register('responder');
    const bystander = await client();
    const served = (async () => {
      for await (const message of responder.messages({ waitMs: 1000 })) {
        if (message.message === 'stop') return;
        await bystander.send(idOf(asker), 'unrelated');
        await responder.reply(message, { answer: (message.message as { n: number }).n * 2 });
      }
    })();
    const [one, two] = await Promise.all([
      asker.request('responder', { n: 1 }, { timeoutMs: 5000 }),
      asker.request(idOf(responder), { n: 21 }, { timeoutMs: 5000 }),
    ]);
    expect(one.message).toEqual({ answer: 2 });
    expect(two.message).toEqual({ answer: 42 });
    expect(one.from).toBe(idOf(responder));
    expect(typeof one.reply_to).toBe('number');
    // The unrelated messages that arrived meanwhile were kept.
    const kept = await asker.recv({ max: 10, waitMs: 2000 });
    const more = kept.length < 2 ? await asker.recv({ max: 10, waitMs: 2000 }) : [];
    expect([...kept, ...more].map((m) => m.message)).toEqual(['unrelated', 'unrelated']);
    await asker.send('responder', 'stop');
    await served;

    const silent = await client();
    const started = Date.now();
    await failure(asker.request(idOf(silent), 'anyone?', { timeoutMs: 200 }), 'TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('messages() yields in order as they arrive and ends when the client closes', async () => {
    const a = await client();
    const b = await client();
    const seen: unknown[] = [];
    const loop = (async () => {
      for await (const message of b.messages({ waitMs: 500 })) seen.push(message.message);
    })();
    for (let n = 0; n < 3; n++) await a.send(idOf(b), n);
    await until(() => seen.length === 3, 'three messages through the iterator');
    expect(seen).toEqual([0, 1, 2]);
    await b.close();
    await loop;
  });
});
