/**
 * GET_AUDIT_LOG and SET_AUDIT_CONFIG over a real socket: admin only (and the refusals
 * audited), fields checked, switches, retention, paging forward while entries arrive and
 * retention deletes, and everything kept across a kernel restart on the same data dir.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/protocol/schemas/audit.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { adminClient, entries, levelClient, plainClient } from './support.js';

const kernels: TestKernel[] = [];
const clients: AgentOSClient[] = [];

async function kernelWith(overrides: Parameters<typeof startTestKernel>[0] = {}): Promise<TestKernel> {
  const kernel = await startTestKernel(overrides);
  kernels.push(kernel);
  return kernel;
}

async function track(client: Promise<AgentOSClient>): Promise<AgentOSClient> {
  const c = await client;
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  for (const k of kernels.splice(0)) await k.cleanup();
});

/** `count` denials from `client` (EXEC without can_exec), in flight together. */
async function deny(client: AgentOSClient, count: number): Promise<void> {
  const calls = Array.from({ length: count }, () =>
    client.exec('true').then(
      () => {
        throw new Error('EXEC was allowed');
      },
      () => undefined,
    ),
  );
  await Promise.all(calls);
}

describe('GET_AUDIT_LOG and SET_AUDIT_CONFIG', () => {
  it('refuse every agent without the admin token, whatever its level; each refusal is itself audited', async () => {
    const kernel = await kernelWith();
    const plain = await track(plainClient(kernel));
    const unrestricted = await track(levelClient(kernel, 'unrestricted'));
    for (const client of [plain, unrestricted]) {
      const read = await failure(client.auditLog(), 'PERMISSION_DENIED');
      expect(read.message).toContain('admin token');
      await failure(client.setAuditConfig({ log_denials: false }), 'PERMISSION_DENIED');
    }
    const admin = await track(adminClient(kernel));
    const page = await admin.auditLog({ category: 'denial' });
    expect(page.entries.map((e) => [e.agent_id, e.op])).toEqual([
      [plain.agentId, 'GET_AUDIT_LOG'],
      [plain.agentId, 'SET_AUDIT_CONFIG'],
      [unrestricted.agentId, 'GET_AUDIT_LOG'],
      [unrestricted.agentId, 'SET_AUDIT_CONFIG'],
    ]);
    expect(page.entries[0]?.detail.reason).toBe('needs the admin token (presented in HELLO)');
    // The refused SET_AUDIT_CONFIG changed nothing.
    expect((await admin.setAuditConfig({})).config.log_denials).toBe(true);
  });

  it('answer a bad field with INVALID_REQUEST naming it', async () => {
    const kernel = await kernelWith();
    const admin = await track(adminClient(kernel));
    const cases: [string, unknown, string][] = [
      ['GET_AUDIT_LOG', { limit: 0 }, 'limit'],
      ['GET_AUDIT_LOG', { limit: 1001 }, 'limit'],
      ['GET_AUDIT_LOG', { limit: 2.5 }, 'limit'],
      ['GET_AUDIT_LOG', { since_id: -1 }, 'since_id'],
      ['GET_AUDIT_LOG', { since_id: 'latest' }, 'since_id'],
      ['GET_AUDIT_LOG', { category: 'everything' }, 'category'],
      ['GET_AUDIT_LOG', { agent_id: 'me' }, 'agent_id'],
      ['GET_AUDIT_LOG', { categroy: 'denial' }, 'categroy'],
      ['SET_AUDIT_CONFIG', { log_denials: 'no' }, 'log_denials'],
      ['SET_AUDIT_CONFIG', { max_entries: 5 }, 'max_entries'],
      ['SET_AUDIT_CONFIG', { max_entries: 1e9 }, 'max_entries'],
      ['SET_AUDIT_CONFIG', { log_everything: false }, 'log_everything'],
    ];
    for (const [op, request, field] of cases) {
      const error = await failure(admin.call(op, request), 'INVALID_REQUEST');
      expect(error.reply?.field, `${op} ${JSON.stringify(request)}`).toBe(field);
      expect(error.message).toContain(field);
    }
    // Nothing was changed by the refused requests.
    expect((await admin.setAuditConfig({})).config).toEqual({
      log_denials: true,
      log_lifecycle: true,
      log_permissions: true,
      log_quota: true,
      max_entries: 100_000,
    });
  });

  it('SET_AUDIT_CONFIG switches a category off and on, and answers the whole config', async () => {
    const kernel = await kernelWith();
    const admin = await track(adminClient(kernel));
    const minimal = await track(levelClient(kernel, 'minimal'));
    const off = await admin.setAuditConfig({ log_denials: false });
    expect(off).toMatchObject({ changed: ['log_denials'], config: { log_denials: false, log_quota: true, max_entries: 100_000 } });
    await deny(minimal, 3);
    expect((await admin.auditLog({ agent_id: minimal.agentId })).count).toBe(0);
    await admin.setAuditConfig({ log_denials: true });
    await deny(minimal, 2);
    expect((await admin.auditLog({ agent_id: minimal.agentId })).count).toBe(2);
  });

  it('max_entries keeps the newest entries; ids go on, never reused', async () => {
    const kernel = await kernelWith();
    const admin = await track(adminClient(kernel));
    const minimal = await track(levelClient(kernel, 'minimal'));
    await admin.setAuditConfig({ max_entries: 50 });
    await deny(minimal, 200);
    const page = await admin.auditLog({ limit: 1000 });
    expect(page.count).toBe(50);
    const last = page.entries.at(-1) as AuditEntry;
    expect(page.oldest_id).toBe(last.id - 49);
    expect(page.entries.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => last.id - 49 + i));
    expect(last.id).toBeGreaterThan(200);
  });

  it('pages forward through 2,500 entries while more arrive, never skipping or repeating one', async () => {
    const kernel = await kernelWith();
    const admin = await track(adminClient(kernel));
    const minimal = await track(levelClient(kernel, 'minimal'));
    const seen: number[] = [];
    let since = 0;
    const readPage = async () => {
      const page = await admin.auditLog({ since_id: since, limit: 100 });
      seen.push(...page.entries.map((e) => e.id));
      expect(page.next_since_id).toBe(page.entries.at(-1)?.id ?? since);
      since = page.next_since_id;
      return page.count;
    };
    // Writers and the reader take turns on the event loop: each round adds 125 denials while a page of 100 is read.
    for (let produced = 0; produced < 2500; produced += 125) await Promise.all([deny(minimal, 125), readPage()]);
    // The reader is behind the writer: the rest of its pages hold entries that arrived after it began.
    expect(seen.length).toBeLessThan(2500);
    while ((await readPage()) > 0);

    // Every id from the first to the last, once each, in order: nothing skipped or repeated.
    expect(seen[0]).toBe(1);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    const denials = entries(kernel, { category: 'denial', agent_id: minimal.agentId });
    expect(denials).toHaveLength(2500);
    expect(new Set(seen).size).toBe(seen.length);
    expect(denials.every((e) => seen.includes(e.id))).toBe(true);
  });

  it('paging while retention deletes: ids only go up, and every entry missed was deleted before it could be read (oldest_id says so)', async () => {
    const kernel = await kernelWith();
    const admin = await track(adminClient(kernel));
    const minimal = await track(levelClient(kernel, 'minimal'));
    await admin.setAuditConfig({ max_entries: 300 });
    let since = 0;
    let read = 0;
    let lost = 0;
    const readPage = async () => {
      const page = await admin.auditLog({ since_id: since, limit: 100 });
      const first = page.entries[0];
      if (first !== undefined && first.id > since + 1) {
        // A gap only ever lies below what retention still keeps.
        expect(page.oldest_id).toBe(first.id);
        lost += first.id - since - 1;
      }
      page.entries.forEach((entry, i) => {
        if (i > 0) expect(entry.id).toBe((page.entries[i - 1] as AuditEntry).id + 1);
      });
      read += page.count;
      since = page.next_since_id;
      return page.count;
    };
    for (let produced = 0; produced < 2500; produced += 250) await Promise.all([deny(minimal, 250), readPage()]);
    while ((await readPage()) > 0);
    expect(lost).toBeGreaterThan(0);
    // Every entry ever written was either read or counted as lost to retention.
    expect(read + lost).toBe(since);
    expect(kernel.audit.stats().rows).toBe(300);
  });

  it('entries and configuration survive a restart on the same data dir; ids go on', async () => {
    const first = await startTestKernel();
    const admin = await adminClient(first);
    const minimal = await levelClient(first, 'minimal');
    await admin.setAuditConfig({ log_quota: false, max_entries: 1000 });
    await deny(minimal, 10);
    const before = await admin.auditLog({ limit: 1000 });
    await admin.close();
    await minimal.close();
    await first.stop();

    const second = await startTestKernel({ dataDir: first.options.dataDir });
    try {
      const again = await adminClient(second);
      const after = await again.auditLog({ limit: 1000 });
      // The old entries, the first kernel's stop, the second's start and the new admin's HELLO.
      expect(after.entries.slice(0, before.count)).toEqual(before.entries);
      expect(after.entries.slice(before.count).map((e) => e.op)).toEqual(['kernel_stop', 'kernel_start', 'HELLO']);
      const lastBefore = before.entries.at(-1) as AuditEntry;
      expect(after.entries[before.count]?.id).toBe(lastBefore.id + 1);
      expect((await again.setAuditConfig({})).config).toMatchObject({ log_quota: false, max_entries: 1000 });
      await again.close();
    } finally {
      await second.cleanup();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});
