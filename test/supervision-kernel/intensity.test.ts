/**
 * Restart intensity with real actors: more than `intensity` restarts within `period`
 * makes a subtree stop its children (reverse order), emit AGENT_ESCALATED and fail
 * upward, where its parent applies its own strategy; through two levels, the top gives
 * up for good and every agent of the tree leaves the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { EventLog, idOf, NO_BACKOFF, Puppets, sleep, until } from './support.js';

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

const alive = (id: number) => kernel.agents().some((agent) => agent.id === id);

describe('restart intensity', () => {
  it('restarts spread wider than the period never escalate', async () => {
    const puppets = new Puppets();
    const handle = await kernel.supervise({
      name: 'window',
      intensity: 1,
      period: 0.3,
      backoff: NO_BACKOFF,
      children: [{ id: 'a', actor: puppets.actor('a') }],
    });
    const a = idOf(kernel, 'window.a');
    for (let run = 2; run <= 4; run++) {
      await until(() => puppets.running('a'), 'a running');
      puppets.crash('a');
      await events.wait('AGENT_SPAWNED', a, run);
      await sleep(350);
    }
    expect(events.of('AGENT_ESCALATED', handle.id)).toEqual([]);
    expect(alive(handle.id)).toBe(true);
    await handle.stop();
  });

  it('a breach stops the children in reverse order, escalates, and the parent applies its strategy (rest_for_one)', async () => {
    const puppets = new Puppets();
    const handle = await kernel.supervise({
      name: 'outer',
      strategy: 'rest_for_one',
      intensity: 3,
      period: 10,
      backoff: NO_BACKOFF,
      children: [
        { id: 'before', actor: puppets.actor('before') },
        {
          id: 'inner',
          supervise: {
            name: 'inner',
            strategy: 'one_for_one',
            intensity: 1,
            period: 10,
            backoff: NO_BACKOFF,
            children: ['a', 'b', 'c'].map((label) => ({ id: label, actor: puppets.actor(label) })),
          },
        },
        { id: 'after', actor: puppets.actor('after') },
      ],
    });
    const inner = idOf(kernel, 'outer.inner');
    const b = idOf(kernel, 'inner.b');
    await until(() => ['before', 'a', 'b', 'c', 'after'].every((label) => puppets.running(label)), 'all running');
    expect(puppets.entries('start')).toEqual(['before', 'a', 'b', 'c', 'after']);

    // One restart is within the inner intensity (1 in 10 s) ...
    puppets.clear();
    puppets.crash('b');
    await events.wait('AGENT_SPAWNED', b, 2);
    expect(puppets.journal).toEqual(['crash:b', 'start:b']);
    expect(events.of('AGENT_ESCALATED')).toEqual([]);

    // ... the second is not: inner stops c then a (b is down already) and escalates.
    puppets.clear();
    puppets.crash('b');
    await events.wait('AGENT_SPAWNED', inner, 2);
    await until(() => puppets.running('after'), 'after running again');
    const escalated = events.of('AGENT_ESCALATED', inner);
    expect(escalated).toHaveLength(1);
    expect(escalated[0]!.data).toMatchObject({ agent_id: inner, name: 'outer.inner', child_id: 'b', reason: 'crash' });
    expect(events.of('AGENT_EXITED', inner).map((e) => e.data.reason)).toEqual(['crash']);
    // Outer is rest_for_one: 'after' stopped, inner and 'after' started again in order; 'before' untouched.
    expect(puppets.journal).toEqual(['crash:b', 'stop:c', 'stop:a', 'stop:after', 'start:a', 'start:b', 'start:c', 'start:after']);
    expect(events.of('AGENT_SPAWNED', idOf(kernel, 'outer.before'))).toHaveLength(1);
    expect(events.of('AGENT_ESCALATED', handle.id)).toEqual([]);
    // The restarted subtree starts with a fresh window: one more crash is absorbed.
    puppets.clear();
    puppets.crash('b');
    await events.wait('AGENT_SPAWNED', b, 4);
    expect(puppets.journal).toEqual(['crash:b', 'start:b']);
    await handle.stop();
  });

  it('escalates through two levels: B escalates, A restarts B, A breaks its own intensity and ends for good', async () => {
    const puppets = new Puppets();
    const handle = await kernel.supervise({
      name: 'A',
      strategy: 'one_for_one',
      intensity: 1,
      period: 10,
      backoff: NO_BACKOFF,
      children: [
        { id: 'steady', actor: puppets.actor('steady') },
        {
          id: 'B',
          supervise: {
            name: 'B',
            intensity: 1,
            period: 10,
            backoff: NO_BACKOFF,
            children: [
              { id: 'sibling', actor: puppets.actor('sibling') },
              { id: 'crasher', actor: puppets.actor('crasher') },
            ],
          },
        },
      ],
    });
    const A = handle.id;
    const B = idOf(kernel, 'A.B');
    const members = ['A.steady', 'A.B', 'B.sibling', 'B.crasher'].map((name) => idOf(kernel, name));
    const crashTwice = async () => {
      for (let i = 0; i < 2; i++) {
        await until(() => puppets.running('crasher') && puppets.running('sibling'), 'B running');
        puppets.crash('crasher');
        if (i === 0) await until(() => puppets.running('crasher'), 'crasher restarted');
      }
    };

    // Round 1: B escalates; A (one restart allowed) restarts B.
    await crashTwice();
    await events.wait('AGENT_SPAWNED', B, 2);
    expect(events.of('AGENT_ESCALATED', B)).toHaveLength(1);
    expect(events.of('AGENT_ESCALATED', A)).toEqual([]);
    expect(alive(A)).toBe(true);

    // Round 2: B escalates again; A's second restart in its period breaks its intensity.
    puppets.clear();
    await crashTwice();
    await until(() => !alive(A), 'A ended');
    expect(events.of('AGENT_ESCALATED', B)).toHaveLength(2);
    const fromA = events.of('AGENT_ESCALATED', A);
    expect(fromA).toHaveLength(1);
    expect(fromA[0]!.data).toMatchObject({ agent_id: A, name: 'A', child_id: 'B', reason: 'crash' });
    // B stopped its sibling; then A stopped 'steady' (B was down); nothing started again.
    expect(puppets.journal).toEqual(['crash:crasher', 'start:crasher', 'crash:crasher', 'stop:sibling', 'stop:steady']);
    // A ended as a crash and is not restarted (its own parent, the agents supervisor, holds it as temporary).
    expect(events.of('AGENT_EXITED', A).map((e) => e.data.reason)).toEqual(['crash']);
    expect(events.of('AGENT_RESTARTING', A)).toEqual([]);
    for (const id of [A, ...members]) expect(alive(id), `agent ${id} left the kernel`).toBe(false);
    expect(kernel.agents().filter((agent) => agent.kind !== 'client')).toEqual([]);
    // Its name is free again.
    const again = await kernel.supervise({ name: 'A', children: [{ id: 'x', actor: puppets.actor('x') }] });
    await again.stop();
  });

  it("a kernel.spawn agent's own window (maxRestarts in restartWindow) ends it alone, escalated", async () => {
    const puppets = new Puppets();
    const bystander = await kernel.spawn(puppets.actor('bystander'), { name: 'bystander' });
    const handle = await kernel.spawn(puppets.actor('flaky'), { name: 'flaky', maxRestarts: 2, restartWindow: 10, backoff: NO_BACKOFF });
    for (let run = 1; run <= 3; run++) {
      await until(() => puppets.running('flaky'), 'flaky running');
      puppets.crash('flaky');
      if (run < 3) await events.wait('AGENT_SPAWNED', handle.id, run + 1);
    }
    await until(() => !alive(handle.id), 'flaky ended');
    expect(events.of('AGENT_RESTARTING', handle.id).map((e) => e.data.restarts)).toEqual([1, 2]);
    expect(events.of('AGENT_ESCALATED', handle.id)[0]?.data).toMatchObject({ agent_id: handle.id, name: 'flaky', reason: 'crash' });
    expect(alive(bystander.id)).toBe(true);
    expect(puppets.running('bystander')).toBe(true);
    await bystander.stop();
  });
});
