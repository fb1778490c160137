/**
 * Every event type of protocol.md §7 that has a source in this kernel is emitted there,
 * seen by one ordinary subscriber ("*" plus FILE_CHANGED) that only calls syscalls.
 * The types whose source comes with a later part of the kernel (worlds, the tunnel)
 * are listed; the test fails when a type is neither produced nor listed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, type EventType, type KernelEvent } from '../../src/protocol/schemas/events.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { adminToken, failure, script } from '../agents/support.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

/** Types with no source yet (none now: the relay tunnel was the last). */
const NOT_YET_SOURCED: readonly EventType[] = [];
const MAILBOX = 5;

let kernel: TestKernel;
let dir: string;
const clients: AgentOSClient[] = [];

async function client(): Promise<AgentOSClient> {
  const c = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: null });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  kernel = await startTestKernel({ defaultLevel: 'unrestricted', mailboxSize: MAILBOX });
  dir = await mkdtemp(join(tmpdir(), 'agentos-every-event-'));
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await kernel?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('§7 events at their sources', () => {
  it('one subscriber sees every type that has a source, each from the syscalls that cause it', async () => {
    const subscriber = await client();
    await subscriber.call('SUBSCRIBE', { event_types: ['*'] });
    const watched = join(dir, 'watched');
    await mkdir(watched);
    await subscriber.call('SUBSCRIBE', { event_types: ['FILE_CHANGED'], filter: { path: `${watched}/**` } });
    const seen: KernelEvent[] = [];
    const waitFor = async (type: EventType, match: (e: KernelEvent) => boolean = () => true): Promise<KernelEvent> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const found = seen.find((e) => e.type === type && match(e));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${type} event; saw ${[...new Set(seen.map((e) => e.type))].join(', ')}`);
        const got = (await subscriber.call('POLL_EVENTS', { max: 1000, wait_ms: 500 })) as { events: KernelEvent[]; dropped: number };
        expect(got.dropped).toBe(0);
        seen.push(...got.events);
      }
    };

    // Lifecycle: a crash loop spawns, exits, restarts and finally escalates.
    const crash = script(dir, 'crash.sh', '#!/bin/sh\nexit 7\n', true);
    const looping = (await subscriber.call('SPAWN', {
      name: 'crashloop',
      script: crash,
      restart_policy: 'on-failure',
      max_restarts: 1,
      restart_window: 60,
    })) as { agent_id: number };
    const ofLoop = (e: KernelEvent) => e.data.agent_id === looping.agent_id;
    await waitFor('AGENT_SPAWNED', ofLoop);
    expect((await waitFor('AGENT_EXITED', ofLoop)).data).toMatchObject({ exit_code: 7, reason: 'crash' });
    await waitFor('AGENT_RESTARTING', ofLoop);
    expect((await waitFor('AGENT_ESCALATED', ofLoop)).data).toMatchObject({ name: 'crashloop', reason: 'crash' });

    // Pause and resume a sleeper.
    const sleeper = script(dir, 'sleeper.sh', '#!/bin/sh\nexec sleep 60\n', true);
    const sleeping = (await subscriber.call('SPAWN', { name: 'sleeper', script: sleeper })) as { agent_id: number };
    const ofSleeper = (e: KernelEvent) => e.data.agent_id === sleeping.agent_id;
    await waitFor('AGENT_SPAWNED', ofSleeper);
    await subscriber.call('PAUSE', { id: sleeping.agent_id });
    await waitFor('AGENT_PAUSED', ofSleeper);
    await subscriber.call('RESUME', { id: sleeping.agent_id });
    await waitFor('AGENT_RESUMED', ofSleeper);
    await subscriber.call('KILL', { id: sleeping.agent_id, grace_ms: 1000 });
    await waitFor('AGENT_EXITED', ofSleeper);

    // A file written through WRITE, inside the watched glob.
    const file = join(watched, 'notes.txt');
    await subscriber.call('WRITE', { path: file, content: 'hello' });
    expect((await waitFor('FILE_CHANGED', (e) => e.data.path === file)).data).toMatchObject({ change: 'create' });

    // A message, a state change, a custom event from another agent.
    const peer = await client();
    await peer.send(subscriber.agentId as number, { hi: true });
    expect((await waitFor('MESSAGE_RECEIVED')).data).toMatchObject({ from: peer.agentId, to: subscriber.agentId });
    await peer.call('STORE', { key: 'every-event', value: 1, scope: 'global' });
    expect((await waitFor('STATE_CHANGED')).data).toMatchObject({ op: 'store', key: 'every-event', scope: 'global' });
    await peer.call('EMIT', { event_type: 'deploy.done', data: { ok: true } });
    expect((await waitFor('CUSTOM')).data).toMatchObject({ custom_type: 'deploy.done', ok: true });
    // A task created on the kernel's coordination board.
    const task = (await peer.call('TASK_CREATE', { description: 'every event' })) as { task_id: string };
    expect((await waitFor('TASK_UPDATED', (e) => e.data.task_id === task.task_id)).data).toMatchObject({ kind: 'created' });
    // A chaos event injected into a world.
    const world = (await peer.call('WORLD_CREATE', { config: { name: 'every-event' } })) as { world_id: string };
    await peer.call('WORLD_EVENT', { world_id: world.world_id, type: 'latency_spike', params: { value: 5 } });
    expect((await waitFor('WORLD_EVENT', (e) => e.data.world_id === world.world_id)).data).toMatchObject({
      kind: 'fired',
      type: 'latency_spike',
    });

    // The tunnel's state, changed by an admin: no relay listens on port 1, so it connects and backs off.
    const admin = await AgentOSClient.connect({ socketPath: kernel.socketPath, token: adminToken(kernel) });
    clients.push(admin);
    await failure(admin.call('TUNNEL_CONNECT', { relay_url: 'ws://127.0.0.1:1', machine_id: 'every-event', token: 't' }), 'UNAVAILABLE');
    expect((await waitFor('TUNNEL_STATE', (e) => e.data.state === 'connecting')).data).toMatchObject({ machine_id: 'every-event' });
    await admin.call('TUNNEL_DISCONNECT', {});

    // A denial.
    const minimal = await AgentOSClient.connect({ connection: kernel.connect({ level: 'minimal' }) });
    clients.push(minimal);
    await failure(minimal.call('EXEC', { command: 'true' }), 'PERMISSION_DENIED');
    expect((await waitFor('SYSCALL_BLOCKED')).data).toMatchObject({ agent_id: minimal.agentId, op: 'EXEC' });

    // The peer's mailbox fills: a warning at 80 %, then the limit refuses a SEND.
    const target = peer.agentId as number;
    for (let n = 0; n < MAILBOX; n++) await subscriber.send(target, { n });
    await failure(subscriber.send(target, { n: 'one too many' }), 'QUOTA_EXCEEDED');
    expect((await waitFor('RESOURCE_WARNING')).data).toMatchObject({ agent_id: target, resource: 'mailbox' });
    expect((await waitFor('QUOTA_EXCEEDED')).data).toMatchObject({ agent_id: subscriber.agentId, op: 'SEND' });

    const produced = new Set(seen.map((e) => e.type));
    const expected = EVENT_TYPES.filter((type) => !NOT_YET_SOURCED.includes(type));
    expect([...produced].sort()).toEqual([...expected].sort());
  });
});
