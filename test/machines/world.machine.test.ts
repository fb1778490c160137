/** The world lifecycle machine: which transitions are legal, and that each runs its provided effect once. */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { worldMachine } from '../../src/machines/world.machine.js';

function world() {
  const calls: string[] = [];
  const logic = worldMachine.provide({
    actions: {
      startWorld: () => calls.push('start'),
      pauseWorld: () => calls.push('pause'),
      resumeWorld: () => calls.push('resume'),
      stopWorld: () => calls.push('stop'),
    },
  });
  const actor = createActor(logic, { input: { worldId: 'world-1', name: 'w' } }).start();
  return { actor, calls, value: () => actor.getSnapshot().value };
}

describe('worldMachine', () => {
  it('creating → running ⇄ paused → destroyed, each effect once', () => {
    const { actor, calls, value } = world();
    expect(value()).toBe('creating');
    actor.send({ type: 'world.pause' });
    expect(value()).toBe('creating');
    actor.send({ type: 'world.start' });
    actor.send({ type: 'world.start' });
    expect(value()).toBe('running');
    actor.send({ type: 'world.pause' });
    actor.send({ type: 'world.pause' });
    expect(value()).toBe('paused');
    actor.send({ type: 'world.resume' });
    actor.send({ type: 'world.destroy' });
    expect(value()).toBe('destroyed');
    expect(actor.getSnapshot().status).toBe('done');
    actor.send({ type: 'world.start' });
    expect(calls).toEqual(['start', 'pause', 'resume', 'stop']);
    const context = actor.getSnapshot().context;
    expect(context.pauses).toBe(1);
    expect(context.startedAt).not.toBeNull();
    expect(context.endedAt).not.toBeNull();
  });

  it('a world destroyed while creating never starts', () => {
    const { actor, calls, value } = world();
    actor.send({ type: 'world.destroy' });
    expect(value()).toBe('destroyed');
    expect(calls).toEqual(['stop']);
  });
});
