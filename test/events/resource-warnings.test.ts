/**
 * RESOURCE_WARNING at its sources: a mailbox, an event queue and an agent's state keys
 * reaching 80 % of their limits. Once per crossing; re-armed below half the limit;
 * forgotten with the agent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const LIMIT = 10;
let kernel: TestKernel;
const clients: AgentOSClient[] = [];

async function client(): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null });
  clients.push(c);
  return c;
}

/** A client that records every RESOURCE_WARNING (its own queue stays far from full). */
async function watcher(): Promise<{ warnings: () => Promise<KernelEvent[]> }> {
  const c = await client();
  await c.call('SUBSCRIBE', { event_types: ['RESOURCE_WARNING'] });
  const seen: KernelEvent[] = [];
  return {
    async warnings() {
      // Warnings are emitted a microtask after their source: one short poll collects them.
      const got = (await c.call('POLL_EVENTS', { max: 100, wait_ms: 50 })) as { events: KernelEvent[] };
      seen.push(...got.events);
      return seen;
    },
  };
}

beforeAll(async () => {
  kernel = await startTestKernel({
    defaultLevel: 'unrestricted',
    mailboxSize: LIMIT,
    eventQueueSize: LIMIT,
    stateMaxKeysPerAgent: LIMIT,
  });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  await until(
    () => kernel.agents().length === 0 && kernel.resourceWarnings.size === 0,
    'every agent of the test and its warnings to be gone',
  );
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('RESOURCE_WARNING', () => {
  it('a mailbox at 80 %: once, not again while it stays high, again after RECV drains it below half', async () => {
    const watch = await watcher();
    const sender = await client();
    const receiver = await client();
    const id = receiver.agentId as number;
    for (let n = 1; n <= 7; n++) await sender.send(id, { n });
    expect(await watch.warnings()).toEqual([]);
    await sender.send(id, { n: 8 });
    const [first] = await watch.warnings();
    expect(first).toMatchObject({
      type: 'RESOURCE_WARNING',
      source_agent_id: id,
      data: { agent_id: id, resource: 'mailbox', used: 8, limit: LIMIT, percent: 80 },
    });
    await sender.send(id, { n: 9 });
    await sender.send(id, { n: 10 });
    expect(await watch.warnings()).toHaveLength(1);
    // Draining to 6 (above half) does not re-arm; to 4 does.
    await receiver.recv({ max: 4 });
    await sender.send(id, { n: 11 });
    await sender.send(id, { n: 12 });
    expect(await watch.warnings()).toHaveLength(1);
    await receiver.recv({ max: 4 });
    for (let n = 13; n <= 16; n++) await sender.send(id, { n });
    const warnings = await watch.warnings();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]?.data).toMatchObject({ resource: 'mailbox', used: 8 });
  });

  it('an event queue at 80 %, before it starts dropping', async () => {
    const watch = await watcher();
    const slow = await client();
    await slow.call('SUBSCRIBE', { event_types: ['CUSTOM'] });
    const emitter = await client();
    for (let n = 1; n <= 8; n++) await emitter.call('EMIT', { event_type: 'CUSTOM', data: { n } });
    const [warning] = await watch.warnings();
    expect(warning).toMatchObject({
      data: { agent_id: slow.agentId, resource: 'event_queue', used: 8, limit: LIMIT, percent: 80 },
    });
    const polled = (await slow.call('POLL_EVENTS', { max: 100 })) as { events: KernelEvent[]; dropped: number };
    expect(polled.events).toHaveLength(8);
    expect(polled.dropped).toBe(0);
  });

  it("an agent's state keys at 80 % of stateMaxKeysPerAgent; the shared scopes are not an agent's", async () => {
    const watch = await watcher();
    const owner = await client();
    for (let n = 1; n <= 8; n++) await owner.call('STORE', { key: `g${n}`, value: n, scope: 'global' });
    expect(await watch.warnings()).toEqual([]);
    for (let n = 1; n <= 7; n++) await owner.call('STORE', { key: `k${n}`, value: n });
    await owner.call('STORE', { key: 'k1', value: 'overwrite' }); // not a new key
    expect(await watch.warnings()).toEqual([]);
    await owner.call('STORE', { key: 'k8', value: 8 });
    const [warning] = await watch.warnings();
    expect(warning).toMatchObject({ data: { agent_id: owner.agentId, resource: 'state_keys', used: 8, limit: LIMIT } });
    for (let n = 1; n <= 8; n++) await owner.call('DELETE', { key: `g${n}`, scope: 'global' });
  });

  it('forgets the warnings of an agent that ends', async () => {
    const sender = await client();
    const receiver = await client();
    for (let n = 1; n <= 8; n++) await sender.send(receiver.agentId as number, { n });
    await until(() => kernel.resourceWarnings.size === 1, 'the warning to be recorded');
    await receiver.close();
    await until(() => kernel.resourceWarnings.size === 0, 'the warning to go with its agent');
  });
});
