/**
 * SPAWN and worlds against a real kernel with real process agents: a world member's
 * child joins its world before its first call (its READ and WRITE act on the world from
 * the start), `world_id` puts a child in a world the caller controls, `max_agents` is
 * enforced with nothing spawned, a member cannot send a child to another world, and a
 * child that ends leaves its world.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentOSClient } from '../../src/sdk/client.js';
import { AGNT_MJS, connect, failure, readJsonWhenThere, script, spawnAgent, startAgentsKernel, until } from '../agents/support.js';
import type { TestKernel } from '../helpers/kernel.js';

let kernel: TestKernel;
let dir: string;
let source: string;
let childScript: string;
let reports = 0;

type Reply = Record<string, unknown>;
interface ChildReport {
  hello: { agent_id: number };
  read: { success: boolean; content?: string; code?: string };
  write: { success: boolean; path?: string };
}

beforeAll(async () => {
  kernel = await startAgentsKernel();
  dir = join(kernel.dir, 'agents');
  mkdirSync(dir);
  script(dir, 'agnt.mjs', AGNT_MJS);
  // Its first calls after HELLO: READ and WRITE of world paths (which do not exist on the host).
  childScript = script(
    dir,
    'world-child.mjs',
    `import { agnt, report } from './agnt.mjs';
const [socketPath, out] = process.argv.slice(2);
const conn = agnt(socketPath);
const hello = await conn.call(0xfe, { token: process.env.AGENTOS_AGENT_TOKEN });
const read = await conn.call(0x03, { path: '/app/main.txt' });
const write = await conn.call(0x04, { path: '/app/from-child.txt', content: 'child was here' });
report(out, { hello: hello.reply, read: read.reply, write: write.reply });
setInterval(() => {}, 1000);
`,
  );
  source = join(kernel.dir, 'app-src');
  mkdirSync(source);
  writeFileSync(join(source, 'main.txt'), 'world main');
});
afterAll(async () => {
  await kernel.cleanup();
});

async function createWorld(client: AgentOSClient, maxAgents = 10): Promise<string> {
  const created = (await client.call('WORLD_CREATE', {
    config: {
      name: `spawn-${Math.random().toString(36).slice(2, 8)}`,
      filesystem: { '/app': { type: 'mirror', source } },
      resources: { max_agents: maxAgents },
    },
  })) as { world_id: string };
  return created.world_id;
}

const members = async (client: AgentOSClient, worldId: string) =>
  (
    ((await client.call('WORLD_STATE', { world_id: worldId })) as { state: { agents: Array<{ agent_id: number }> } }).state.agents ?? []
  ).map((agent) => agent.agent_id);

const exists = (name: string) => kernel.agents().some((agent) => agent.name === name);

function spawnChild(client: AgentOSClient, extra: Reply = {}) {
  const out = join(dir, `report-${++reports}.json`);
  const spawned = spawnAgent(client, {
    name: `child-${reports}`,
    script: childScript,
    args: [out],
    level: 'standard',
    permissions: { allowed_write_paths: [`${dir}/**`] },
    ...extra,
  });
  return { out, spawned };
}

describe('SPAWN and worlds', () => {
  it("a member's child joins its world before its first call and leaves it when it ends", async () => {
    const client = await connect(kernel);
    const worldId = await createWorld(client);
    await client.call('WORLD_JOIN', { world_id: worldId });
    const { out, spawned } = spawnChild(client);
    const child = (await spawned) as Awaited<typeof spawned> & { world_id?: string };
    expect(child.world_id).toBe(worldId);
    // Sandboxed by default (a standard level), as any SPAWN: the world governs its syscalls.
    expect((child.isolation as { sandboxed?: boolean } | null)?.sandboxed).toBe(true);
    const result = await readJsonWhenThere<ChildReport>(out);
    expect(result.hello.agent_id).toBe(child.agent_id);
    expect(result.read).toMatchObject({ success: true, content: 'world main' });
    expect(result.write).toMatchObject({ success: true, path: '/app/from-child.txt' });
    expect(await client.call('READ', { path: '/app/from-child.txt' })).toMatchObject({ content: 'child was here' });
    expect(await members(client, worldId)).toContain(child.agent_id);

    await client.call('KILL', { id: child.agent_id, signal: 'SIGKILL' });
    await until(async () => !(await members(client, worldId)).includes(child.agent_id), 'the child to leave its world');
    await client.close();
  });

  it('"world_id" puts the child of a non-member in a world it controls', async () => {
    const client = await connect(kernel);
    const worldId = await createWorld(client);
    const { out, spawned } = spawnChild(client, { world_id: worldId });
    const child = (await spawned) as Awaited<typeof spawned> & { world_id?: string };
    expect(child.world_id).toBe(worldId);
    expect((await readJsonWhenThere<ChildReport>(out)).read).toMatchObject({ success: true, content: 'world main' });
    expect(await members(client, worldId)).toEqual([child.agent_id]);
    // The spawner itself stays on the host.
    await failure(client.call('READ', { path: '/app/main.txt' }), 'NOT_FOUND');

    await failure(spawnAgent(client, { name: 'nowhere', script: childScript, world_id: 'world-999' }), 'NOT_FOUND');
    expect(exists('nowhere')).toBe(false);
    // Another agent (not the creator nor its spawner) may not put children in the world.
    const stranger = await connect(kernel);
    await failure(spawnAgent(stranger, { name: 'intruder', script: childScript, world_id: worldId }), 'PERMISSION_DENIED');
    expect(exists('intruder')).toBe(false);
    await client.call('KILL', { id: child.agent_id, signal: 'SIGKILL' });
    await stranger.close();
    await client.close();
  });

  it('a full world refuses the spawn (QUOTA_EXCEEDED naming max_agents) and nothing is spawned', async () => {
    const client = await connect(kernel);
    const worldId = await createWorld(client, 2);
    await client.call('WORLD_JOIN', { world_id: worldId });
    const first = await spawnChild(client).spawned;
    const refused = await failure(spawnChild(client, { name: 'one-too-many' }).spawned, 'QUOTA_EXCEEDED');
    expect(refused.message).toContain('max_agents');
    expect(exists('one-too-many')).toBe(false);
    expect((await members(client, worldId)).length).toBe(2);
    await client.call('KILL', { id: first.agent_id, signal: 'SIGKILL' });
    await client.close();
  });

  it('a member cannot send a child to another world (CONFLICT)', async () => {
    const client = await connect(kernel);
    const home = await createWorld(client);
    const other = await createWorld(client);
    await client.call('WORLD_JOIN', { world_id: home });
    const conflict = await failure(spawnChild(client, { name: 'elsewhere', world_id: other }).spawned, 'CONFLICT');
    expect(conflict.message).toContain(home);
    expect(exists('elsewhere')).toBe(false);
    // Naming its own world is fine.
    const same = (await spawnChild(client, { world_id: home }).spawned) as { agent_id: number; world_id?: string };
    expect(same.world_id).toBe(home);
    await client.call('KILL', { id: same.agent_id, signal: 'SIGKILL' });
    await client.close();
  });
});
