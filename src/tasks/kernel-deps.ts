/**
 * What the task engine needs from the kernel, built from the kernel's parts: deliveries
 * into mailboxes from the kernel itself (agent 0), the live agents of a role, agent
 * lookup, TASK_UPDATED on the event bus, and the `tasks` supervisor. The engine knows
 * none of these parts; this is the only place that joins them.
 */
import type { AnyActorRef } from 'xstate';
import { lineageOf } from '../agents/lineage.js';
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import { canReceive, KERNEL_SENDER, type Mailboxes } from '../ipc/mailboxes.js';
import type { EventBus } from '../kernel/events.js';
import type { Logger } from '../kernel/logger.js';
import { KernelError } from '../protocol/errors.js';
import type { TaskView } from '../protocol/schemas/tasks.js';
import type { TaskCaller, TaskChange, TaskEngine, TaskEngineDeps } from './engine.js';
import type { RoleRegistry } from './roles.js';
import type { TaskStore } from './store.js';

export interface TaskKernelParts {
  store: TaskStore;
  registry: AgentRegistry;
  mailboxes: Mailboxes;
  roles: RoleRegistry;
  events: EventBus;
  log: Logger;
  /** The kernel's `tasks` supervisor, once the root supervisor runs. */
  supervisor: () => AnyActorRef | undefined;
}

export function taskEngineDeps(parts: TaskKernelParts): TaskEngineDeps {
  const { registry, mailboxes, roles, events, log } = parts;
  return {
    store: parts.store,
    deliver(agentId, message) {
      const to = registry.get(agentId);
      if (!to || !canReceive(to.kind)) return false;
      try {
        mailboxes.deliver(KERNEL_SENDER, to, message);
        return true;
      } catch (error) {
        // A full mailbox or an agent that just ended: the attempt fails and its retry policy decides.
        if (error instanceof KernelError) {
          log.debug({ agent_id: agentId, task_id: message.task_id, code: error.code }, 'task message not delivered');
          return false;
        }
        throw error;
      }
    },
    agentsWithRole: (role) => roles.agentsWith(role),
    findAgent(ref) {
      const record = 'agent_id' in ref ? registry.get(ref.agent_id) : registry.byName(ref.agent_name);
      // Only agents with a mailbox can take a subtask: a supervisor cannot RECV its message.
      if (!record || !canReceive(record.kind)) return undefined;
      return { agent_id: record.id, name: record.name };
    },
    changed(task: TaskView, change: TaskChange) {
      // The change's own version and statuses: the view may already include later changes of the same commit.
      events.emit(
        'TASK_UPDATED',
        {
          task_id: task.task_id,
          status: change.status,
          ...(change.subtask_id === undefined ? {} : { subtask_id: change.subtask_id }),
          ...(change.subtask_status === undefined ? {} : { subtask_status: change.subtask_status }),
          kind: change.kind,
          version: change.version,
        },
        change.agent_id ?? null,
      );
    },
    supervisor: parts.supervisor,
  };
}

/** The engine's view of a caller: its id, name, lineage (itself and its spawners) and admin flag. */
export function taskCaller(agent: AgentRecord, registry: Pick<AgentRegistry, 'get'>): TaskCaller {
  return { agent_id: agent.id, name: agent.name, lineage: lineageOf(agent, registry), admin: agent.admin };
}

/**
 * Agents leaving, as the engine must hear of it: a process that exits (AGENT_EXITED, even
 * one its supervisor restarts: the message it took went with the old process) fails its
 * running subtasks; an agent that ends for good also loses its roles. Returns the unwatch,
 * called before the engine closes so a shutdown's exits are not recorded as failures (the
 * next start fails those attempts as "the kernel restarted" instead).
 */
export function watchTaskAgents(
  parts: Pick<TaskKernelParts, 'events' | 'registry' | 'roles' | 'log'>,
  engine: Pick<TaskEngine, 'agentExited'>,
): () => void {
  const { events, registry, roles, log } = parts;
  const exited = (agentId: number) => {
    try {
      engine.agentExited(agentId);
    } catch (error) {
      log.error({ err: error, agent_id: agentId }, "tasks: an exited agent's subtasks were not failed");
    }
  };
  const offEvents = events.on((event) => {
    if (event.type === 'AGENT_EXITED' && typeof event.data.agent_id === 'number') exited(event.data.agent_id);
  });
  const offRemove = registry.onRemove((record) => {
    roles.drop(record.id);
    exited(record.id);
  });
  return () => {
    offEvents();
    offRemove();
  };
}
