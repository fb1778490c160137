/**
 * Kernel events that belong in the audit log, taken from the event bus where they are
 * emitted: the agent lifecycle and quota breaches. Denials, permission changes and admin
 * actions are recorded by the code that decides them (router, SET_PERMS, HELLO,
 * SET_AUDIT_CONFIG), which knows more than its event says.
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { EventBus } from '../kernel/events.js';
import type { EventType, KernelEvent } from '../protocol/schemas/events.js';
import type { AuditLog } from './log.js';

const LIFECYCLE: ReadonlySet<EventType> = new Set<EventType>([
  'AGENT_SPAWNED',
  'AGENT_EXITED',
  'AGENT_PAUSED',
  'AGENT_RESUMED',
  'AGENT_RESTARTING',
  'AGENT_ESCALATED',
]);

/** Returns the function that stops listening. */
export function auditKernelEvents(bus: EventBus, audit: AuditLog, registry: AgentRegistry): () => void {
  return bus.on((event) => {
    if (LIFECYCLE.has(event.type)) audit.record({ category: 'lifecycle', ...about(event, registry), op: event.type, detail: event.data });
    else if (event.type === 'QUOTA_EXCEEDED') {
      const { agent_id: _agent, op, ...detail } = event.data;
      audit.record({ category: 'quota', ...about(event, registry), op: typeof op === 'string' ? op : event.type, detail });
    }
  });
}

/** The agent an event is about: `data.agent_id`, else its source; its name from the event, else the registry. */
function about(event: KernelEvent, registry: AgentRegistry): { agent_id: number | null; agent_name: string | null } {
  const id = typeof event.data.agent_id === 'number' ? event.data.agent_id : event.source_agent_id;
  const named = typeof event.data.name === 'string' ? event.data.name : undefined;
  return { agent_id: id, agent_name: named ?? (id === null ? null : (registry.get(id)?.name ?? null)) };
}
