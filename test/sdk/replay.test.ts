/**
 * The SDK's record and replay methods against a real kernel (admin only): recordStart,
 * recordStop, recordStatus (with the exported recording), replayStart and replayStatus,
 * the replies' exact shapes, and the errors each rejects with.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Recording,
  RecordStartReply,
  RecordStatusReply,
  RecordStopReply,
  ReplayStartReply,
  ReplayStatusReply,
} from '../../src/protocol/schemas/replay.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { failure, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { closeAll, connect, connectAdmin, expectShape } from './support.js';

let kernel: TestKernel;

beforeAll(async () => {
  kernel = await startTestKernel();
});

afterEach(closeAll);

afterAll(async () => {
  await kernel?.cleanup();
});

/** The replay's last status, once it is no longer running. */
async function finished(admin: AgentOSClient) {
  return until(async () => {
    const status = await admin.replayStatus();
    return status.state === 'running' ? undefined : status;
  }, 'the replay to finish');
}

describe('record and replay', () => {
  it('is for admins only: every method rejects with PERMISSION_DENIED', async () => {
    const os = await connect(kernel);
    await failure(os.recordStart(), 'PERMISSION_DENIED');
    await failure(os.recordStop(), 'PERMISSION_DENIED');
    await failure(os.recordStatus(), 'PERMISSION_DENIED');
    await failure(os.replayStatus(), 'PERMISSION_DENIED');
    const empty = { version: 1 as const, started_at: 0, stopped_at: null, options: {}, agents: [], entries: [], overflow: 0 };
    await failure(os.replayStart(empty), 'PERMISSION_DENIED');
  });

  it('idle before any recording: status without one, export null, a replay idle', async () => {
    const admin = await connectAdmin(kernel);
    const status = await admin.recordStatus({ export: true });
    expectShape(RecordStatusReply, status);
    expect(status).toEqual({
      success: true,
      state: 'idle',
      entry_count: 0,
      overflow: 0,
      started_at: null,
      stopped_at: null,
      recording: null,
    });
    const replay = await admin.replayStatus();
    expectShape(ReplayStatusReply, replay);
    expect(replay).toMatchObject({ state: 'idle', entries_total: 0, divergence_count: 0, divergences: [] });
  });

  it('records an agent’s calls, exports them, replays them and reports what diverged', async () => {
    const admin = await connectAdmin(kernel, 'websocket');
    const worker = await connect(kernel);
    const file = join(kernel.dir, 'notes.txt');
    await writeFile(file, 'first');

    const started = await admin.recordStart({ filter_agents: [worker.agentId as number] });
    expectShape(RecordStartReply, started);
    expect(started).toEqual({
      success: true,
      state: 'recording',
      options: { include_think: false, include_http: false, include_exec: true, filter_agents: [worker.agentId], max_entries: 10_000 },
    });
    await worker.store('sdk-replay', { n: 1 }, { scope: 'global' });
    await worker.fetch('sdk-replay', { scope: 'global' });
    await worker.read(file);
    await worker.send(admin.agentId as number, 'skipped in a replay');

    const status = await admin.recordStatus();
    expectShape(RecordStatusReply, status);
    expect(status).toMatchObject({ state: 'recording', entry_count: 4, overflow: 0, stopped_at: null });
    expect(status.started_at).toBeGreaterThan(0);
    expect(status).not.toHaveProperty('recording');

    const stopped = await admin.recordStop();
    expectShape(RecordStopReply, stopped);
    expect(stopped).toMatchObject({ state: 'stopped', entry_count: 4 });
    expect(stopped.stopped_at).toBeGreaterThanOrEqual(stopped.started_at as number);

    const { recording } = await admin.recordStatus({ export: true });
    expect(Recording.safeParse(recording).success).toBe(true);
    expect(recording?.entries.map((entry) => entry.op)).toEqual(['STORE', 'FETCH', 'READ', 'SEND']);

    await writeFile(file, 'fresh');
    const replay = await admin.replayStart(recording as Recording);
    expectShape(ReplayStartReply, replay);
    expect(replay).toEqual({ success: true, state: 'running', entries_total: 4 });
    const done = await finished(admin);
    expectShape(ReplayStatusReply, done);
    expect(done).toMatchObject({
      state: 'done',
      progress: 1,
      entries_total: 4,
      entries_replayed: 3,
      entries_skipped: 1,
      divergence_count: 1,
    });
    expect(done.divergences).toEqual([
      { seq: 2, op: 'READ', agent_id: worker.agentId, differences: [{ path: 'content', expected: 'first', actual: 'fresh' }] },
    ]);
  });

  it('rejects a malformed recording with INVALID_REQUEST, a second replay while one runs with CONFLICT', async () => {
    const admin = await connectAdmin(kernel);
    const worker = await connect(kernel);
    const broken = { version: 2 } as unknown as Recording;
    expect((await failure(admin.replayStart(broken), 'INVALID_REQUEST')).message).toMatch(/recording/);
    expect((await failure(admin.recordStart({ max_entries: 0 }), 'INVALID_REQUEST')).reply?.field).toBe('max_entries');

    await admin.recordStart({ filter_agents: [worker.agentId as number] });
    for (let n = 0; n < 10; n++) await worker.exec('sleep 0.05');
    await admin.recordStop();
    const { recording } = await admin.recordStatus({ export: true });
    await admin.replayStart(recording as Recording);
    await failure(admin.replayStart(recording as Recording), 'CONFLICT');
    expect(await finished(admin)).toMatchObject({ state: 'done', entries_replayed: 10, divergence_count: 0 });
  });
});
