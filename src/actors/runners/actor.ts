/**
 * An agent defined in code: XState logic run inside the kernel. Its actor ending by
 * itself is a normal exit; an error is a crash; a stop signal stops it (a shutdown).
 */
import { type AnyActorRef, createActor } from 'xstate';
import type { ActorLaunch } from '../../agents/launch.js';
import type { Runner } from './runner.js';

export interface ActorRunnerDeps {
  /** What the agent's logic gets beside the launch input: its id and a syscall client. */
  agentInput(agentId: number, extra: unknown): Record<string, unknown>;
  /** Root actors are handed to the inspection hub. */
  track?: ((actor: AnyActorRef) => void) | undefined;
  /** The live actor of an agent, for messages and inspection. */
  onActor?(agentId: number, actor: AnyActorRef | null): void;
}

export function actorRunner(deps: ActorRunnerDeps): Runner<ActorLaunch> {
  return ({ input, sendBack, receive }) => {
    const { logic, input: launchInput } = input.launch;
    let ended = false;
    const actor = createActor(logic, {
      input: deps.agentInput(input.agentId, launchInput),
    });
    deps.track?.(actor);
    const finish = (exitCode: number | null, signal: string | null, error?: string) => {
      if (ended) return;
      ended = true;
      deps.onActor?.(input.agentId, null);
      sendBack({ type: 'run.exited', exitCode, signal, ...(error !== undefined && { error }) });
    };
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status === 'done') finish(0, null);
      },
      error: (error) => finish(1, null, error instanceof Error ? error.message : String(error)),
      complete: () => finish(0, null),
    });
    receive((command) => {
      if (command.signal === 'SIGTERM' || command.signal === 'SIGKILL' || command.signal === 'SIGINT') {
        // An actor has no process to signal: stopping it is its shutdown (reported before
        // the stop, whose completion would otherwise read as a normal end).
        finish(null, command.signal);
        actor.stop();
      }
    });
    deps.onActor?.(input.agentId, actor);
    actor.start();
    // Not from inside the callback's own start: the slot is still entering `alive` then.
    queueMicrotask(() => {
      if (!ended) sendBack({ type: 'run.started', pid: null });
    });
    return () => {
      if (!ended) {
        ended = true;
        deps.onActor?.(input.agentId, null);
        actor.stop();
      }
    };
  };
}
