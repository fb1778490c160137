/**
 * The SDK's agent methods against a real kernel: spawn, list, tree, logs (paging and
 * follow), pause, resume and kill of a real process agent, the replies' exact shapes,
 * and the errors each rejects with.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KillReply, LogsReply, PauseReply, ResumeReply, SpawnReply, type TreeNode, TreeReply } from '../../src/protocol/schemas/agents.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { failure, isGone, procState, script, until } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { closeAll, connect, expectShape } from './support.js';

let kernel: TestKernel;
let dir: string;

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted' });
  dir = mkdtempSync(join(tmpdir(), 'agentos-sdk-agents-'));
});

afterEach(closeAll);

afterAll(async () => {
  await kernel?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function find(node: TreeNode, agentId: number): TreeNode | undefined {
  if (node.agent_id === agentId) return node;
  for (const child of node.children ?? []) {
    const found = find(child, agentId);
    if (found) return found;
  }
  return undefined;
}

describe('spawn, list, tree, logs, pause, resume, kill', () => {
  it('runs one process agent through its whole life', async () => {
    const os = await connect(kernel);
    const go = join(dir, 'go');
    const path = script(
      dir,
      'worker.sh',
      `#!/bin/sh\necho ready\necho warn >&2\nwhile [ ! -e "${go}" ]; do sleep 0.05; done\necho done\nexec sleep 60\n`,
      true,
    );

    const spawned = await os.spawn({ name: 'sdk-worker', script: path, restart_policy: 'never' });
    expectShape(SpawnReply, spawned);
    expect(spawned).toMatchObject({ success: true, name: 'sdk-worker', id: spawned.agent_id, restart_policy: 'never' });
    expect(spawned.pid).toBeGreaterThan(0);
    const id = spawned.agent_id;

    const rows = await os.list();
    expect(Array.isArray(rows)).toBe(true);
    expect(rows.find((row) => row.id === id)).toMatchObject({
      name: 'sdk-worker',
      kind: 'process',
      parent_id: os.agentId,
      state: 'running',
    });
    expect(rows.find((row) => row.id === os.agentId)).toMatchObject({ kind: 'client' });

    const tree = await os.tree();
    expectShape(TreeReply, tree);
    expect(tree.tree).toMatchObject({ actor: 'kernel', kind: 'kernel' });
    expect(find(tree.tree, id)).toMatchObject({ kind: 'process', name: 'sdk-worker', pid: spawned.pid });

    // LOGS by name, then by id: the newest lines, paging with afterSeq, following with waitMs.
    const first = await until(async () => {
      const reply = await os.logs('sdk-worker');
      return reply.lines.length >= 3 ? reply : undefined;
    }, 'three lines');
    expectShape(LogsReply, first);
    expect(first).toMatchObject({ success: true, agent_id: id, name: 'sdk-worker', dropped: 0, ended: false });
    expect(first.lines.map((line) => [line.stream, line.text])).toEqual([
      ['kernel', `agent started (pid ${spawned.pid})`],
      ['stdout', 'ready'],
      ['stderr', 'warn'],
    ]);
    expect((await os.logs(id, { lines: 1 })).lines.map((line) => line.text)).toEqual(['warn']);
    expect((await os.logs(id, { afterSeq: first.lines[0]?.seq, lines: 1 })).lines.map((line) => line.text)).toEqual(['ready']);
    const following = os.logs(id, { afterSeq: first.next_seq, waitMs: 15_000 });
    writeFileSync(go, '');
    expect((await following).lines.map((line) => line.text)).toEqual(['done']);

    // PAUSE and RESUME, each twice (the second changes nothing).
    await until(() => procState(spawned.pid as number) === 'S', 'the agent asleep');
    const paused = await os.pause('sdk-worker');
    expectShape(PauseReply, paused);
    expect(paused).toEqual({ success: true, paused: true, agent_id: id });
    await until(() => procState(spawned.pid as number) === 'T', 'the process stopped (T)');
    expect((await os.list()).find((row) => row.id === id)?.state).toBe('paused');
    expect(await os.pause(id)).toMatchObject({ paused: true });
    const resumed = await os.resume(id);
    expectShape(ResumeReply, resumed);
    expect(resumed).toEqual({ success: true, resumed: true, agent_id: id });
    expect(await os.resume('sdk-worker')).toMatchObject({ resumed: true });
    expect((await os.list()).find((row) => row.id === id)?.state).toBe('running');

    // KILL: resolves once the agent is gone.
    const killed = await os.kill('sdk-worker', { signal: 'SIGKILL', graceMs: 1000 });
    expectShape(KillReply, killed);
    expect(killed).toEqual({ success: true, killed: true, agent_id: id });
    expect(isGone(spawned.pid as number)).toBe(true);
    expect((await os.list()).some((row) => row.id === id)).toBe(false);
    await failure(os.kill(id), 'NOT_FOUND');
    await failure(os.pause(id), 'NOT_FOUND');
    await failure(os.resume('sdk-worker'), 'NOT_FOUND');
    // Its last lines stay readable by id.
    expect((await os.logs(id)).ended).toBe(true);
  });
});

describe('errors', () => {
  it('spawn: NOT_FOUND, INVALID_REQUEST, CONFLICT, PERMISSION_DENIED', async () => {
    const os = await connect(kernel);
    await failure(os.spawn({ name: 'ghost', script: join(dir, 'no-such-script.sh') }), 'NOT_FOUND');
    expect((await failure(os.spawn({ name: 'bad name!', script: '/bin/true' }), 'INVALID_REQUEST')).reply?.field).toBe('name');
    expect((await failure(os.spawn({ name: 'a-dir', script: dir }), 'INVALID_REQUEST')).reply?.field).toBe('script');
    const sleeper = script(dir, 'sleeper.sh', '#!/bin/sh\nexec sleep 60\n', true);
    const held = await os.spawn({ name: 'sdk-taken', script: sleeper });
    await failure(os.spawn({ name: 'sdk-taken', script: sleeper }), 'CONFLICT');
    await os.kill(held.agent_id);

    // A standard-level agent has no can_spawn; nor may a spawner grant what it lacks.
    const standard = await AgentOSClient.connect({ connection: kernel.connect({ name: 'standard', level: 'standard' }) });
    try {
      await failure(standard.spawn({ name: 'nope', script: sleeper }), 'PERMISSION_DENIED');
      await failure(standard.kill(1), 'PERMISSION_DENIED');
      await failure(standard.pause(1), 'PERMISSION_DENIED');
      await failure(standard.resume(1), 'PERMISSION_DENIED');
    } finally {
      await standard.close();
    }
  });

  it('kill, pause, resume and logs: not a descendant, a client connection, no output log', async () => {
    const parent = await connect(kernel);
    const stranger = await connect(kernel);
    const sleeper = script(dir, 'sleeper.sh', '#!/bin/sh\nexec sleep 60\n', true);
    const child = await parent.spawn({ name: 'sdk-child', script: sleeper });
    await failure(stranger.kill('sdk-child'), 'PERMISSION_DENIED');
    await failure(stranger.pause(child.agent_id), 'PERMISSION_DENIED');
    await failure(stranger.resume(child.agent_id), 'PERMISSION_DENIED');
    await failure(stranger.logs('sdk-child'), 'PERMISSION_DENIED');
    // Its own connection is within reach, but it is a client, not a supervised agent.
    await failure(parent.kill(parent.agentId as number), 'INVALID_REQUEST');
    await failure(parent.pause(parent.agentId as number), 'INVALID_REQUEST');
    await failure(parent.logs(parent.agentId as number), 'NOT_FOUND');
    await failure(parent.logs('nobody-by-this-name'), 'NOT_FOUND');
    await failure(parent.kill(child.agent_id, { graceMs: -1 }), 'INVALID_REQUEST');
    expect(await parent.kill('sdk-child')).toMatchObject({ killed: true });
  });
});
