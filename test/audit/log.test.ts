/**
 * The audit log on its own, on a real SQLite file: batching, the bounded buffer and its
 * audit_dropped entry, retention without reusing ids, switches, persistence, bounded details.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditLog, type AuditLogOptions, MAX_DETAIL_CHARS } from '../../src/audit/log.js';
import type { AuditEntry } from '../../src/protocol/schemas/audit.js';

let dir: string;
const open: AuditLog[] = [];

function auditLog(options: Partial<AuditLogOptions> = {}): AuditLog {
  // A long interval: nothing is written unless the test flushes (or queries).
  const log = new AuditLog({ dataDir: dir, log: pino({ level: 'silent' }), bufferSize: 1000, flushIntervalMs: 60_000, ...options });
  open.push(log);
  return log;
}

function reopen(log: AuditLog, options: Partial<AuditLogOptions> = {}): AuditLog {
  log.close();
  return auditLog(options);
}

function denial(log: AuditLog, n: number, agentId = 7): void {
  for (let i = 0; i < n; i++) log.record({ category: 'denial', agent_id: agentId, agent_name: 'probe', op: 'EXEC', detail: { n: i } });
}

/** Every entry of a category, read page by page. */
function all(log: AuditLog, category?: AuditEntry['category']): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let since = 0;
  for (;;) {
    const page = log.query({ category, since_id: since, limit: 1000 });
    if (page.count === 0) return entries;
    entries.push(...page.entries);
    since = page.next_since_id;
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentos-audit-'));
});

