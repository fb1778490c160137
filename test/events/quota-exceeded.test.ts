/** QUOTA_EXCEEDED is emitted where a limit refuses a call: here a full mailbox and a too-large value. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

describe('QUOTA_EXCEEDED events', () => {
  let kernel: TestKernel;
  const clients: AgentOSClient[] = [];
  const connect = async () => {
    const client = await AgentOSClient.connect({ socketPath: kernel.socketPath });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    kernel = await startTestKernel({ mailboxSize: 2, stateMaxValueBytes: 64 });
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await kernel.cleanup();
  });

  it('reach a subscriber when a mailbox is full and when a value is over the limit', async () => {
    const watcher = await connect();
    await watcher.call('SUBSCRIBE', { event_types: ['QUOTA_EXCEEDED'] });
    const sender = await connect();
    const receiver = await connect();
    const to = receiver.agentId as number;
    await sender.call('SEND', { to, message: 1 });
    await sender.call('SEND', { to, message: 2 });
    await expect(sender.call('SEND', { to, message: 3 })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await expect(sender.call('STORE', { key: 'k', value: 'x'.repeat(100), scope: 'global' })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
    });

    const { events } = (await watcher.call('POLL_EVENTS', { max: 10, wait_ms: 1000 })) as { events: KernelEvent[] };
    expect(events.map((event) => [event.type, event.data.op, event.source_agent_id])).toEqual([
      ['QUOTA_EXCEEDED', 'SEND', sender.agentId],
      ['QUOTA_EXCEEDED', 'STORE', sender.agentId],
    ]);
    expect(String(events[0]?.data.reason)).toContain('full');
  });
});
