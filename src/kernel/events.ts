/**
 * The kernel's event bus: every event of protocol.md §7 is emitted here at its source.
 * Listeners (subscription queues, the WebSocket push, tests) must be quick and must not
 * throw; one that throws is logged and the others still get the event.
 */
import type { EventType, KernelEvent } from '../protocol/schemas/events.js';
import type { Logger } from './logger.js';

export type EventListener = (event: KernelEvent) => void;

export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #log: Logger;
  #nextId = 1;

  constructor(log: Logger) {
    this.#log = log.child({ component: 'events' });
  }

  emit(type: EventType, data: Record<string, unknown>, sourceAgentId: number | null = null): KernelEvent {
    const event: KernelEvent = { id: this.#nextId++, type, data, source_agent_id: sourceAgentId, timestamp: Date.now() };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log.error({ err: error, type }, 'event listener failed');
      }
    }
    return event;
  }

  /** Returns the function that removes the listener. */
  on(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
