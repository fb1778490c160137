/**
 * The relay's token store on real SQLite files in temp dirs, with a driven clock: round
 * trips, forgeries, expiry, revocation (listeners called at once), scope, garbage input,
 * and a reopened file that still verifies what it issued.
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelError } from '../../src/protocol/errors.js';
import { parseToken } from '../../src/relay/tokens/hash.js';
import { MAX_TOKEN_LENGTH } from '../../src/relay/tokens/schema.js';
import { TokenStore } from '../../src/relay/tokens/store.js';

const dirs: string[] = [];
const stores: TokenStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aos-tokens-'));
  dirs.push(dir);
  return join(dir, 'relay.db');
}

/** A store over a fresh file, with a clock the test moves. */
async function openStore(start = 1_000_000): Promise<{ store: TokenStore; path: string; clock: { now: number } }> {
  const path = await tempPath();
  const clock = { now: start };
  const store = TokenStore.open(path, { now: () => clock.now });
  stores.push(store);
  return { store, path, clock };
}

/** The token with its secret's first character changed to another valid one (canonical base64url). */
function withForgedSecret(token: string): string {
  const at = token.length - 43;
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

describe('TokenStore', () => {
  it('round-trips a machine token and an agent token', async () => {
    const { store, clock } = await openStore();
    const machine = store.create({ kind: 'machine', machine_id: 'laptop-1', label: 'my laptop' });
    expect(machine.token).toMatch(/^aos_machine_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(machine).toMatchObject({ kind: 'machine', machine_id: 'laptop-1', machines: null, ceiling: null, created_at: clock.now });

    const verified = store.verify(machine.token, { kind: 'machine', machine_id: 'laptop-1' });
    expect(verified).toEqual({ ok: true, record: expect.objectContaining({ id: machine.id, label: 'my laptop' }) });

    const agent = store.create({ kind: 'agent', machines: ['laptop-1', 'server'], ceiling: { can_exec: false, can_read: true } });
    const result = store.verify(agent.token, { kind: 'agent', machine_id: 'server' });
    expect(result.ok && result.record.ceiling).toEqual({ can_exec: false, can_read: true });
    expect(result.ok && result.record.machines).toEqual(['laptop-1', 'server']);

    const anywhere = store.create({ kind: 'agent', machines: '*' });
    expect(store.verify(anywhere.token, { kind: 'agent', machine_id: 'whatever' }).ok).toBe(true);
  });

  it('refuses a forged secret on a known id, and a token whose kind was relabelled', async () => {
    const { store } = await openStore();
    const agent = store.create({ kind: 'agent', machines: '*' });
    expect(store.verify(withForgedSecret(agent.token), { kind: 'agent' })).toEqual({ ok: false, reason: 'unknown' });
    const relabelled = agent.token.replace('aos_agent_', 'aos_machine_');
    expect(store.verify(relabelled, { kind: 'machine' })).toEqual({ ok: false, reason: 'unknown' });
    // A well-formed token for an id never issued.
    const stranger = `aos_agent_0123456789abcdef_${Buffer.alloc(32, 7).toString('base64url')}`;
    expect(store.verify(stranger, { kind: 'agent' })).toEqual({ ok: false, reason: 'unknown' });
  });

  it('expires on the driven clock, at expires_at exactly', async () => {
    const { store, clock } = await openStore();
    const token = store.create({ kind: 'machine', machine_id: 'm', expires_at: clock.now + 60_000 });
    clock.now += 59_999;
    expect(store.verify(token.token, { kind: 'machine', machine_id: 'm' }).ok).toBe(true);
    clock.now += 1;
    expect(store.verify(token.token, { kind: 'machine', machine_id: 'm' })).toEqual({ ok: false, reason: 'expired' });
  });

  it('revokes at once: listeners are called before revoke returns, later verifies fail', async () => {
    const { store, clock } = await openStore();
    const token = store.create({ kind: 'agent', machines: ['m'] });
    const seen: string[] = [];
    const stop = store.onRevoke((id) => seen.push(id));
    clock.now += 5;
    expect(store.revoke(token.id)).toBe('revoked');
    expect(seen).toEqual([token.id]);
    expect(store.verify(token.token, { kind: 'agent', machine_id: 'm' })).toEqual({ ok: false, reason: 'revoked' });
    expect(store.get(token.id)?.revoked_at).toBe(clock.now);

    expect(store.revoke(token.id)).toBe('already_revoked');
    expect(store.revoke('0000000000000000')).toBe('not_found');
    expect(seen).toHaveLength(1);

    stop();
    const other = store.create({ kind: 'agent', machines: ['m'] });
    store.revoke(other.id);
    expect(seen).toHaveLength(1);
  });

  it('calls every listener even when one throws, then reports the failure', async () => {
    const { store } = await openStore();
    const token = store.create({ kind: 'machine', machine_id: 'm' });
    const seen: string[] = [];
    store.onRevoke(() => {
      throw new Error('listener broke');
    });
    store.onRevoke((id) => seen.push(id));
    expect(() => store.revoke(token.id)).toThrow(AggregateError);
    expect(seen).toEqual([token.id]);
    expect(store.verify(token.token, { kind: 'machine' })).toEqual({ ok: false, reason: 'revoked' });
  });

  it('refuses the wrong kind and the wrong machine', async () => {
    const { store } = await openStore();
    const machine = store.create({ kind: 'machine', machine_id: 'laptop' });
    const agent = store.create({ kind: 'agent', machines: ['laptop'] });
    expect(store.verify(machine.token, { kind: 'agent' })).toEqual({ ok: false, reason: 'wrong_kind' });
    expect(store.verify(agent.token, { kind: 'machine', machine_id: 'laptop' })).toEqual({ ok: false, reason: 'wrong_kind' });
    expect(store.verify(machine.token, { kind: 'machine', machine_id: 'server' })).toEqual({ ok: false, reason: 'wrong_machine' });
    expect(store.verify(agent.token, { kind: 'agent', machine_id: 'server' })).toEqual({ ok: false, reason: 'wrong_machine' });
  });

  it('refuses garbage as malformed without throwing', async () => {
    const { store } = await openStore();
    const good = store.create({ kind: 'machine', machine_id: 'm' }).token;
    const garbage: unknown[] = [
      '',
      'x'.repeat(10_000_000),
      good + 'A',
      good.slice(0, -1),
      good.replace('aos_', 'sk_'),
      good.replace('aos_machine_', 'aos_robot_'),
      `${good.slice(0, -43)}${'!'.repeat(43)}`,
      `${good.slice(0, -43)}${'é'.repeat(43)}`,
      `${good.slice(0, -1)}B`, // base64url spelling whose unused bits are not zero
      good.replace(/_[0-9a-f]{16}_/, '_ZZZZZZZZZZZZZZZZ_'),
      'aos_machine_',
      'aos_',
      '\0'.repeat(64),
      null,
      undefined,
      42,
      { token: good },
      Buffer.from(good),
      [good],
    ];
    for (const input of garbage) {
      expect(store.verify(input, { kind: 'machine' }), String(input).slice(0, 40)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(good.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(store.verify(good, { kind: 'machine' }).ok).toBe(true);
  });

  it('never stores the secret: the hash differs and list shows neither', async () => {
    const { store, path } = await openStore();
    const created = store.create({ kind: 'agent', machines: '*' });
    const secret = parseToken(created.token)!.secret;
    const raw = new Database(path, { readonly: true });
    try {
      const row = raw.prepare<[string], { hash: Buffer }>('SELECT hash FROM tokens WHERE id = ?').get(created.id)!;
      expect(row.hash.length).toBe(32);
      expect(row.hash.equals(secret)).toBe(false);
      const dump = JSON.stringify(raw.prepare('SELECT * FROM tokens').all());
      expect(dump).not.toContain(created.token.slice(-43));
    } finally {
      raw.close();
    }
    const listed = store.list();
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]!).sort()).toEqual(
      ['ceiling', 'created_at', 'expires_at', 'id', 'kind', 'label', 'machine_id', 'machines', 'revoked_at'].sort(),
    );
    expect(JSON.stringify(listed)).not.toContain(created.token.slice(-43));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps tokens valid across a reopen (the same server key)', async () => {
    const { store, path } = await openStore();
    const machine = store.create({ kind: 'machine', machine_id: 'm' });
    const revoked = store.create({ kind: 'agent', machines: ['m'] });
    store.revoke(revoked.id);
    store.close();
    stores.splice(stores.indexOf(store), 1);

    const reopened = TokenStore.open(path);
    stores.push(reopened);
    expect(reopened.verify(machine.token, { kind: 'machine', machine_id: 'm' }).ok).toBe(true);
    expect(reopened.verify(revoked.token, { kind: 'agent' })).toEqual({ ok: false, reason: 'revoked' });
    expect(reopened.list().map((record) => record.id)).toEqual([machine.id, revoked.id]);
  });

  it('does not accept a token from another database (another server key)', async () => {
    const first = await openStore();
    const second = await openStore();
    const token = first.store.create({ kind: 'machine', machine_id: 'm' }).token;
    expect(second.store.verify(token, { kind: 'machine' })).toEqual({ ok: false, reason: 'unknown' });
  });

  it('refuses a bad create request naming the field', async () => {
    const { store } = await openStore();
    const cases: [unknown, string][] = [
      [{ kind: 'machine' }, 'machine_id'],
      [{ kind: 'machine', machine_id: 'm', machines: '*' }, 'machines'],
      [{ kind: 'machine', machine_id: 'm', ceiling: {} }, 'ceiling'],
      [{ kind: 'agent' }, 'machines'],
      [{ kind: 'agent', machines: [] }, 'machines'],
      [{ kind: 'agent', machines: '*', machine_id: 'm' }, 'machine_id'],
      [{ kind: 'agent', machines: '*', ceiling: { can_fly: true } }, 'ceiling'],
      [{ kind: 'agent', machines: '*', ceiling: { can_exec: 'yes' } }, 'ceiling.can_exec'],
      [{ kind: 'agent', machines: ['bad id with spaces'] }, 'machines'],
      [{ kind: 'robot' }, 'kind'],
      [{ kind: 'machine', machine_id: 'm', expires_at: -1 }, 'expires_at'],
    ];
    for (const [request, field] of cases) {
      let thrown: unknown;
      try {
        store.create(request as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(request)).toBeInstanceOf(KernelError);
      expect((thrown as KernelError).code).toBe('INVALID_REQUEST');
      expect(String((thrown as KernelError).details?.field), JSON.stringify(request)).toMatch(new RegExp(`^${field.replace('.', '\\.')}`));
    }
    expect(store.list()).toHaveLength(0);
  });
});
