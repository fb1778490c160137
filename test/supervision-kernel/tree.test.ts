/**
 * The TREE syscall over a real kernel: root → system services and the kernel's
 * supervisors (agents, worlds, tasks) → agents, with a kernel.supervise subtree nested under `agents`, each
 * supervisor showing its strategy and every node its machine state and restarts.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo, TreeNode } from '../../src/protocol/schemas/agents.js';
import { TreeReply } from '../../src/protocol/schemas/agents.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, idOf, NO_BACKOFF, Puppets, until } from './support.js';

let kernel: TestKernel;
let events: EventLog;
let client: AgentOSClient;

beforeAll(async () => {
  kernel = await startTestKernel();
  events = new EventLog(kernel);
  client = await AgentOSClient.connect({ connection: kernel.connect({ name: 'observer' }) });
});
afterAll(async () => {
  await client.close();
  events.close();
  await kernel.cleanup();
});

async function tree(): Promise<TreeNode> {
  return TreeReply.parse(await client.call('TREE')).tree;
}

/** The node path `names` (matched on `name`) under `node`. */
function find(node: TreeNode, ...names: string[]): TreeNode {
  let current = node;
  for (const name of names) {
    const next = current.children?.find((child) => child.name === name || child.actor === name);
    if (!next) throw new Error(`no "${name}" under "${current.name}": ${JSON.stringify(current.children?.map((c) => c.name))}`);
    current = next;
  }
  return current;
}

describe('TREE', () => {
  it('nests a subtree under agents with strategies, kinds and states, and follows restarts', async () => {
    const puppets = new Puppets();
    const ready = join(kernel.dir, 'tree-proc.ready');
    const script = join(kernel.dir, 'tree-proc.mjs');
    await writeFile(
      script,
      "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[3], 'up');\nsetInterval(() => {}, 1000);\n",
    );
    const idle = join(kernel.dir, 'tree-idle.mjs');
    await writeFile(idle, 'export default async () => { await new Promise(() => setInterval(() => {}, 1000)); };\n');

    const handle = await kernel.supervise({
      name: 'app',
      strategy: 'one_for_all',
      intensity: 3,
      backoff: NO_BACKOFF,
      children: [
        { id: 'db', actor: puppets.actor('db') },
        {
          id: 'web',
          supervise: {
            name: 'web',
            strategy: 'rest_for_one',
            backoff: NO_BACKOFF,
            children: [
              { id: 'api', worker: idle },
              { id: 'proc', process: { script, args: [ready] } },
            ],
          },
        },
      ],
    });
    const solo = await kernel.spawn(puppets.actor('solo'), { name: 'solo' });
    const api = idOf(kernel, 'web.api');
    await until(() => existsSync(ready) && puppets.running('db') && puppets.running('solo'), 'everything up');
    await events.wait('AGENT_SPAWNED', api);

    const root = await tree();
    expect(root).toMatchObject({ actor: 'kernel', kind: 'kernel', state: 'running', pid: process.pid });
    expect(root.children?.map((node) => [node.actor, node.strategy, node.state])).toEqual([
      ['system', undefined, 'running'],
      ['agents', 'simple_one_for_one', 'supervising'],
      ['worlds', 'simple_one_for_one', 'supervising'],
      ['tasks', 'simple_one_for_one', 'supervising'],
    ]);
    // The services the root starts first: the doors and the worker pool.
    expect(find(root, 'system').children?.map((node) => [node.actor, node.kind])).toEqual([
      ['unix', 'service'],
      ['websocket', 'service'],
      ['workers', 'service'],
    ]);
    expect(find(root, 'system', 'unix').name).toBe(kernel.socketPath);
    const agents = find(root, 'agents');
    expect(agents.children?.map((node) => node.name)).toEqual(['app', 'solo']);
    expect(find(agents, 'solo')).toMatchObject({ agent_id: solo.id, kind: 'actor', state: 'running', restarts: 0 });

    const app = find(agents, 'app');
    expect(app).toMatchObject({ agent_id: handle.id, kind: 'supervisor', strategy: 'one_for_all', state: 'running' });
    expect(app.children?.map((node) => [node.actor, node.name, node.kind, node.state])).toEqual([
      ['db', 'app.db', 'actor', 'running'],
      ['web', 'app.web', 'supervisor', 'running'],
    ]);
    const web = find(app, 'app.web');
    expect(web.strategy).toBe('rest_for_one');
    expect(web.children?.map((node) => [node.actor, node.name, node.kind, node.state])).toEqual([
      ['api', 'web.api', 'worker', 'running'],
      ['proc', 'web.proc', 'process', 'running'],
    ]);
    const proc = find(web, 'web.proc');
    expect(proc.pid).toEqual(expect.any(Number));

    // LIST has the same agents, parented as in the tree.
    const rows = (await client.call('LIST')) as AgentInfo[];
    const byName = new Map(rows.map((row) => [row.name, row]));
    expect(byName.get('app.web')?.parent_id).toBe(handle.id);
    expect(byName.get('web.api')).toMatchObject({ kind: 'worker', parent_id: idOf(kernel, 'app.web') });
    expect(byName.get('web.proc')).toMatchObject({ kind: 'process', parent_id: idOf(kernel, 'app.web') });

    // After a one_for_all restart the tree shows every member restarted once, the process with a new pid.
    puppets.crash('db');
    await events.wait('AGENT_SPAWNED', idOf(kernel, 'web.proc'), 2, 10_000);
    await events.wait('AGENT_SPAWNED', api, 2, 10_000);
    await until(() => puppets.running('db'), 'db back');
    const after = find(await tree(), 'agents', 'app');
    expect(after.children?.map((node) => [node.name, node.restarts])).toEqual([
      ['app.db', 1],
      ['app.web', 1],
    ]);
    const webAfter = find(after, 'app.web');
    expect(webAfter.children?.map((node) => [node.name, node.state])).toEqual([
      ['web.api', 'running'],
      ['web.proc', 'running'],
    ]);
    expect(find(webAfter, 'web.proc').pid).not.toBe(proc.pid);

    await handle.stop();
    await solo.stop();
    const empty = find(await tree(), 'agents');
    expect(empty.children?.filter((node) => node.name === 'app' || node.name === 'solo')).toEqual([]);
  });
});
