/** The shape every runner has: XState's callback-actor body, for one kind of launch. */
import type { RunCommand, RunEvent, RunInput } from '../../machines/agent.machine.js';

export interface RunnerArgs<L> {
  input: RunInput & { launch: L };
  sendBack: (event: RunEvent) => void;
  receive: (listener: (command: RunCommand) => void) => void;
}

/** Starts the agent's work; returns the cleanup that ends it for good (the slot left `alive`). */
export type Runner<L> = (args: RunnerArgs<L>) => () => void;
