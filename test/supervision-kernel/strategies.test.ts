/**
 * OTP strategies with real in-kernel actor children: which children a failure touches,
 * start order, and stop order (reverse), as recorded by the children themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TreeNode } from '../../src/protocol/schemas/agents.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, idOf, NO_BACKOFF, Puppets, until } from './support.js';

let kernel: TestKernel;
let events: EventLog;

beforeAll(async () => {
  kernel = await startTestKernel();
  events = new EventLog(kernel);
});
afterAll(async () => {
  events.close();
  await kernel.cleanup();
});

/** A subtree of actor children labelled `labels`, all running. */
async function subtree(name: string, strategy: 'one_for_one' | 'one_for_all' | 'rest_for_one', labels: string[]) {
  const puppets = new Puppets();
  const handle = await kernel.supervise({
    name,
    strategy,
    intensity: 5,
    period: 5,
    backoff: NO_BACKOFF,
    children: labels.map((label) => ({ id: label, actor: puppets.actor(label) })),
  });
  await until(() => labels.every((label) => puppets.running(label)), `${name}: every child running`);
  return { puppets, handle };
}

const spawnedCount = (agentId: number) => events.of('AGENT_SPAWNED', agentId).length;

describe('strategies', () => {
  it('children start in list order and stop in reverse order', async () => {
    const { puppets, handle } = await subtree('order', 'one_for_one', ['a', 'b', 'c', 'd']);
    expect(puppets.entries('start')).toEqual(['a', 'b', 'c', 'd']);
    const ids = ['a', 'b', 'c', 'd'].map((label) => idOf(kernel, `order.${label}`));
    // The kernel saw them start in the same order.
    const spawned = events.events.filter((e) => e.type === 'AGENT_SPAWNED' && ids.includes(e.source_agent_id ?? -1));
    expect(spawned.map((e) => e.source_agent_id)).toEqual(ids);

    puppets.clear();
    await handle.stop();
    expect(puppets.journal).toEqual(['stop:d', 'stop:c', 'stop:b', 'stop:a']);
    const exited = events.events.filter((e) => e.type === 'AGENT_EXITED' && ids.includes(e.source_agent_id ?? -1));
    expect(exited.map((e) => e.source_agent_id)).toEqual([...ids].reverse());
    expect(exited.map((e) => e.data.reason)).toEqual(['shutdown', 'shutdown', 'shutdown', 'shutdown']);
    // Ended for good: the subtree and its members left the kernel.
    expect(kernel.agents().filter((agent) => agent.name?.startsWith('order'))).toEqual([]);
  });

  it('one_for_one restarts only the failed child', async () => {
    const { puppets, handle } = await subtree('o4o', 'one_for_one', ['a', 'b', 'c']);
    const [a, b, c] = ['a', 'b', 'c'].map((label) => idOf(kernel, `o4o.${label}`)) as [number, number, number];
    puppets.clear();
    puppets.crash('b');
    await events.wait('AGENT_SPAWNED', b, 2);
    expect(puppets.journal).toEqual(['crash:b', 'start:b']);
    expect([spawnedCount(a), spawnedCount(b), spawnedCount(c)]).toEqual([1, 2, 1]);
    await handle.stop();
  });

  it('one_for_all stops the others in reverse order, then starts every child again in order', async () => {
    const { puppets, handle } = await subtree('o4a', 'one_for_all', ['a', 'b', 'c']);
    const [a, b, c] = ['a', 'b', 'c'].map((label) => idOf(kernel, `o4a.${label}`)) as [number, number, number];
    puppets.clear();
    puppets.crash('b');
    await events.wait('AGENT_SPAWNED', c, 2);
    expect(puppets.journal).toEqual(['crash:b', 'stop:c', 'stop:a', 'start:a', 'start:b', 'start:c']);
    expect([spawnedCount(a), spawnedCount(b), spawnedCount(c)]).toEqual([2, 2, 2]);
    // The siblings were stopped on purpose (shutdown); only b crashed.
    expect(events.of('AGENT_EXITED', a).map((e) => e.data.reason)).toEqual(['shutdown']);
    expect(events.of('AGENT_EXITED', b).map((e) => e.data.reason)).toEqual(['crash']);
    await handle.stop();
  });

  it('rest_for_one restarts the failed child and every child started after it', async () => {
    const { puppets, handle } = await subtree('r4o', 'rest_for_one', ['a', 'b', 'c', 'd']);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((label) => idOf(kernel, `r4o.${label}`)) as [number, number, number, number];
    puppets.clear();
    puppets.crash('b');
    await events.wait('AGENT_SPAWNED', d, 2);
    expect(puppets.journal).toEqual(['crash:b', 'stop:d', 'stop:c', 'start:b', 'start:c', 'start:d']);
    expect([spawnedCount(a), spawnedCount(b), spawnedCount(c), spawnedCount(d)]).toEqual([1, 2, 2, 2]);

    // The last child failing touches only itself.
    puppets.clear();
    puppets.crash('d');
    await events.wait('AGENT_SPAWNED', d, 3);
    expect(puppets.journal).toEqual(['crash:d', 'start:d']);
    await handle.stop();
  });

  it('simple_one_for_one: kernel.spawn adds dynamic children to the agents supervisor, each restarted alone', async () => {
    const puppets = new Puppets();
    const labels = ['dyn-1', 'dyn-2', 'dyn-3'];
    const handles = [];
    for (const label of labels) handles.push(await kernel.spawn(puppets.actor(label), { name: label, backoff: NO_BACKOFF }));
    await until(() => labels.every((label) => puppets.running(label)), 'dynamic children running');
    const [one, two, three] = handles.map((h) => h.id) as [number, number, number];

    const client = await AgentOSClient.connect({ connection: kernel.connect({ name: 'tree-reader' }) });
    const agentsNode = async () => {
      const { tree } = (await client.call('TREE')) as { tree: TreeNode };
      return tree.children?.find((node) => node.actor === 'agents') as TreeNode;
    };
    const before = await agentsNode();
    expect(before.strategy).toBe('simple_one_for_one');
    expect(before.children?.filter((node) => node.name?.startsWith('dyn-')).map((node) => node.agent_id)).toEqual([one, two, three]);

    puppets.clear();
    puppets.crash('dyn-2');
    await events.wait('AGENT_SPAWNED', two, 2);
    expect(puppets.journal).toEqual(['crash:dyn-2', 'start:dyn-2']);
    expect([spawnedCount(one), spawnedCount(two), spawnedCount(three)]).toEqual([1, 2, 1]);

    // A child added later joins at the end; stopping one removes only that one.
    const four = await kernel.spawn(puppets.actor('dyn-4'), { name: 'dyn-4', backoff: NO_BACKOFF });
    await handles[0]!.stop();
    const after = await agentsNode();
    expect(after.children?.filter((node) => node.name?.startsWith('dyn-')).map((node) => node.agent_id)).toEqual([two, three, four.id]);
    await client.close();
    for (const handle of [...handles.slice(1), four]) await handle.stop();
  });

  it('simple_one_for_one in kernel.supervise takes exactly one template child', async () => {
    const puppets = new Puppets();
    await expect(
      kernel.supervise({
        name: 's4o-bad',
        strategy: 'simple_one_for_one',
        children: [
          { id: 'x', actor: puppets.actor('x') },
          { id: 'y', actor: puppets.actor('y') },
        ],
      }),
    ).rejects.toThrow(/simple_one_for_one needs exactly one child spec/);
    // Refused before anything ran, and nothing is left behind.
    expect(puppets.journal).toEqual([]);
    expect(kernel.agents().some((agent) => agent.name?.startsWith('s4o-bad'))).toBe(false);

    const handle = await kernel.supervise({
      name: 's4o',
      strategy: 'simple_one_for_one',
      backoff: NO_BACKOFF,
      children: [{ id: 'worker', actor: puppets.actor('w') }],
    });
    await until(() => puppets.running('w'), 'template child running');
    puppets.crash('w');
    await events.wait('AGENT_SPAWNED', idOf(kernel, 's4o.worker'), 2);
    await handle.stop();
  });
});
