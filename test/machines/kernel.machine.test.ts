import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { connectionMachine } from '../../src/machines/connection.machine.js';
import { kernelMachine } from '../../src/machines/kernel.machine.js';

function provided(start: () => Promise<void>, stop: () => Promise<void> = async () => {}) {
  return kernelMachine.provide({ actors: { startServices: fromPromise(start), stopServices: fromPromise(stop) } });
}

describe('kernel machine', () => {
  it('starts its services, then runs, then stops them in order', async () => {
    const calls: string[] = [];
    const actor = createActor(
      provided(
        async () => {
          calls.push('start');
        },
        async () => {
          calls.push('stop');
        },
      ),
    ).start();
    await waitFor(actor, (s) => s.matches('running'));
    actor.send({ type: 'kernel.stop' });
    await waitFor(actor, (s) => s.status === 'done');
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(calls).toEqual(['start', 'stop']);
  });

  it('ends in failed with the reason when a service cannot start', async () => {
    const actor = createActor(
      provided(async () => {
        throw new Error('socket in use');
      }),
    ).start();
    const snapshot = await waitFor(actor, (s) => s.status === 'done');
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.error).toContain('socket in use');
  });

  it('owns one child actor per connection and stops it when the connection closes', async () => {
    const actor = createActor(provided(async () => {})).start();
    await waitFor(actor, (s) => s.matches('running'));
    actor.send({ type: 'connection.opened', connectionId: 'connection-1', agentId: 1, transport: 'unix' });
    actor.send({ type: 'connection.opened', connectionId: 'connection-2', agentId: 2, transport: 'websocket' });
    const connections = () => [...actor.getSnapshot().context.connections.keys()];
    expect(connections().sort()).toEqual(['connection-1', 'connection-2']);
    expect(Object.keys(actor.getSnapshot().children)).toEqual(expect.arrayContaining(['agents', 'worlds', 'tasks']));
    expect(actor.getSnapshot().context).toMatchObject({ connectionsOpened: 2, connectionsOpen: 2 });

    const child = actor.getSnapshot().context.connections.get('connection-1');
    expect((child?.getSnapshot() as { context?: unknown } | undefined)?.context).toMatchObject({ agentId: 1, transport: 'unix' });
    actor.send({ type: 'connection.closed', connectionId: 'connection-1' });
    expect(connections()).toEqual(['connection-2']);
    expect(actor.getSnapshot().context.connectionsOpen).toBe(1);
    actor.stop();
  });

  it('accepts connections that arrive while later services are still starting', async () => {
    let release: () => void = () => {};
    const actor = createActor(provided(() => new Promise<void>((resolve) => (release = resolve)))).start();
    actor.send({ type: 'connection.opened', connectionId: 'connection-1', agentId: 1, transport: 'unix' });
    expect(actor.getSnapshot().context.connections.get('connection-1')).toBeDefined();
    release();
    await waitFor(actor, (s) => s.matches('running'));
    actor.stop();
  });
});

describe('connection machine', () => {
  it('drains with the reason, then closes', () => {
    const actor = createActor(connectionMachine, { input: { agentId: 7, transport: 'unix' } }).start();
    expect(actor.getSnapshot().value).toBe('open');
    actor.send({ type: 'connection.draining', reason: 'exit' });
    expect(actor.getSnapshot().value).toBe('draining');
    expect(actor.getSnapshot().context.closeReason).toBe('exit');
    actor.send({ type: 'connection.closed' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().context.closeReason).toBe('exit');
  });

  it('records a disconnect without draining', () => {
    const actor = createActor(connectionMachine, { input: { agentId: 8, transport: 'websocket' } }).start();
    actor.send({ type: 'connection.closed' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().context.closeReason).toBe('disconnected');
  });
});
