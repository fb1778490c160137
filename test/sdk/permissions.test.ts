/**
 * The SDK's permission methods against a real kernel: getPerms and setPerms on oneself,
 * on another agent (refused) and as an admin on anyone, the replies' exact shapes, and
 * each error they reject with.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GetPermsReply, Permissions, PRESETS, SetPermsReply } from '../../src/protocol/schemas/permissions.js';
import { failure } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { closeAll, connect, connectAdmin, expectShape, type Transport } from './support.js';

let kernel: TestKernel;

beforeAll(async () => {
  kernel = await startTestKernel();
});

afterEach(closeAll);

afterAll(async () => {
  await kernel?.cleanup();
});

describe('getPerms', () => {
  it.each<Transport>(['socket', 'websocket', 'in-process'])(
    'shows this agent its own level and every field of its rights (%s)',
    async (transport) => {
      const os = await connect(kernel, transport);
      const reply = await os.getPerms();
      expectShape(GetPermsReply, reply);
      expectShape(Permissions, reply.permissions);
      expect(reply).toMatchObject({ success: true, agent_id: os.agentId, level: 'standard', admin: false });
      expect(reply.permissions).toEqual(PRESETS.standard);
      // Its own id, named, is the same.
      expect(await os.getPerms(os.agentId)).toEqual(reply);
    },
  );

  it("shows an admin any agent's rights, and nobody else's", async () => {
    const admin = await connectAdmin(kernel);
    const other = await connect(kernel);
    const os = await connect(kernel);
    const seen = await admin.getPerms(other.agentId);
    expectShape(GetPermsReply, seen);
    expect(seen).toMatchObject({ agent_id: other.agentId, level: 'standard', admin: false });
    expect(await admin.getPerms()).toMatchObject({ agent_id: admin.agentId, admin: true });
    const denied = await failure(os.getPerms(other.agentId), 'PERMISSION_DENIED');
    expect(denied.message).toMatch(/not spawned by/);
  });

  it('rejects an agent that does not exist with NOT_FOUND, and a bad id with INVALID_REQUEST', async () => {
    const os = await connect(kernel);
    await failure(os.getPerms(999_999), 'NOT_FOUND');
    expect((await failure(os.getPerms(-1), 'INVALID_REQUEST')).reply?.field).toBe('agent_id');
  });
});

describe('setPerms', () => {
  it('narrows this agent: the reply is the rights now in force, and the next call obeys them', async () => {
    const os = await connect(kernel);
    const reply = await os.setPerms({ permissions: { can_exec: false, allowed_write_paths: ['/tmp/**'] } });
    expectShape(SetPermsReply, reply);
    expect(reply).toMatchObject({ success: true, agent_id: os.agentId, level: 'standard', admin: false });
    expect(reply.permissions).toMatchObject({ can_exec: false, can_read: true, allowed_write_paths: ['/tmp/**'] });
    expect(await os.getPerms()).toEqual(reply);
    await failure(os.exec('true'), 'PERMISSION_DENIED');
    // A level alone: its preset.
    const readonly = await os.setPerms({ level: 'readonly' });
    expect(readonly).toMatchObject({ level: 'readonly', permissions: PRESETS.readonly });
  });

  it('refuses to widen this agent, listing every field that exceeds', async () => {
    const os = await connect(kernel);
    const denied = await failure(os.setPerms({ permissions: { can_network: true, allowed_domains: ['*'] } }), 'PERMISSION_DENIED');
    const escalations = denied.reply?.escalations as string[];
    expect(escalations.some((line) => line.includes('can_network'))).toBe(true);
    expect(escalations.some((line) => line.includes('allowed_domains'))).toBe(true);
    await failure(os.setPerms({ level: 'unrestricted' }), 'PERMISSION_DENIED');
    // Nothing changed.
    expect((await os.getPerms()).permissions).toEqual(PRESETS.standard);
  });

  it("lets an admin set any agent's level and fields; a stranger's rights are out of reach of others", async () => {
    const admin = await connectAdmin(kernel, 'websocket');
    const target = await connect(kernel);
    const os = await connect(kernel);
    const reply = await admin.setPerms({
      agent_id: target.agentId,
      level: 'minimal',
      permissions: { can_network: true, allowed_domains: ['127.0.0.1'] },
    });
    expectShape(SetPermsReply, reply);
    expect(reply).toMatchObject({ agent_id: target.agentId, level: 'minimal' });
    expect(reply.permissions).toEqual({ ...PRESETS.minimal, can_network: true, allowed_domains: ['127.0.0.1'] });
    expect(await target.getPerms()).toEqual(reply);
    await failure(os.setPerms({ agent_id: target.agentId, permissions: { can_think: false } }), 'PERMISSION_DENIED');
    await failure(admin.setPerms({ agent_id: 999_999, level: 'minimal' }), 'NOT_FOUND');
  });

  it('rejects a request without level or permissions, an unknown field and a bad level with INVALID_REQUEST', async () => {
    const os = await connect(kernel);
    expect((await failure(os.setPerms({}), 'INVALID_REQUEST')).reply?.field).toBe('level');
    // Fields outside the model (as a caller without types could send).
    const unknown = { can_fly: true } as unknown as { can_exec: boolean };
    expect((await failure(os.setPerms({ permissions: unknown }), 'INVALID_REQUEST')).message).toMatch(/can_fly/);
    const level = 'root' as unknown as 'minimal';
    expect((await failure(os.setPerms({ level }), 'INVALID_REQUEST')).reply?.field).toBe('level');
  });
});