afterEach(async () => {
  for (const log of open.splice(0)) log.close();
  await rm(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('opens with a kernel_start entry and buffers records until a flush writes them in one go', () => {
    const log = auditLog();
    denial(log, 3);
    expect(log.stats()).toMatchObject({ buffered: 4, written: 0, rows: 0 });
    log.flush();
    expect(log.stats()).toMatchObject({ buffered: 0, written: 4, rows: 4 });
    const [start, ...denials] = all(log);
    expect(start).toMatchObject({ id: 1, category: 'admin', op: 'kernel_start', agent_id: null, detail: { pid: process.pid } });
    expect(denials.map((e) => [e.id, e.category, e.agent_id, e.agent_name, e.op, e.detail])).toEqual([
      [2, 'denial', 7, 'probe', 'EXEC', { n: 0 }],
      [3, 'denial', 7, 'probe', 'EXEC', { n: 1 }],
      [4, 'denial', 7, 'probe', 'EXEC', { n: 2 }],
    ]);
    expect(denials.every((e) => typeof e.timestamp === 'number' && e.timestamp > 0)).toBe(true);
  });

  it('writes the buffer by itself after flushIntervalMs', async () => {
    const log = auditLog({ flushIntervalMs: 5 });
    denial(log, 10);
    await expect.poll(() => log.stats().written).toBe(11);
    expect(log.stats().buffered).toBe(0);
  });

  it('a timed write takes flushBatch entries at a time; the slices follow one another at once, not after the interval', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const log = auditLog({ flushIntervalMs: 50, flushBatch: 100 });
      denial(log, 349);
      vi.advanceTimersByTime(49);
      expect(log.stats().written).toBe(0);
      vi.advanceTimersByTime(1);
      expect(log.stats()).toMatchObject({ written: 100, buffered: 250 });
      vi.advanceTimersByTime(1);
      expect(log.stats()).toMatchObject({ written: 200, buffered: 150 });
      vi.advanceTimersByTime(1);
      vi.advanceTimersByTime(1);
      expect(log.stats()).toMatchObject({ written: 350, buffered: 0 });
      expect(all(log).map((e) => e.id)).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    } finally {
      vi.useRealTimers();
    }
  });

  it('query() flushes first: what was recorded before it is always there', () => {
    const log = auditLog();
    denial(log, 5);
    expect(log.query({ category: 'denial' }).count).toBe(5);
  });

  it('a full buffer drops and counts; the next flush writes one audit_dropped entry saying how many, per category', () => {
    const log = auditLog({ bufferSize: 10 });
    denial(log, 20); // kernel_start took one slot: 9 kept, 11 dropped
    log.record({ category: 'quota', agent_id: 7, op: 'SEND', detail: {} }); // dropped too
    expect(log.stats()).toMatchObject({ buffered: 10, bufferHighWater: 10, dropped: 12 });
    log.flush();
    const dropped = all(log, 'admin').filter((e) => e.op === 'audit_dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.detail).toEqual({ dropped: 12, by_category: { denial: 11, quota: 1 }, buffer_size: 10 });
    expect(all(log, 'denial')).toHaveLength(9);
    // The count starts again: a later overflow gets its own entry.
    denial(log, 15);
    log.flush();
    expect(
      all(log, 'admin')
        .filter((e) => e.op === 'audit_dropped')
        .map((e) => e.detail.dropped),
    ).toEqual([12, 5]);
  });

  it('retention keeps the newest max_entries; ids are never handed out again, even after a restart', () => {
    let log = auditLog({ maxEntries: 10 });
    denial(log, 30);
    log.flush();
    expect(log.stats().rows).toBe(10);
    const kept = all(log);
    expect(kept.map((e) => e.id)).toEqual([22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);
    expect(log.query().oldest_id).toBe(22);

    // Reopened (kernel_stop, then kernel_start), the ids go on from where they were.
    log = reopen(log, { maxEntries: 10 });
    denial(log, 1);
    log.flush();
    const ids = all(log).map((e) => e.id);
    expect(ids.at(-1)).toBe(34);
    expect(ids).toHaveLength(10);
    expect(all(log, 'admin').map((e) => e.op)).toEqual(['kernel_stop', 'kernel_start']);
  });

  it('a lowered max_entries is reached in batches over the following flushes', async () => {
    const log = auditLog({ trimBatch: 100, flushIntervalMs: 5 });
    denial(log, 999);
    log.flush();
    expect(log.stats().rows).toBe(1000);
    log.configure({ max_entries: 10 }, { agent_id: 1, agent_name: 'admin' });
    log.flush();
    // One batch per flush; the rest follow on flushes the log schedules for itself.
    expect(log.stats().rows).toBe(901);
    await expect.poll(() => log.stats().rows, { timeout: 10_000 }).toBe(10);
    expect(all(log).at(-1)).toMatchObject({ category: 'admin', op: 'SET_AUDIT_CONFIG' });
  });

  it('switches leave out their category; admin entries cannot be switched off', () => {
    const log = auditLog();
    const changed = log.configure(
      { log_denials: false, log_lifecycle: false, log_permissions: false, log_quota: false },
      { agent_id: 3, agent_name: 'root' },
    );
    expect(changed).toEqual(['log_denials', 'log_lifecycle', 'log_permissions', 'log_quota']);
    denial(log, 3);
    log.record({ category: 'lifecycle', agent_id: 4, op: 'AGENT_SPAWNED' });
    log.record({ category: 'permission', agent_id: 4, op: 'SET_PERMS' });
    log.record({ category: 'quota', agent_id: 4, op: 'STORE' });
    log.record({ category: 'admin', agent_id: 4, op: 'HELLO' });
    expect(all(log).map((e) => e.op)).toEqual(['kernel_start', 'SET_AUDIT_CONFIG', 'HELLO']);
    const config = all(log, 'admin')[1];
    expect(config).toMatchObject({ agent_id: 3, agent_name: 'root', detail: { changed: { log_denials: { before: true, after: false } } } });
    // Nothing changed, nothing recorded.
    expect(log.configure({ log_denials: false }, { agent_id: 3, agent_name: 'root' })).toEqual([]);
    expect(log.query({ category: 'admin' }).count).toBe(3);
  });

  it('the configuration persists across a reopen and wins over the default retention', () => {
    let log = auditLog();
    log.configure({ log_quota: false, max_entries: 500 }, { agent_id: 1, agent_name: null });
    log = reopen(log, { maxEntries: 100_000 });
    expect(log.config).toEqual({ log_denials: true, log_lifecycle: true, log_permissions: true, log_quota: false, max_entries: 500 });
  });

  it('filters by category and agent, ascending, with next_since_id to page on', () => {
    const log = auditLog();
    denial(log, 5, 1);
    denial(log, 5, 2);
    log.record({ category: 'quota', agent_id: 2, op: 'SEND' });
    const agent2 = log.query({ agent_id: 2, limit: 3 });
    expect(agent2.entries.map((e) => e.agent_id)).toEqual([2, 2, 2]);
    expect(agent2.next_since_id).toBe(agent2.entries[2]?.id);
    const rest = log.query({ agent_id: 2, since_id: agent2.next_since_id });
    expect(rest.entries.map((e) => e.op)).toEqual(['EXEC', 'EXEC', 'SEND']);
    expect(log.query({ agent_id: 2, category: 'quota' }).entries.map((e) => e.op)).toEqual(['SEND']);
    // Nothing after the end: next_since_id stays where the reader is.
    expect(log.query({ since_id: 1_000 })).toMatchObject({ count: 0, entries: [], next_since_id: 1_000 });
  });

  it('a large detail is cut where it is large, keeping its shape; only what still does not fit becomes a preview', () => {
    const log = auditLog();
    const list = Array.from({ length: 40 }, (_, i) => `item ${i}`);
    log.record({ category: 'denial', agent_id: 1, op: 'WRITE', detail: { reason: 'x'.repeat(10_000), list, level: 'standard' } });
    const huge = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field${i}`, 'y'.repeat(1000)]));
    log.record({ category: 'denial', agent_id: 1, op: 'READ', detail: huge });
    const [cut, preview] = log.query({ category: 'denial' }).entries;
    expect(cut?.detail.level).toBe('standard');
    expect(cut?.detail.reason).toMatch(/^x{1024}… \(8976 more characters\)$/);
    expect(cut?.detail.list).toEqual([...list.slice(0, 16), '… (24 more)']);
    expect(preview?.detail).toMatchObject({ truncated: true, chars: expect.any(Number), preview: expect.stringMatching(/^\{"field0":"y/) });
    for (const entry of [cut, preview]) expect(JSON.stringify(entry?.detail).length).toBeLessThanOrEqual(MAX_DETAIL_CHARS);
  });

  it('after close, records are ignored and queries are UNAVAILABLE', () => {
    const log = auditLog();
    log.close();
    log.record({ category: 'denial', agent_id: 1, op: 'EXEC' });
    expect(() => log.query()).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
  });
});
