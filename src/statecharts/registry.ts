/**
 * Every state machine of the kernel that `agentos statecharts` exports. One list, so a new
 * machine is added here and nowhere else.
 */
import type { AnyStateMachine } from 'xstate';
import { agentMachine } from '../machines/agent.machine.js';
import { connectionMachine } from '../machines/connection.machine.js';
import { kernelMachine } from '../machines/kernel.machine.js';
import { subtaskMachine } from '../machines/subtask.machine.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import { taskMachine } from '../machines/task.machine.js';
import { tunnelMachine } from '../machines/tunnel.machine.js';
import { worldMachine } from '../machines/world.machine.js';

export interface ExportedMachine {
  /** The file name and the CLI's name for it: lowercase, no spaces. */
  name: string;
  /** One line for `statecharts list` and the export's header. */
  description: string;
  machine: AnyStateMachine;
}

export const STATECHARTS: readonly ExportedMachine[] = [
  {
    name: 'kernel',
    description: 'the root supervisor: starts the services, owns the child actors while running, stops in reverse order',
    machine: kernelMachine,
  },
  {
    name: 'connection',
    description: 'one client connection: open, draining until the last reply is out, closed',
    machine: connectionMachine,
  },
  {
    name: 'agent',
    description: 'one supervised child: starting, running, paused, stopping, exited, then restarting or terminated',
    machine: agentMachine,
  },
  {
    name: 'supervisor',
    description: 'an OTP supervisor: restarts children by strategy and intensity, or stops them all and escalates',
    machine: supervisorMachine,
  },
  {
    name: 'world',
    description: 'one world: creating, running while its clock and chaos advance, paused, destroyed (never restarted)',
    machine: worldMachine,
  },
  {
    name: 'task',
    description: 'one task: pending, running once a subtask is delivered, then completed, failed or cancelled',
    machine: taskMachine,
  },
  {
    name: 'subtask',
    description: 'one subtask: pending, assigned, running, then completed, failed or cancelled; retries go back to assigned or pending',
    machine: subtaskMachine,
  },
  {
    name: 'tunnel',
    description: 'the outbound tunnel to a relay: connecting, authenticating, connected, backing off between retries, stopped',
    machine: tunnelMachine,
  },
];
