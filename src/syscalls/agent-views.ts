/** How agents look from outside: LIST rows and the TREE of supervisors. */
import type { AnyActorRef } from 'xstate';
import type { AgentRecord } from '../agents/registry.js';
import type { KernelServices } from '../kernel/syscall.js';
import type { AgentSlotContext } from '../machines/agent.machine.js';
import type { SupervisorContext } from '../machines/supervisor.machine.js';
import type { AgentInfo, TreeNode } from '../protocol/schemas/agents.js';

/** `{alive: 'running'}` → `running`; `exited` → `exited`. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [inner] = Object.values(value as Record<string, unknown>);
    return stateName(inner);
  }
  return 'unknown';
}

function slotView(record: AgentRecord): { state: string; pid: number | null; restarts: number; uptimeMs: number } {
  const slot = record.runtime?.slot;
  if (!slot)
    return {
      state: record.kind === 'client' || record.kind === 'remote' ? 'connected' : 'starting',
      pid: null,
      restarts: 0,
      uptimeMs: Date.now() - record.createdAt,
    };
  const snapshot = slot.getSnapshot();
  const context = snapshot.context as AgentSlotContext;
  const alive = snapshot.matches('alive');
  return {
    state: stateName(snapshot.value),
    pid: context.pid,
    restarts: context.restarts,
    uptimeMs: alive && context.startedAt !== null ? Date.now() - context.startedAt : 0,
  };
}

export function agentInfo(record: AgentRecord): AgentInfo {
  const view = slotView(record);
  return {
    id: record.id,
    name: record.name,
    kind: record.kind,
    pid: view.pid,
    state: view.state,
    parent_id: record.parentId,
    restarts: view.restarts,
    uptime_ms: view.uptimeMs,
    level: record.level,
  };
}

function supervisorNode(actor: string, ref: AnyActorRef, kernel: KernelServices, record: AgentRecord | null): TreeNode {
  const snapshot = ref.getSnapshot();
  const context = snapshot.context as SupervisorContext;
  const view = record
    ? slotView(record)
    : { state: stateName(snapshot.value), pid: null, restarts: 0, uptimeMs: Date.now() - kernel.startedAt };
  return {
    actor,
    kind: 'supervisor',
    agent_id: record?.id ?? null,
    name: record?.name ?? context.name,
    state: record ? view.state : stateName(snapshot.value),
    restarts: view.restarts,
    uptime_ms: view.uptimeMs,
    pid: null,
    strategy: context.flags.strategy,
    children: context.children.map((child) => childNode(child.childId, child.agentId, kernel)),
  };
}

function childNode(childId: string, agentId: number, kernel: KernelServices): TreeNode {
  const record = kernel.agents.get(agentId) ?? null;
  const subtree = kernel.supervision.subtree(agentId);
  if (subtree && record) return supervisorNode(childId, subtree, kernel, record);
  const view = record ? slotView(record) : { state: 'ended', pid: null, restarts: 0, uptimeMs: 0 };
  return {
    actor: childId,
    kind: record?.kind ?? 'unknown',
    agent_id: agentId,
    name: record?.name ?? null,
    state: view.state,
    restarts: view.restarts,
    uptime_ms: view.uptimeMs,
    pid: view.pid,
  };
}

/** The services the root starts before any supervisor (and stops after them): the doors and the worker pool. */
function systemNode(kernel: KernelServices): TreeNode {
  const uptime = Date.now() - kernel.startedAt;
  const service = (actor: string, name: string): TreeNode => ({
    actor,
    kind: 'service',
    agent_id: null,
    name,
    state: 'running',
    restarts: 0,
    uptime_ms: uptime,
    pid: null,
  });
  const services = [service('unix', kernel.options.socketPath)];
  if (kernel.options.httpPort !== null) services.push(service('websocket', 'http'));
  services.push(service('workers', `${kernel.pool.stats.threads} threads`));
  return { ...service('system', 'system services'), kind: 'services', children: services };
}

/** root → system services, then the top-level supervisors (agents, worlds, tasks) → their children, recursively. */
export function buildTree(kernel: KernelServices): TreeNode {
  const tops = kernel.topSupervisors();
  return {
    actor: 'kernel',
    kind: 'kernel',
    agent_id: null,
    name: 'kernel',
    state: 'running',
    restarts: 0,
    uptime_ms: Date.now() - kernel.startedAt,
    pid: process.pid,
    children: [systemNode(kernel), ...tops.map(([name, ref]) => supervisorNode(name, ref, kernel, null))],
  };
}
