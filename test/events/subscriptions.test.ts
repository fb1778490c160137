/** EventSubscriptions on its own: routing by type and filter, the queue bound, removal with the agent. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/agents/registry.js';
import { EventSubscriptions } from '../../src/events/subscriptions.js';
import { EventBus } from '../../src/kernel/events.js';

function setup(queueSize = 1000) {
  const bus = new EventBus(pino({ level: 'silent' }));
  const registry = new AgentRegistry();
  const subscriptions = new EventSubscriptions({ bus, registry, queueSize });
  const agent = () => registry.create({ kind: 'client', level: 'standard', cwd: '/' }).id;
  const never = new AbortController().signal;
  return { bus, registry, subscriptions, agent, never };
}

describe('EventSubscriptions', () => {
  it('an explicit type is judged by its own filter, not by a "*" of the same agent; each event is delivered once', async () => {
    const { bus, subscriptions, agent, never } = setup();
    const id = agent();
    subscriptions.subscribe(id, ['*'], undefined);
    subscriptions.subscribe(id, ['AGENT_EXITED'], { source_agent_id: 9 });
    bus.emit('AGENT_EXITED', { agent_id: 8 }, 8);
    bus.emit('AGENT_EXITED', { agent_id: 9 }, 9);
    bus.emit('CUSTOM', {}, null);
    const got = await subscriptions.poll(id, 100, 0, never);
    expect(got?.events.map((e) => [e.type, e.source_agent_id])).toEqual([
      ['AGENT_EXITED', 9],
      ['CUSTOM', null],
    ]);
  });

  it('a later SUBSCRIBE of a type replaces its filter', async () => {
    const { bus, subscriptions, agent, never } = setup();
    const id = agent();
    subscriptions.subscribe(id, ['CUSTOM'], { source_agent_id: 1 });
    subscriptions.subscribe(id, ['CUSTOM'], undefined);
    bus.emit('CUSTOM', {}, 2);
    expect((await subscriptions.poll(id, 100, 0, never))?.count).toBe(1);
  });

  it('the queue stays bounded over many evictions and keeps order', async () => {
    const { bus, subscriptions, agent, never } = setup(10);
    const id = agent();
    subscriptions.subscribe(id, ['CUSTOM'], undefined);
    for (let n = 0; n < 5_000; n++) bus.emit('CUSTOM', { n }, null);
    expect(subscriptions.get(id)?.pending).toBe(10);
    const got = await subscriptions.poll(id, 3, 0, never);
    expect(got?.dropped).toBe(4_990);
    expect(got?.events.map((e) => e.data.n)).toEqual([4_990, 4_991, 4_992]);
    expect((await subscriptions.poll(id, 100, 0, never))?.events.map((e) => e.data.n)).toEqual([
      4_993, 4_994, 4_995, 4_996, 4_997, 4_998, 4_999,
    ]);
    expect(subscriptions.get(id)?.droppedTotal).toBe(4_990);
  });

  it('a subscription ends when its agent leaves the registry (a supervised agent ending for good); a waiting poll returns', async () => {
    const { registry, subscriptions, agent, never } = setup();
    const id = agent();
    subscriptions.subscribe(id, ['CUSTOM', 'AGENT_SPAWNED'], undefined);
    const pending = subscriptions.poll(id, 100, 30_000, never);
    registry.remove(id);
    expect(await pending).toEqual({ events: [], count: 0, dropped: 0 });
    expect(subscriptions.size).toBe(0);
    expect(subscriptions.indexed).toBe(0);
  });

  it('routes an event only through its own type: 10 000 subscribers of another type are not visited', () => {
    const { subscriptions, agent } = setup();
    for (let i = 0; i < 10_000; i++) subscriptions.subscribe(agent(), ['TASK_UPDATED'], undefined);
    const listener = agent();
    subscriptions.subscribe(listener, ['CUSTOM'], undefined);
    const { deliveredTo } = subscriptions.emit(0, 'CUSTOM', {}, false);
    expect(deliveredTo).toBe(1);
    expect(subscriptions.indexed).toBe(10_001);
  });
});
