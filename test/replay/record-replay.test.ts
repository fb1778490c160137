/**
 * Record and replay (protocol.md §8) over the real socket: an admin records other agents'
 * calls with their replies and timing, exports the recording, and replays it; the
 * deterministic calls run again and every reply that differs is reported field by field.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recording } from '../../src/protocol/schemas/replay.js';
import type { ReplayStatus } from '../../src/replay/replayer.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, failure, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(token: string | null = null): Promise<AgentOSClient> {
  const c = await connect(kernel, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  kernel = await startAgentsKernel();
  dir = await mkdtemp(join('/tmp', 'agentos-replay-'));
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await kernel?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('record and replay', () => {
  it('is for admins only', async () => {
    const c = await client();
    for (const op of ['RECORD_START', 'RECORD_STOP', 'RECORD_STATUS', 'REPLAY_START', 'REPLAY_STATUS']) {
      await failure(c.call(op, {}), 'PERMISSION_DENIED');
    }
  });

  it('records calls with request, reply and timing; replays the deterministic ones and reports divergences', async () => {
    const admin = await client(adminToken(kernel));
    const worker = await client();
    const other = await client();
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'first');

    await admin.call('RECORD_START', { filter_agents: [worker.agentId as number] });
    await worker.call('STORE', { key: 'replay-k', value: { n: 1 }, scope: 'global' });
    await worker.call('FETCH', { key: 'replay-k', scope: 'global' });
    await worker.call('READ', { path: file });
    await worker.call('EXEC', { command: 'echo hello' });
    await worker.noop('bytes');
    await worker.send(other.agentId as number, { not: 'replayed' });
    await other.call('STORE', { key: 'not-recorded', value: 1, scope: 'global' });
    const status = (await admin.call('RECORD_STATUS', {})) as { state: string; entry_count: number };
    expect(status).toMatchObject({ state: 'recording', entry_count: 6 });
    await admin.call('RECORD_STOP', {});
    const exported = (await admin.call('RECORD_STATUS', { export: true })) as { state: string; recording: Recording };
    expect(exported.state).toBe('stopped');
    const { recording } = exported;
    expect(recording.entries.map((e) => e.op)).toEqual(['STORE', 'FETCH', 'READ', 'EXEC', 'NOOP', 'SEND']);
    expect(recording.agents).toEqual([expect.objectContaining({ id: worker.agentId, level: 'unrestricted' })]);
    const read = recording.entries[2];
    expect(read?.request).toMatchObject({ path: file });
    expect(read?.reply).toMatchObject({ success: true, content: 'first' });
    expect(recording.entries[4]?.request).toEqual({ base64: Buffer.from('bytes').toString('base64') });
    for (const entry of recording.entries) {
      expect(entry.duration_ms).toBeGreaterThanOrEqual(0);
      expect(entry.at_ms).toBeGreaterThanOrEqual(0);
    }

    // The world moved on: the file changed. Replay finds exactly that.
    await writeFile(file, 'fresh'); // as long as before: only the content differs
    await admin.call('REPLAY_START', { recording });
    const done = await until(async () => {
      const s = (await admin.call('REPLAY_STATUS', {})) as ReplayStatus;
      return s.state === 'running' ? undefined : s;
    }, 'the replay to finish');
    expect(done).toMatchObject({
      state: 'done',
      progress: 1,
      entries_total: 6,
      entries_replayed: 5,
      entries_skipped: 1,
      divergence_count: 1,
    });
    expect(done.divergences).toEqual([
      { seq: 2, op: 'READ', agent_id: worker.agentId, differences: [{ path: 'content', expected: 'first', actual: 'fresh' }] },
    ]);
    // The replay's agents are gone again.
    await until(() => !kernel.agents().some((agent) => agent.name?.startsWith('replay:')), 'replay agents to end');
  });

  it('refuses a malformed recording naming the field, and a second replay while one runs', async () => {
    const admin = await client(adminToken(kernel));
    const bad = await failure(admin.call('REPLAY_START', { recording: { version: 2 } }), 'INVALID_REQUEST');
    expect(bad.message).toMatch(/recording/);
    const worker = await client();
    await admin.call('RECORD_START', { filter_agents: [worker.agentId as number] });
    for (let n = 0; n < 20; n++) await worker.call('EXEC', { command: 'sleep 0.05' });
    await admin.call('RECORD_STOP', {});
    const { recording } = (await admin.call('RECORD_STATUS', { export: true })) as { recording: Recording };
    const broken = { ...recording, agents: [{ ...recording.agents[0], level: 'root' }] };
    expect((await failure(admin.call('REPLAY_START', { recording: broken }), 'INVALID_REQUEST')).message).toMatch(/level/);
    await admin.call('REPLAY_START', { recording });
    await failure(admin.call('REPLAY_START', { recording }), 'CONFLICT');
    await until(async () => ((await admin.call('REPLAY_STATUS', {})) as ReplayStatus).state === 'done', 'the replay to finish');
  });

  it('stops keeping entries at max_entries and counts the overflow', async () => {
    const admin = await client(adminToken(kernel));
    const worker = await client();
    await admin.call('RECORD_START', { filter_agents: [worker.agentId as number], max_entries: 3 });
    for (let n = 0; n < 5; n++) await worker.noop(`${n}`);
    const stopped = (await admin.call('RECORD_STOP', {})) as { entry_count: number; overflow: number };
    expect(stopped).toMatchObject({ entry_count: 3, overflow: 2 });
  });
});
