/** Event types of protocol.md §7 and the shape every event has. */
import { z } from 'zod';

export const EVENT_TYPES = [
  'AGENT_SPAWNED',
  'AGENT_EXITED',
  'AGENT_PAUSED',
  'AGENT_RESUMED',
  'AGENT_RESTARTING',
  'AGENT_ESCALATED',
  'FILE_CHANGED',
  'MESSAGE_RECEIVED',
  'STATE_CHANGED',
  'SYSCALL_BLOCKED',
  'RESOURCE_WARNING',
  'QUOTA_EXCEEDED',
  'TASK_UPDATED',
  'WORLD_EVENT',
  'TUNNEL_STATE',
  'CUSTOM',
] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

export const KernelEvent = z.object({
  id: z.number().int(),
  type: EventType,
  data: z.record(z.string(), z.unknown()),
  source_agent_id: z.number().int().nullable(),
  timestamp: z.number(),
});
export type KernelEvent = z.infer<typeof KernelEvent>;
