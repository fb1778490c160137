/**
 * Who may steer a world (src/worlds/control.ts): its creator, the creator's spawners and
 * the admin. A stranger may not destroy it, inject into it, read it or put itself in it;
 * a member placed in a world may read its state but may not leave, heal or destroy it
 * (leaving is an escape to the host). Every refusal is PERMISSION_DENIED and audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../src/agents/registry.js';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { controls, ownerFor } from '../../src/worlds/control.js';
import { adminToken, connect, failure, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let owner: AgentOSClient;
let stranger: AgentOSClient;
let admin: AgentOSClient;

beforeAll(async () => {
  kernel = await startAgentsKernel();
  owner = await connect(kernel);
  stranger = await connect(kernel);
  admin = await connect(kernel, adminToken(kernel));
});
afterAll(async () => {
  await Promise.all([owner.close(), stranger.close(), admin.close()]);
  await kernel.cleanup();
});

type Reply = Record<string, unknown>;
const createBy = async (client: AgentOSClient, name: string) =>
  ((await client.call('WORLD_CREATE', { config: { name } })) as { world_id: string }).world_id;

async function audited(agentId: number, op: string): Promise<void> {
  await until(
    () => kernel.audit.query({ category: 'denial', agent_id: agentId }).entries.some((entry) => entry.op === op),
    `the audited denial of ${op} for agent ${agentId}`,
  );
}

describe('world control', () => {
  it('a stranger may not destroy, inject into, join or read a world it does not own', async () => {
    const world = await createBy(owner, 'owned');
    const listed = (await stranger.call('WORLD_LIST', {})) as { worlds: Reply[] };
    expect(listed.worlds.find((entry) => entry.world_id === world)).toMatchObject({
      owner: { agent_id: owner.agentId, name: null },
    });

    const destroy = await failure(stranger.call('WORLD_DESTROY', { world_id: world }), 'PERMISSION_DENIED');
    expect(destroy.message).toContain(`created by agent ${owner.agentId}`);
    await failure(stranger.call('WORLD_EVENT', { world_id: world, type: 'heal' }), 'PERMISSION_DENIED');
    await failure(stranger.call('WORLD_EVENT', { world_id: world, type: 'disk_full' }), 'PERMISSION_DENIED');
    await failure(stranger.call('WORLD_JOIN', { world_id: world }), 'PERMISSION_DENIED');
    await failure(stranger.call('WORLD_STATE', { world_id: world }), 'PERMISSION_DENIED');
    for (const op of ['WORLD_DESTROY', 'WORLD_EVENT', 'WORLD_JOIN', 'WORLD_STATE']) await audited(stranger.agentId as number, op);

    // Nothing changed: no effect, no member, still live.
    const state = ((await owner.call('WORLD_STATE', { world_id: world })) as { state: Reply }).state;
    expect(state).toMatchObject({ status: 'running', agent_count: 0, active_effects: [], owner: { agent_id: owner.agentId } });
    await owner.call('WORLD_DESTROY', { world_id: world });
  });

  it('a member placed in a world may read it but not leave, heal or destroy it', async () => {
    const world = await createBy(admin, 'placed');
    await admin.call('WORLD_JOIN', { world_id: world, agent_id: stranger.agentId });
    await admin.call('WORLD_EVENT', { world_id: world, type: 'disk_full' });

    const state = ((await stranger.call('WORLD_STATE', { world_id: world })) as { state: Reply }).state;
    expect(state.agents).toEqual([expect.objectContaining({ agent_id: stranger.agentId })]);
    const leave = await failure(stranger.call('WORLD_LEAVE', {}), 'PERMISSION_DENIED');
    expect(leave.message).toContain('take agents out of');
    await failure(stranger.call('WORLD_EVENT', { world_id: world, type: 'heal' }), 'PERMISSION_DENIED');
    await failure(stranger.call('WORLD_DESTROY', { world_id: world, force: true }), 'PERMISSION_DENIED');
    // Still inside: its WRITE lands in the world, where disk_full is still in force.
    await failure(stranger.call('WRITE', { path: '/tmp/escape.txt', content: 'x' }), 'PERMISSION_DENIED');
    const after = ((await admin.call('WORLD_STATE', { world_id: world })) as { state: Reply }).state;
    expect(after.agent_count).toBe(1);
    expect((after.active_effects as Reply[]).map((effect) => effect.type)).toEqual(['disk_full']);

    // The owner (here the admin) may take it out.
    await admin.call('WORLD_LEAVE', { agent_id: stranger.agentId });
    await admin.call('WORLD_DESTROY', { world_id: world });
  });

  it('the creator controls its own world, and the admin every world', async () => {
    const world = await createBy(owner, 'self-owned');
    await owner.call('WORLD_JOIN', { world_id: world });
    await owner.call('WORLD_EVENT', { world_id: world, type: 'latency_spike', params: { value: 10 } });
    await owner.call('WORLD_LEAVE', {});
    await admin.call('WORLD_EVENT', { world_id: world, type: 'heal' });
    await admin.call('WORLD_DESTROY', { world_id: world });
  });
});

describe('ownerFor', () => {
  const record = (id: number, parentId: number | null, isAdmin = false) =>
    ({ id, parentId, name: `a${id}`, admin: isAdmin }) as unknown as AgentRecord;

  it('records the creator and its ancestors, so a spawner keeps control after its child exits', () => {
    const agents = new Map([1, 2, 3].map((id) => [id, record(id, id === 1 ? null : id - 1)]));
    const owner = ownerFor(record(3, 2), { get: (id: number) => agents.get(id) });
    expect(owner).toEqual({ agent_id: 3, name: 'a3', lineage: [3, 2, 1] });
    agents.delete(3);
    expect(controls(record(1, null), owner)).toBe(true);
    expect(controls(record(2, 1), owner)).toBe(true);
    expect(controls(record(4, 3), owner)).toBe(false);
    expect(controls(record(9, null, true), owner)).toBe(true);
    expect(controls(record(9, null), undefined)).toBe(false);
  });
});
