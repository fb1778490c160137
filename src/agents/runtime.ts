/** What the kernel holds for a supervised agent while it lives. */
import type { ActorRefFrom, AnyActorRef } from 'xstate';
import type { agentMachine } from '../machines/agent.machine.js';
import type { OutputLog } from './output-log.js';

export interface AgentRuntime {
  /** The agent-machine actor (its slot in a supervisor). */
  slot: ActorRefFrom<typeof agentMachine>;
  /** The supervisor that holds the slot, and the child id there. */
  supervisor: AnyActorRef;
  childId: string;
  /** stdout and stderr of a process agent. */
  log: OutputLog | null;
}
