/**
 * FILE_CHANGED over the real Unix socket, on real files in a temp directory: create,
 * modify and delete each give one event to a matching glob and none to the others,
 * `**` against `*`, can_read required, and watchers shared and closed with their last user.
 */
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { failure, sleep, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

interface Poll {
  events: KernelEvent[];
  count: number;
}

/** Longer than the watcher's debounce: time for a stray second event to show up. */
const SETTLE_MS = 300;
let kernel: TestKernel;
let root: string;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null });
  clients.push(c);
  return c;
}

async function watching(glob: string): Promise<AgentOSClient> {
  const c = await client();
  expect(await c.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: glob } })).toMatchObject({
    success: true,
    subscribed: ['FILE_CHANGED'],
  });
  return c;
}

const poll = async (c: AgentOSClient, wait_ms = 0) => (await c.call('POLL_EVENTS', { wait_ms })) as Poll;

/** The one event that arrives (waiting for it), checking no second follows. */
async function one(c: AgentOSClient): Promise<KernelEvent['data']> {
  const first = await poll(c, 5_000);
  await sleep(SETTLE_MS);
  const events = [...first.events, ...(await poll(c)).events];
  expect(events.map((e) => e.data)).toHaveLength(1);
  expect(events[0]?.type).toBe('FILE_CHANGED');
  expect(events[0]?.source_agent_id).toBeNull();
  return events[0]?.data as KernelEvent['data'];
}

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted' });
  root = await mkdtemp(join(tmpdir(), 'agentos-files-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  await until(
    () => kernel.subscriptions.size === 0 && kernel.agents().length === 0 && kernel.subscriptions.watchers === 0,
    'every subscriber and watcher of the test to be gone',
  );
});

afterAll(async () => {
  await kernel?.cleanup();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function freshDir(): Promise<string> {
  dir = join(root, `case-${++n}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('FILE_CHANGED for create, modify and delete', () => {
  it('gives one event of each kind to a matching glob, none to a non-matching one or to "*"', async () => {
    const d = await freshDir();
    const txt = await watching(join(d, '*.txt'));
    const log = await watching(join(d, '*.log'));
    const all = await client();
    await all.call('SUBSCRIBE', { event_types: ['*'] });
    const file = join(d, 'a.txt');

    await writeFile(file, 'one');
    expect(await one(txt)).toEqual({ path: file, change: 'create' });
    await writeFile(file, 'two, longer');
    expect(await one(txt)).toEqual({ path: file, change: 'modify' });
    await unlink(file);
    expect(await one(txt)).toEqual({ path: file, change: 'delete' });

    expect((await poll(log)).count).toBe(0);
    expect((await poll(all)).events.filter((e) => e.type === 'FILE_CHANGED')).toEqual([]);
  });

  it('a file that existed before the subscription is modified, not created', async () => {
    const d = await freshDir();
    const file = join(d, 'old.txt');
    await writeFile(file, 'before');
    const c = await watching(join(d, '*.txt'));
    await writeFile(file, 'after');
    expect(await one(c)).toEqual({ path: file, change: 'modify' });
  });

  it('"**" crosses directories (and matches none), "*" does not', async () => {
    const d = await freshDir();
    const deep = join(d, 'sub', 'deep');
    await mkdir(deep, { recursive: true });
    const anyDepth = await watching(join(d, '**/*.txt'));
    const topOnly = await watching(join(d, '*.txt'));
    expect(kernel.subscriptions.watchers).toBe(1); // one directory, one watcher

    const nested = join(deep, 'n.txt');
    await writeFile(nested, 'x');
    expect(await one(anyDepth)).toEqual({ path: nested, change: 'create' });
    expect((await poll(topOnly)).count).toBe(0);

    const top = join(d, 'top.txt');
    await writeFile(top, 'x');
    expect(await one(anyDepth)).toEqual({ path: top, change: 'create' });
    expect(await one(topOnly)).toEqual({ path: top, change: 'create' });
  });
});

describe('FILE_CHANGED subscriptions', () => {
  it('needs filter.path, in an existing directory, on FILE_CHANGED alone', async () => {
    const d = await freshDir();
    const c = await client();
    expect((await failure(c.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'] }), 'INVALID_REQUEST')).message).toContain('filter.path');
    const missing = await failure(
      c.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(d, 'nope', '*.txt') } }),
      'INVALID_REQUEST',
    );
    expect(missing.message).toContain('filter.path');
    const mixed = await failure(
      c.call('SUBSCRIBE', { event_types: ['FILE_CHANGED', 'CUSTOM'], filter: { path: join(d, '*') } }),
      'INVALID_REQUEST',
    );
    expect(mixed.message).toContain('FILE_CHANGED only');
    expect(kernel.subscriptions.size).toBe(0);
    expect(kernel.subscriptions.watchers).toBe(0);
  });

  it('refuses a subscriber without can_read (PERMISSION_DENIED, audited)', async () => {
    const d = await freshDir();
    const c = await client();
    const [record] = kernel.agents();
    if (!record) throw new Error('no agent');
    record.permissions = { ...record.permissions, can_read: false };
    const blocked: KernelEvent[] = [];
    const off = kernel.events.on((event) => {
      if (event.type === 'SYSCALL_BLOCKED') blocked.push(event);
    });
    try {
      const denied = await failure(
        c.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(d, '*') } }),
        'PERMISSION_DENIED',
      );
      expect(denied.message).toContain('can_read');
    } finally {
      off();
    }
    expect(blocked.map((e) => e.data.agent_id)).toEqual([record.id]);
    expect(kernel.subscriptions.watchers).toBe(0);
  });

  it('shares a watcher per directory; unsubscribing, replacing the glob and disconnecting close it', async () => {
    const d = await freshDir();
    const other = await freshDir();
    const a = await watching(join(d, '*.txt'));
    const b = await watching(join(d, '*.log'));
    expect(kernel.subscriptions.watchers).toBe(1);

    await a.call('UNSUBSCRIBE', { event_types: ['FILE_CHANGED'] });
    expect(kernel.subscriptions.watchers).toBe(1); // b still uses it

    await b.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: join(other, '**') } });
    expect(kernel.subscriptions.watchers).toBe(1); // d's watcher closed, other's opened
    const file = join(other, 'x', 'y.bin');
    await mkdir(join(other, 'x'));
    await sleep(100);
    await writeFile(file, 'x');
    const events = (await poll(b, 5_000)).events;
    await sleep(SETTLE_MS);
    events.push(...(await poll(b)).events);
    expect(events.map((e) => e.data)).toContainEqual({ path: file, change: 'create' });

    await b.close();
    await until(() => kernel.subscriptions.watchers === 0, 'the last watcher to close with its subscriber');
  });
});
