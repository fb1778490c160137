/**
 * The root supervisor brought to life: the kernel machine with its service effects
 * provided. Connection actors are its children, visible to inspection.
 */
import { type ActorRefFrom, createActor, fromPromise, type InspectionEvent } from 'xstate';
import type { Logger } from '../kernel/logger.js';
import { kernelMachine } from '../machines/kernel.machine.js';
import type { ProvidedSupervisorMachine } from './supervision-runtime.js';

export interface RootServices {
  /** Start the services in order; on failure, stop what was started and throw. */
  start(): Promise<void>;
  /** Stop the services in reverse order. */
  stop(): Promise<void>;
}

export type RootSupervisor = ActorRefFrom<typeof kernelMachine>;

export function createRootSupervisor(
  services: RootServices,
  supervisor: ProvidedSupervisorMachine,
  log: Logger,
  inspect?: (event: InspectionEvent) => void,
): RootSupervisor {
  const machine = kernelMachine.provide({
    actors: {
      startServices: fromPromise(() => services.start()),
      stopServices: fromPromise(() => services.stop()),
      supervisor,
    },
  });
  const actor = createActor(machine, inspect ? { inspect } : {});
  actor.subscribe({
    error: (error) => log.error({ err: error }, 'root supervisor failed'),
  });
  return actor;
}
