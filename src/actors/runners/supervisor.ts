/**
 * A nested supervisor as a child: its subtree runs while the slot is alive. It ending
 * `escalated` is a crash (its parent applies its own strategy); a stop asks it to shut
 * its children down in order; SIGKILL stops it at once.
 */
import type { AnyActorRef } from 'xstate';
import type { SupervisorLaunch } from '../../agents/launch.js';
import { hardStop, type SupervisorOutput } from '../../machines/supervisor.machine.js';
import type { Runner } from './runner.js';

export interface SupervisorRunnerDeps {
  /** Create and start the subtree's supervisor actor, watched by the kernel. */
  startSupervisor(agentId: number, launch: SupervisorLaunch): AnyActorRef;
}

export function supervisorRunner(deps: SupervisorRunnerDeps): Runner<SupervisorLaunch> {
  return ({ input, sendBack, receive }) => {
    let ended = false;
    const supervisor = deps.startSupervisor(input.agentId, input.launch);
    const finish = (exitCode: number | null, signal: string | null, error?: string) => {
      if (ended) return;
      ended = true;
      sendBack({ type: 'run.exited', exitCode, signal, ...(error !== undefined && { error }) });
    };
    supervisor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'done') return;
        const output = snapshot.output as SupervisorOutput | undefined;
        if (output?.escalated) finish(1, null, 'restart intensity exceeded: the supervisor escalated');
        else finish(0, null);
      },
      error: (error) => finish(1, null, error instanceof Error ? error.message : String(error)),
    });
    receive((command) => {
      if (command.signal === 'SIGKILL') {
        hardStop(supervisor);
        finish(null, 'SIGKILL');
      } else if (command.signal === 'SIGTERM' || command.signal === 'SIGINT') {
        supervisor.send({ type: 'supervisor.stop' });
      }
    });
    // Not from inside the callback's own start: the slot is still entering `alive` then.
    queueMicrotask(() => {
      if (!ended) sendBack({ type: 'run.started', pid: null });
    });
    return () => {
      ended = true;
      hardStop(supervisor);
    };
  };
}
