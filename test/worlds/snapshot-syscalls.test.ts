/**
 * WORLD_SNAPSHOT and WORLD_RESTORE against a real kernel: the default file, restoring by
 * path and inline, names (CONFLICT, `name`, `world_id` replacing an empty world), and bad
 * snapshots refused with what is wrong and nothing half-created.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, connect, failure, startAgentsKernel } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let client: AgentOSClient;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  client = await connect(kernel);
});
afterAll(async () => {
  await client.close();
  await kernel.cleanup();
});

type Reply = Record<string, unknown>;
const call = (op: string, payload: unknown) => client.call(op, payload) as Promise<Reply>;
const count = async () => ((await call('WORLD_LIST', {})) as { count: number }).count;

describe('WORLD_SNAPSHOT / WORLD_RESTORE', () => {
  it('snapshots to one file and restores a new world from it', async () => {
    const world = (await call('WORLD_CREATE', {
      config: {
        name: 'saved',
        seed: 5,
        filesystem: { '/work': { type: 'virtual', files: [{ name: 'a.txt', content: 'hello' }] } },
        events: [{ at: '+1h', type: 'cpu_spike', value: 80 }],
      },
    })) as { world_id: string };
    await call('WORLD_EVENT', { world_id: world.world_id, type: 'latency_spike', params: { value: 40 } });
    const snap = (await client.worldSnapshot({ world_id: world.world_id })) as Reply;
    expect(snap).toMatchObject({ success: true, world_id: world.world_id, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const path = snap.path as string;
    expect(path.startsWith(join(kernel.options.dataDir, 'worlds', 'snapshots', 'saved-'))).toBe(true);
    const bytes = await readFile(path);
    expect(bytes.length).toBe(snap.bytes);
    expect(bytes.subarray(0, 26).toString()).toBe('AGENTOS-WORLD-SNAPSHOT v1 ');

    // The name is still taken by the live original.
    const taken = await failure(client.worldRestore({ snapshot_path: path }), 'CONFLICT');
    expect(taken.message).toContain('"saved"');
    const restored = (await client.worldRestore({ snapshot_path: path, name: 'saved-copy' })) as Reply;
    expect(restored).toMatchObject({ name: 'saved-copy', restored_from: world.world_id, snapshot_id: snap.snapshot_id, replaced: null });
    expect(restored.world_id).not.toBe(world.world_id);
    const state = (await call('WORLD_STATE', { world_id: restored.world_id })).state as Reply;
    const original = (await call('WORLD_STATE', { world_id: world.world_id })).state as Reply;
    expect(state.active_effects).toEqual(original.active_effects);
    expect(state.history).toEqual(original.history);
    expect(state.network).toMatchObject({ effects: { latency_spikes: [{ ms: 40 }] } });
    expect(state.agents).toEqual([]);

    // world_id: replace an empty world; the restored one takes its name.
    const inline = (await client.worldRestore({ snapshot: bytes.toString('base64'), world_id: world.world_id })) as Reply;
    expect(inline).toMatchObject({ name: 'saved', replaced: world.world_id });
    await failure(call('WORLD_STATE', { world_id: world.world_id }), 'NOT_FOUND');

    // A world with members is not replaced.
    await call('WORLD_JOIN', { world_id: inline.world_id });
    await failure(client.worldRestore({ snapshot_path: path, world_id: inline.world_id as string }), 'CONFLICT');
    await call('WORLD_LEAVE', {});
    for (const id of [restored.world_id, inline.world_id]) await call('WORLD_DESTROY', { world_id: id });
  });

  it("restores from the kernel's snapshot directory only for the world's owners and the admin", async () => {
    const world = (await call('WORLD_CREATE', { config: { name: 'private' } })) as { world_id: string };
    const snap = (await client.worldSnapshot({ world_id: world.world_id })) as { path: string };
    const stranger = await connect(kernel);
    const admin = await connect(kernel, adminToken(kernel));
    try {
      const denied = await failure(stranger.worldRestore({ snapshot_path: snap.path, name: 'stolen' }), 'PERMISSION_DENIED');
      expect(denied.message).toContain('did not control world');
      const byAdmin = (await admin.worldRestore({ snapshot_path: snap.path, name: 'by-admin' })) as Reply;
      const byOwner = (await client.worldRestore({ snapshot_path: snap.path, name: 'by-owner' })) as Reply;
      // The restorer owns the copy.
      expect(((await call('WORLD_STATE', { world_id: byOwner.world_id })).state as Reply).owner).toMatchObject({
        agent_id: client.agentId,
      });
      for (const id of [byAdmin.world_id, byOwner.world_id, world.world_id]) await admin.call('WORLD_DESTROY', { world_id: id });
    } finally {
      await Promise.all([stranger.close(), admin.close()]);
    }
  });

  it('refuses bad snapshots with what is wrong, and creates nothing', async () => {
    const world = (await call('WORLD_CREATE', { config: { name: 'victim' } })) as { world_id: string };
    const snap = (await client.worldSnapshot({ world_id: world.world_id })) as { path: string };
    const good = await readFile(snap.path);
    const before = await count();
    const inline = (bytes: Buffer | string) => client.worldRestore({ snapshot: Buffer.from(bytes).toString('base64'), name: 'never' });

    expect((await failure(inline('just some text'), 'INVALID_REQUEST')).message).toContain('not an AgentOS world snapshot');
    const flipped = Buffer.from(good);
    flipped[flipped.length - 10]! ^= 0x55;
    expect((await failure(inline(flipped), 'INVALID_REQUEST')).message).toContain('snapshot is corrupted: checksum mismatch');
    const future = Buffer.from(good.toString('latin1').replace(' v1 ', ' v7 '), 'latin1');
    expect((await failure(inline(future), 'INVALID_REQUEST')).message).toContain(
      'snapshot format version 7 is not supported (this kernel reads 1)',
    );
    const foreign = join(kernel.options.dataDir, 'worlds', 'snapshots', 'foreign.agentos-world');
    await writeFile(foreign, '{"format": "something else"}');
    expect((await failure(client.worldRestore({ snapshot_path: foreign, name: 'never' }), 'INVALID_REQUEST')).message).toContain(
      'not an AgentOS world snapshot',
    );
    await failure(client.worldRestore({ snapshot_path: join(kernel.options.dataDir, 'worlds', 'snapshots', 'none') }), 'NOT_FOUND');
    // Elsewhere in the kernel's data directory is no host file the caller may touch.
    await failure(client.worldRestore({ snapshot_path: join(kernel.options.dataDir, 'worlds', 'x.agentos-world') }), 'PERMISSION_DENIED');
    await failure(
      client.worldSnapshot({ world_id: world.world_id, path: join(kernel.options.dataDir, 'x.agentos-world') }),
      'PERMISSION_DENIED',
    );
    await failure(call('WORLD_RESTORE', { snapshot_path: snap.path, snapshot: 'AA==' }), 'INVALID_REQUEST');
    await failure(client.worldSnapshot({ world_id: 'world-999' }), 'NOT_FOUND');
    expect(await count()).toBe(before);
    await call('WORLD_DESTROY', { world_id: world.world_id });
  });
});
