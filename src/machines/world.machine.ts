/**
 * One world's lifecycle (worlds.md), as a pure machine: creating until its layer is made
 * and it is registered, running while its clock and chaos schedule advance, paused while
 * world time stands still, destroyed at the end. What each transition does to the world
 * (start the clock and schedule, pause, resume, stop every timer) is provided by
 * src/worlds/world.ts; the machine only decides which transitions are legal, so a pause
 * of a destroyed world or a second start is ignored rather than half-applied.
 *
 * Worlds are *temporary* children of the kernel's `worlds` supervisor in OTP's sense: a
 * world is never restarted (its state cannot be rebuilt from its definition; a snapshot
 * is how one comes back), and the kernel destroys every world when it stops.
 */
import { assign, setup } from 'xstate';

export interface WorldMachineInput {
  worldId: string;
  name: string;
}

export interface WorldMachineContext extends WorldMachineInput {
  /** Real time of the start, and of the end; null until then. */
  startedAt: number | null;
  endedAt: number | null;
  pauses: number;
}

export type WorldMachineEvent = { type: 'world.start' } | { type: 'world.pause' } | { type: 'world.resume' } | { type: 'world.destroy' };

export const worldMachine = setup({
  types: {
    context: {} as WorldMachineContext,
    input: {} as WorldMachineInput,
    events: {} as WorldMachineEvent,
  },
  actions: {
    // Provided by the World: the effects on its clock, scheduler and timers.
    startWorld: () => {},
    pauseWorld: () => {},
    resumeWorld: () => {},
    stopWorld: () => {},
    recordStart: assign({ startedAt: () => Date.now() }),
    recordPause: assign({ pauses: ({ context }) => context.pauses + 1 }),
    recordEnd: assign({ endedAt: () => Date.now() }),
  },
}).createMachine({
  id: 'world',
  context: ({ input }) => ({ ...input, startedAt: null, endedAt: null, pauses: 0 }),
  initial: 'creating',
  states: {
    creating: {
      on: {
        'world.start': { target: 'running', actions: ['recordStart', 'startWorld'] },
        'world.destroy': 'destroyed',
      },
    },
    running: {
      on: {
        'world.pause': { target: 'paused', actions: ['recordPause', 'pauseWorld'] },
        'world.destroy': 'destroyed',
      },
    },
    paused: {
      on: {
        'world.resume': { target: 'running', actions: 'resumeWorld' },
        'world.destroy': 'destroyed',
      },
    },
    destroyed: { type: 'final', entry: ['recordEnd', 'stopWorld'] },
  },
});

export type WorldLifecycle = 'creating' | 'running' | 'paused' | 'destroyed';
