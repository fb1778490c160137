/** A task engine on a real SQLite file in a temp dir, with fake agents, a delivery log and a manual clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyActorRef } from 'xstate';
import type { TaskAssignedMessage } from '../../src/protocol/schemas/tasks.js';
import { type TaskCaller, type TaskCancelledMessage, type TaskChange, TaskEngine } from '../../src/tasks/engine.js';
import { TaskStore } from '../../src/tasks/store.js';
import { ManualTime } from '../../src/worlds/chaos/manual-time.js';

export interface Delivery {
  to: number;
  message: TaskAssignedMessage | TaskCancelledMessage;
}

export class FakeAgents {
  readonly agents = new Map<number, { name: string | null; roles: string[]; full: boolean }>();
  readonly deliveries: Delivery[] = [];

  add(id: number, options: { name?: string; roles?: string[] } = {}): void {
    this.agents.set(id, { name: options.name ?? null, roles: options.roles ?? [], full: false });
  }

  remove(id: number): void {
    this.agents.delete(id);
  }

  withRole(role: string): number[] {
    return [...this.agents].filter(([, a]) => a.roles.includes(role)).map(([id]) => id);
  }

  find(ref: { agent_id: number } | { agent_name: string }): { agent_id: number; name: string | null } | undefined {
    for (const [id, agent] of this.agents) {
      if ('agent_id' in ref ? ref.agent_id === id : ref.agent_name === agent.name) return { agent_id: id, name: agent.name };
    }
    return undefined;
  }

  /** Assignments delivered to `agentId` (or to anyone). */
  assigned(agentId?: number): TaskAssignedMessage[] {
    return this.deliveries
      .filter((d) => (agentId === undefined || d.to === agentId) && d.message.type === 'task.assigned')
      .map((d) => d.message as TaskAssignedMessage);
  }

  cancelled(agentId?: number): TaskCancelledMessage[] {
    return this.deliveries
      .filter((d) => (agentId === undefined || d.to === agentId) && d.message.type === 'task.cancelled')
      .map((d) => d.message as TaskCancelledMessage);
  }
}

export interface Harness {
  engine: TaskEngine;
  agents: FakeAgents;
  time: ManualTime;
  changes: TaskChange[];
  dir: string;
  path: string;
  /** Close the engine and open a new one on the same file (a kernel restart). */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export function caller(agent_id: number, options: Partial<TaskCaller> = {}): TaskCaller {
  return { agent_id, name: null, lineage: [agent_id], admin: false, ...options };
}

export const ADMIN: TaskCaller = { agent_id: 1, name: 'admin', lineage: [1], admin: true };

export interface HarnessOptions {
  agents?: FakeAgents;
  time?: ManualTime;
  supervisor?: () => AnyActorRef | undefined;
  maxLiveTasks?: number;
}

export function harness(options: HarnessOptions = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'agentos-tasks-'));
  const path = join(dir, 'tasks.db');
  const agents = options.agents ?? new FakeAgents();
  const time = options.time ?? new ManualTime(1_000_000);
  const changes: TaskChange[] = [];
  const open = () =>
    TaskEngine.open({
      store: TaskStore.open(path),
      time,
      random: () => 0,
      deliver: (to, message) => {
        const agent = agents.agents.get(to);
        if (!agent || agent.full) return false;
        agents.deliveries.push({ to, message });
        return true;
      },
      agentsWithRole: (role) => agents.withRole(role),
      findAgent: (ref) => agents.find(ref),
      changed: (_task, change) => changes.push(change),
      ...(options.supervisor ? { supervisor: options.supervisor } : {}),
      ...(options.maxLiveTasks ? { maxLiveTasks: options.maxLiveTasks } : {}),
    });
  const h: Harness = {
    engine: open(),
    agents,
    time,
    changes,
    dir,
    path,
    async restart() {
      await h.engine.close();
      h.engine = open();
    },
    async cleanup() {
      await h.engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Let the group commit (setImmediate) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
