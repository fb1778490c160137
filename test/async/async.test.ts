/**
 * Asynchronous syscalls over the real socket: `async: true` answers a request id at once,
 * the work runs in the background, ASYNC_POLL (a long poll) returns the reply as the call
 * would have given it. Bounded per agent without dropping replies; cancelled with the agent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncResult } from '../../src/protocol/schemas/async.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const SLOTS = 3;
let kernel: TestKernel;
const clients: AgentOSClient[] = [];

interface Started {
  async: true;
  request_id: number;
  opcode_name: string;
}
interface Poll {
  results: AsyncResult[];
  count: number;
  pending: number;
}

async function client(): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null });
  clients.push(c);
  return c;
}

const poll = async (c: AgentOSClient, request: Record<string, unknown> = {}) => (await c.call('ASYNC_POLL', request)) as Poll;

beforeAll(async () => {
  kernel = await startTestKernel({ asyncSlots: SLOTS });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  await until(() => kernel.agents().length === 0, 'every client of the test to be gone');
});

afterAll(async () => {
  await kernel?.cleanup();
});

describe('async: true', () => {
  it('answers a request id at once; ASYNC_POLL waits for the reply the call would have given', async () => {
    const c = await client();
    const started = (await c.call('EXEC', { command: 'sleep 0.3; echo done', async: true })) as Started;
    expect(started).toMatchObject({ success: true, async: true, opcode_name: 'EXEC' });
    expect((await poll(c)).pending).toBe(1);
    const { results, count, pending } = await poll(c, { wait_ms: 10_000 });
    expect({ count, pending }).toEqual({ count: 1, pending: 0 });
    expect(results[0]).toMatchObject({
      request_id: started.request_id,
      opcode: 0x02,
      opcode_name: 'EXEC',
      payload: { success: true, stdout: 'done\n', exit_code: 0, timed_out: false },
    });
    expect(results[0]?.finished_at).toBeGreaterThanOrEqual(results[0]?.started_at as number);
    // Nothing in flight: a waiting poll returns at once instead of sleeping.
    expect(await poll(c, { wait_ms: 60_000 })).toEqual({ success: true, results: [], count: 0, pending: 0 });
  });

  it('keeps replies in completion order, each with its own id; max takes a few at a time', async () => {
    const c = await client();
    const slow = (await c.call('EXEC', { command: 'sleep 0.4; echo slow', async: true })) as Started;
    const fast = (await c.call('EXEC', { command: 'echo fast', async: true })) as Started;
    expect(fast.request_id).not.toBe(slow.request_id);
    const first = await poll(c, { wait_ms: 10_000, max: 1 });
    expect(first.results.map((r) => r.request_id)).toEqual([fast.request_id]);
    const second = await poll(c, { wait_ms: 10_000, max: 1 });
    expect(second.results[0]).toMatchObject({ request_id: slow.request_id, payload: { stdout: 'slow\n' } });
  });

  it('a failing call delivers its failure as the payload', async () => {
    const c = await client();
    const started = (await c.call('EXEC', { command: 'exit 3', async: true })) as Started;
    const { results } = await poll(c, { wait_ms: 10_000 });
    expect(results.find((r) => r.request_id === started.request_id)?.payload).toMatchObject({ success: true, exit_code: 3 });
    // Validation happens before anything starts: a bad request is refused at once, not polled.
    const bad = await failure(c.call('EXEC', { command: '', async: true }), 'INVALID_REQUEST');
    expect(bad.message).toMatch(/command/);
  });

  it('a denied call is refused at once (the opcode’s permission is checked before it starts)', async () => {
    const minimal = await AgentOSClient.connect({ connection: kernel.connect({ level: 'minimal' }) });
    clients.push(minimal);
    await failure(minimal.call('EXEC', { command: 'true', async: true }), 'PERMISSION_DENIED');
    expect((await poll(minimal)).pending).toBe(0);
  });

  it('at most asyncSlots running plus waiting: the next is QUOTA_EXCEEDED, polling makes room', async () => {
    const c = await client();
    for (let n = 0; n < SLOTS; n++) await c.call('EXEC', { command: `echo ${n}`, async: true });
    const refused = await failure(c.call('EXEC', { command: 'echo more', async: true }), 'QUOTA_EXCEEDED');
    expect(refused.message).toMatch(/poll before starting more/);
    await until(async () => (await poll(c, { max: 1 })).count === 1, 'one result to be taken');
    await c.call('EXEC', { command: 'echo room', async: true });
  });

  it('an agent that ends takes its running calls and results with it', async () => {
    const c = await client();
    const marker = join(kernel.dir, `async-survivor-${process.pid}`);
    await c.call('EXEC', { command: `sleep 1 && touch ${marker}`, async: true });
    await c.call('EXEC', { command: 'echo unread', async: true });
    await until(() => kernel.agents().length === 1, 'the client to be registered');
    await c.close();
    await until(() => kernel.agents().length === 0, 'the client to be gone');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(existsSync(marker)).toBe(false);
  });

  it('other opcodes ignore async and answer as usual', async () => {
    const c = await client();
    const reply = (await c.call('NOOP', Buffer.from('x'))) as Buffer;
    expect(reply.toString()).toBe('x');
    const stored = (await c.call('STORE', { key: 'k', value: 1, async: true })) as Record<string, unknown>;
    expect(stored).not.toHaveProperty('request_id');
  });
});
