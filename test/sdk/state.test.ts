/**
 * The SDK's state methods against a real kernel: store, fetch, delete, keys, cas and
 * incr, every option, the replies' exact shapes, and each error they reject with.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CasReply, DeleteReply, FetchReply, IncrReply, KeysReply, StoreReply } from '../../src/protocol/schemas/state.js';
import { failure, sleep } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { closeAll, connect, expectShape } from './support.js';

let kernel: TestKernel;

beforeAll(async () => {
  kernel = await startTestKernel({ stateMaxKeysPerAgent: 4, stateMaxValueBytes: 1024 });
});

afterEach(closeAll);

afterAll(async () => {
  await kernel?.cleanup();
});

describe('store and fetch', () => {
  it('stores any JSON value in the agent scope by default, and in the scope asked for', async () => {
    const os = await connect(kernel);
    const stored = await os.store('greeting', { text: 'hi', n: [1, 2] });
    expectShape(StoreReply, stored);
    expect(stored).toEqual({ success: true, key: 'greeting', scope: 'agent' });
    const fetched = await os.fetch('greeting');
    expectShape(FetchReply, fetched);
    expect(fetched).toEqual({ success: true, key: 'greeting', exists: true, value: { text: 'hi', n: [1, 2] }, scope: 'agent' });
    // Not in another scope.
    expect(await os.fetch('greeting', { scope: 'global' })).toMatchObject({ exists: false, value: null, scope: 'global' });
    expect(await os.store('sdk-shared', 42, { scope: 'global' })).toMatchObject({ scope: 'global' });
    expect((await os.fetch('sdk-shared', { scope: 'global' })).value).toBe(42);
  });

  it('keeps agent-scope keys private and global ones shared', async () => {
    const a = await connect(kernel);
    const b = await connect(kernel);
    await a.store('mine', 'a');
    await a.store('sdk-ours', 'a', { scope: 'session' });
    expect(await b.fetch('mine')).toMatchObject({ exists: false, value: null });
    expect(await b.fetch('sdk-ours', { scope: 'session' })).toMatchObject({ exists: true, value: 'a' });
  });

  it('ttl: expires_in in the replies, and the key is gone once it runs out', async () => {
    const os = await connect(kernel);
    const stored = await os.store('brief', 'soon gone', { ttl: 0.2 });
    expectShape(StoreReply, stored);
    expect(stored.expires_in).toBeGreaterThan(0);
    expect(stored.expires_in).toBeLessThanOrEqual(0.2);
    const fetched = await os.fetch('brief');
    expectShape(FetchReply, fetched);
    expect(fetched.exists).toBe(true);
    expect(fetched.expires_in).toBeLessThanOrEqual(0.2);
    await sleep(300);
    expect(await os.fetch('brief')).toMatchObject({ exists: false, value: null });
    // A STORE without ttl replaces the expiry: the key then has none.
    await os.store('kept', 1, { ttl: 60 });
    await os.store('kept', 2);
    expect((await os.fetch('kept')).expires_in).toBeUndefined();
  });

  it('rejects null, a bad key, a bad ttl and a bad scope with INVALID_REQUEST naming the field', async () => {
    const os = await connect(kernel);
    expect((await failure(os.store('k', null), 'INVALID_REQUEST')).reply?.field).toBe('value');
    expect((await failure(os.store('', 1), 'INVALID_REQUEST')).reply?.field).toBe('key');
    expect((await failure(os.store('k', 1, { ttl: 0 }), 'INVALID_REQUEST')).reply?.field).toBe('ttl');
    expect((await failure(os.fetch('x'.repeat(513)), 'INVALID_REQUEST')).reply?.field).toBe('key');
    // A scope outside the schema's enum (as a caller without types could send).
    const scope = 'everywhere' as unknown as 'global';
    expect((await failure(os.fetch('k', { scope }), 'INVALID_REQUEST')).reply?.field).toBe('scope');
  });

  it('rejects a value too large, and a new key beyond the limit, with QUOTA_EXCEEDED', async () => {
    const os = await connect(kernel);
    await failure(os.store('big', 'x'.repeat(2000)), 'QUOTA_EXCEEDED');
    for (const key of ['q1', 'q2', 'q3', 'q4']) await os.store(key, 0);
    await failure(os.store('q5', 0), 'QUOTA_EXCEEDED');
    await failure(os.incr('q5'), 'QUOTA_EXCEEDED');
    // Overwriting an existing key always fits.
    expect(await os.store('q4', 'again')).toMatchObject({ success: true });
  });
});

describe('delete and keys', () => {
  it('deletes once, then reports nothing deleted', async () => {
    const os = await connect(kernel);
    await os.store('doomed', true, { scope: 'session' });
    const deleted = await os.delete('doomed', { scope: 'session' });
    expectShape(DeleteReply, deleted);
    expect(deleted).toEqual({ success: true, key: 'doomed', scope: 'session', deleted: true });
    expect((await os.delete('doomed', { scope: 'session' })).deleted).toBe(false);
    expect((await os.fetch('doomed', { scope: 'session' })).exists).toBe(false);
    await failure(os.delete(''), 'INVALID_REQUEST');
  });

  it('lists keys by prefix, sorted, with a limit that says when it truncated', async () => {
    const os = await connect(kernel);
    for (const key of ['list/b', 'list/a', 'list/c', 'other']) await os.store(key, 0, { scope: 'session' });
    const all = await os.keys({ prefix: 'list/', scope: 'session' });
    expectShape(KeysReply, all);
    expect(all).toEqual({ success: true, keys: ['list/a', 'list/b', 'list/c'], count: 3, truncated: false, scope: 'session' });
    expect(await os.keys({ prefix: 'list/', scope: 'session', limit: 2 })).toMatchObject({
      keys: ['list/a', 'list/b'],
      count: 2,
      truncated: true,
    });
    // Defaults: every key of the caller's own agent scope.
    await os.store('own', 1);
    expect(await os.keys()).toMatchObject({ keys: ['own'], scope: 'agent', truncated: false });
    expect((await failure(os.keys({ limit: 0 }), 'INVALID_REQUEST')).reply?.field).toBe('limit');
  });
});

describe('cas and incr', () => {
  it('cas creates with expected null, swaps on a match, and rejects a mismatch with CONFLICT and the current value', async () => {
    const os = await connect(kernel);
    const created = await os.cas('lock', null, { owner: 1 });
    expectShape(CasReply, created);
    expect(created).toEqual({ success: true, swapped: true, key: 'lock', scope: 'agent', value: { owner: 1 } });
    const mismatch = await failure(os.cas('lock', null, { owner: 2 }), 'CONFLICT');
    expect(mismatch.reply).toMatchObject({ swapped: false, exists: true, value: { owner: 1 } });
    const stale = await failure(os.cas('lock', { owner: 9 }, { owner: 2 }), 'CONFLICT');
    expect(stale.reply).toMatchObject({ exists: true, value: { owner: 1 } });
    expect((await os.cas('lock', { owner: 1 }, { owner: 2 })).value).toEqual({ owner: 2 });
    expect((await os.fetch('lock')).value).toEqual({ owner: 2 });
    // A missing key with a non-null expectation: CONFLICT saying it does not exist.
    expect((await failure(os.cas('absent', 1, 2), 'CONFLICT')).reply).toMatchObject({ exists: false, value: null });
    expect((await failure(os.cas('lock', { owner: 2 }, null), 'INVALID_REQUEST')).reply?.field).toBe('value');
  });

  it('cas takes a ttl and a scope', async () => {
    const os = await connect(kernel);
    await os.cas('sdk-lease', null, 'held', { scope: 'global', ttl: 0.2 });
    expect((await os.fetch('sdk-lease', { scope: 'global' })).expires_in).toBeLessThanOrEqual(0.2);
    await sleep(300);
    expect((await os.cas('sdk-lease', null, 'mine now', { scope: 'global' })).swapped).toBe(true);
  });

  it('incr counts from 0 by 1, takes by (negative, fractional) and a scope, and refuses a non-number', async () => {
    const os = await connect(kernel);
    const first = await os.incr('hits');
    expectShape(IncrReply, first);
    expect(first).toEqual({ success: true, key: 'hits', scope: 'agent', value: 1 });
    expect((await os.incr('hits', { by: 5 })).value).toBe(6);
    expect((await os.incr('hits', { by: -2.5 })).value).toBe(3.5);
    expect(await os.incr('sdk-hits', { scope: 'global', by: 2 })).toMatchObject({ scope: 'global', value: 2 });
    await os.store('word', 'seven');
    expect((await failure(os.incr('word'), 'CONFLICT')).reply).toMatchObject({ value: 'seven' });
    expect((await failure(os.incr('hits', { by: Number.NaN }), 'INVALID_REQUEST')).reply?.field).toBe('by');
  });
});
