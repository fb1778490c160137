/**
 * A flood of 50,000 denials on one socket: every denial is either written or counted in
 * an audit_dropped entry (exactly 50,000 in all), the buffer never holds more than its
 * bound, and another client is served while the flood is still being answered. Counts
 * only: speed is `npm run bench`'s business.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Op } from '../../src/protocol/opcodes.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { RawClient, startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { adminClient, entries } from './support.js';

const FLOOD = 50_000;
const kernels: TestKernel[] = [];
const closers: (() => unknown)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const k of kernels.splice(0)) await k.cleanup();
});

interface FloodResult {
  attacker: number;
  /** NOOP round trips another client completed before the flood's last reply arrived. */
  servedDuringFlood: number;
}

/** SPAWN (needs can_spawn, which `standard` lacks) FLOOD times on one raw socket, pipelined; every reply read. */
async function flood(kernel: TestKernel, bystander: AgentOSClient): Promise<FloodResult> {
  const raw = await RawClient.connect(kernel.socketPath);
  closers.push(() => raw.close());
  const hello = await raw.call<{ agent_id: number }>(Op.HELLO, { name: 'flooder' });
  const frame = Buffer.from([0x54, 0x4e, 0x47, 0x41, 0, 0, 0, 0, Op.SPAWN, 0, 0, 0, 0, 0, 0, 0, 0]);
  raw.socket.write(Buffer.concat(Array.from({ length: FLOOD }, () => frame)));

  let finished = false;
  let served = 0;
  const noops = (async () => {
    while (!finished) {
      await bystander.noop('still here');
      if (!finished) served++;
    }
  })();
  let denied = 0;
  for (let n = 0; n < FLOOD; n++) {
    const reply = await raw.reply<{ code: string }>(30_000);
    if (reply.code === 'PERMISSION_DENIED') denied++;
  }
  finished = true;
  await noops;
  expect(denied).toBe(FLOOD);
  return { attacker: hello.agent_id, servedDuringFlood: served };
}

/** Denials of `agentId` written, plus those the audit_dropped entries counted. */
function accounted(kernel: TestKernel, agentId: number): { written: number; dropped: number } {
  const written = entries(kernel, { category: 'denial', agent_id: agentId }).length;
  const dropped = entries(kernel, { category: 'admin' })
    .filter((e) => e.op === 'audit_dropped')
    .reduce((sum, e) => sum + Number((e.detail.by_category as Record<string, number>).denial ?? 0), 0);
  return { written, dropped };
}

describe('a flood of denials', () => {
  it(`${FLOOD} denials: each written or counted, the buffer bounded, the kernel answering others meanwhile`, async () => {
    const kernel = await startTestKernel();
    kernels.push(kernel);
    const admin = await adminClient(kernel);
    closers.push(() => admin.close());
    const { attacker, servedDuringFlood } = await flood(kernel, admin);

    expect(servedDuringFlood).toBeGreaterThan(0);
    const { written, dropped } = accounted(kernel, attacker);
    expect(written + dropped).toBe(FLOOD);
    const stats = kernel.audit.stats();
    expect(stats.bufferHighWater).toBeLessThanOrEqual(kernel.options.audit.bufferSize);
    expect(stats.dropped).toBe(dropped);
    // The admin reads the newest denials over the wire after the flood.
    const page = await admin.auditLog({ category: 'denial', agent_id: attacker, since_id: 0, limit: 1000 });
    expect(page.count).toBe(Math.min(1000, written));
    expect(page.entries[0]).toMatchObject({ op: 'SPAWN', agent_name: 'flooder', detail: { reason: 'needs can_spawn' } });
  });

  it('with a small buffer and a slow flush the overflow is dropped, counted exactly, and memory stays at the bound', async () => {
    const bufferSize = 64;
    const kernel = await startTestKernel({ audit: { bufferSize, flushIntervalMs: 1000 } });
    kernels.push(kernel);
    const admin = await adminClient(kernel);
    closers.push(() => admin.close());
    const { attacker } = await flood(kernel, admin);

    const { written, dropped } = accounted(kernel, attacker);
    expect(dropped).toBeGreaterThan(0);
    expect(written + dropped).toBe(FLOOD);
    expect(kernel.audit.stats()).toMatchObject({ bufferHighWater: bufferSize, buffered: 0, dropped });
  });
});
