/**
 * The root supervisor's machine: it starts the services in order, owns one child
 * actor per connection while running, and stops the services in reverse order. Effects
 * (listening on sockets, the worker pool) are provided by src/actors.
 */
import { assign, enqueueActions, fromPromise, setup, spawnChild, stopChild } from 'xstate';
import type { TransportKind } from '../kernel/session.js';
import { SupervisorFlags } from '../supervision/spec.js';
import { connectionMachine } from './connection.machine.js';
import { supervisorMachine } from './supervisor.machine.js';

/**
 * The kernel's own supervisors. Their children (agents, worlds, tasks) are independent and
 * each carries its own restart window, so one child's failures never count against another;
 * the supervisors' own intensity is only a backstop.
 */
const TOP_FLAGS = SupervisorFlags.parse({ strategy: 'simple_one_for_one', intensity: 1000, period: 1 });
export const TOP_SUPERVISORS = ['agents', 'worlds', 'tasks'] as const;

export interface KernelContext {
  connectionsOpened: number;
  connectionsOpen: number;
  error: string | null;
}

export type KernelEvent =
  | { type: 'connection.opened'; connectionId: string; agentId: number; transport: TransportKind }
  | { type: 'connection.closed'; connectionId: string }
  | { type: 'kernel.stop' };

const notProvided = (name: string) =>
  fromPromise<void>(() => {
    throw new Error(`kernel machine: actor "${name}" was not provided`);
  });

export const kernelMachine = setup({
  types: { context: {} as KernelContext, events: {} as KernelEvent },
  actors: {
    startServices: notProvided('startServices'),
    stopServices: notProvided('stopServices'),
    connection: connectionMachine,
    supervisor: supervisorMachine,
  },
  actions: {
    spawnConnection: spawnChild('connection', {
      id: ({ event }) => (event as Extract<KernelEvent, { type: 'connection.opened' }>).connectionId,
      input: ({ event }) => {
        const opened = event as Extract<KernelEvent, { type: 'connection.opened' }>;
        return { agentId: opened.agentId, transport: opened.transport };
      },
    }),
    spawnTopSupervisors: enqueueActions(({ enqueue }) => {
      for (const name of TOP_SUPERVISORS) {
        enqueue.spawnChild('supervisor', { id: name, input: { name, agentId: 0, flags: TOP_FLAGS, children: [] } });
      }
    }),
    countOpened: assign({
      connectionsOpened: ({ context }) => context.connectionsOpened + 1,
      connectionsOpen: ({ context }) => context.connectionsOpen + 1,
    }),
    stopConnection: stopChild(({ event }) => (event as Extract<KernelEvent, { type: 'connection.closed' }>).connectionId),
    countClosed: assign({ connectionsOpen: ({ context }) => Math.max(0, context.connectionsOpen - 1) }),
    recordError: assign({ error: ({ event }) => String((event as { error?: unknown }).error ?? 'unknown error') }),
  },
}).createMachine({
  id: 'kernel',
  context: { connectionsOpened: 0, connectionsOpen: 0, error: null },
  initial: 'starting',
  on: {
    // Connections can arrive while later services are still starting.
    'connection.opened': { actions: ['spawnConnection', 'countOpened'] },
    'connection.closed': { actions: ['stopConnection', 'countClosed'] },
  },
  states: {
    starting: {
      invoke: { src: 'startServices', onDone: 'running', onError: { target: 'failed', actions: 'recordError' } },
    },
    running: {
      entry: 'spawnTopSupervisors',
      on: { 'kernel.stop': 'stopping' },
    },
    stopping: {
      on: { 'connection.opened': {} },
      invoke: { src: 'stopServices', onDone: 'stopped', onError: { target: 'stopped', actions: 'recordError' } },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
