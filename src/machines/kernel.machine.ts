/**
 * The root supervisor's machine: it starts the services in order, owns one actor per
 * connection and the kernel's supervisors (agents, worlds, tasks) while running, and
 * stops the services in reverse order. Effects
 * (listening on sockets, the worker pool) are provided by src/actors.
 */
import { type ActorRefFrom, type AnyActor, assign, createActor, enqueueActions, fromPromise, setup } from 'xstate';
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

export type ConnectionRef = ActorRefFrom<typeof connectionMachine>;

export interface KernelContext {
  connectionsOpened: number;
  connectionsOpen: number;
  /**
   * One actor per connection, parented to the root but kept out of XState's `children`
   * map, which is copied on every spawn and stop: with 1,000 connections open that made
   * each connect and close cost milliseconds. Updated in place (nothing reads old snapshots).
   */
  connections: Map<string, ConnectionRef>;
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
    spawnConnection: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'connection.opened') return;
      const logic = ((self as AnyActor).logic.implementations?.actors?.connection ?? connectionMachine) as typeof connectionMachine;
      const ref = createActor(logic, {
        parent: self,
        id: event.connectionId,
        input: { agentId: event.agentId, transport: event.transport },
      });
      context.connections.set(event.connectionId, ref);
      enqueue(() => ref.start());
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
    stopConnection: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'connection.closed') return;
      const ref = context.connections.get(event.connectionId);
      if (!ref) return;
      context.connections.delete(event.connectionId);
      enqueue.stopChild(ref);
    }),
    countClosed: assign({ connectionsOpen: ({ context }) => Math.max(0, context.connectionsOpen - 1) }),
    recordError: assign({ error: ({ event }) => String((event as { error?: unknown }).error ?? 'unknown error') }),
  },
}).createMachine({
  id: 'kernel',
  context: () => ({ connectionsOpened: 0, connectionsOpen: 0, connections: new Map(), error: null }),
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
