/**
 * Events: SUBSCRIBE, UNSUBSCRIBE, POLL_EVENTS, EMIT, and an iterator over them. POLL_EVENTS
 * is a long poll shared by `pollEvents` and `events()` (long-poll.ts).
 */
import type { z } from 'zod';
import { Op } from '../../protocol/opcodes.js';
import {
  type EmitReply,
  type EmitRequest,
  type KernelEvent,
  MAX_EVENT_WAIT_MS,
  type PollEventsReply,
  PollEventsRequest,
  type SubscribableType,
  type SubscribeReply,
  type UnsubscribeReply,
} from '../../protocol/schemas/events.js';
import { LongPoll } from '../long-poll.js';
import type { EmitOptions, EventsOptions, PollEventsOptions, Reply, SubscribeOptions } from '../types.js';
import { type Context, DEFAULT_ITERATOR_WAIT_MS, iteratorSignal, validate } from './context.js';

/** Events one long poll of the SDK takes at most. */
const MAX_EVENT_BATCH = 100;

/** Where in the event buffer the kernel reported events lost (POLL_EVENTS' `dropped`). */
class DroppedEvents {
  constructor(readonly count: number) {}
}
type EventEntry = KernelEvent | DroppedEvents;

export function eventMethods(context: Context) {
  const { call } = context;
  /** POLL_EVENTS: events not taken yet, with markers where the kernel dropped some. */
  const events = new LongPoll<EventEntry>({
    poll: async (max, waitMs): Promise<EventEntry[]> => {
      const reply = await call<Reply<typeof PollEventsReply>>(Op.POLL_EVENTS, { max, wait_ms: waitMs });
      return reply.dropped > 0 ? [new DroppedEvents(reply.dropped), ...reply.events] : reply.events;
    },
    batch: MAX_EVENT_BATCH,
    maxWaitMs: MAX_EVENT_WAIT_MS,
  });
  const buffer = events.buffer;

  return {
    /**
     * SUBSCRIBE this agent to event types (or "*"); `filter` applies to these types,
     * replacing their earlier filter. Events queue for `pollEvents` and `events()` on every
     * transport (the SDK asks the WebSocket not to push them). Rejects with INVALID_REQUEST
     * (an unknown type; FILE_CHANGED without `filter.path`, or with other types) or
     * PERMISSION_DENIED (FILE_CHANGED without can_read).
     */
    subscribe(
      types: SubscribableType | readonly SubscribableType[],
      options: SubscribeOptions = {},
    ): Promise<Reply<typeof SubscribeReply>> {
      return call(Op.SUBSCRIBE, { event_types: types, filter: options.filter, push: false });
    },

    /**
     * UNSUBSCRIBE from these types, or from all without `types`. With none left the
     * subscription ends, its queue too, and `pollEvents` rejects with INVALID_REQUEST.
     */
    unsubscribe(types?: SubscribableType | readonly SubscribableType[]): Promise<Reply<typeof UnsubscribeReply>> {
      return call(Op.UNSUBSCRIBE, types === undefined ? { all: true } : { event_types: types });
    },

    /**
     * POLL_EVENTS: up to `max` events, waiting up to `waitMs` for the first; `dropped`
     * counts events the kernel lost since the previous poll (its queue was full). Events
     * an `events()` poll brought in and nobody took come first. Rejects with
     * INVALID_REQUEST (bad max or waitMs; no subscription: SUBSCRIBE first).
     */
    async pollEvents(options: PollEventsOptions = {}): Promise<Reply<typeof PollEventsReply>> {
      const { max, wait_ms: waitMs } = validate('POLL_EVENTS', PollEventsRequest, { max: options.max, wait_ms: options.waitMs });
      if (buffer.length === 0) {
        if (waitMs > 0) await events.until(Date.now() + waitMs, () => buffer.length > 0);
        else await events.now(max);
      }
      const taken: KernelEvent[] = [];
      let dropped = 0;
      while (buffer.length > 0 && taken.length < max) {
        const entry = buffer.shift() as EventEntry;
        if (entry instanceof DroppedEvents) dropped += entry.count;
        else taken.push(entry);
      }
      return { success: true, events: taken, count: taken.length, dropped };
    },

    /**
     * EMIT an event of this agent's own: delivered as CUSTOM, with `data.custom_type` = `type`
     * unless `type` is "CUSTOM". Not to this agent unless `includeSelf`. Rejects with
     * PERMISSION_DENIED (a kernel type such as AGENT_EXITED) or INVALID_REQUEST (a bad type
     * name, data over 64 KiB of JSON).
     */
    emit(
      type: z.output<typeof EmitRequest>['event_type'],
      data: z.output<typeof EmitRequest>['data'] = {},
      options: EmitOptions = {},
    ): Promise<Reply<typeof EmitReply>> {
      return call(Op.EMIT, { event_type: type, data, include_self: options.includeSelf ?? false });
    },

    /**
     * Every event of this agent's subscription, in order, as it arrives (POLL_EVENTS long
     * polls of `waitMs`, default 30 s, in a loop). Ends when the client closes or `signal`
     * aborts; a poll still in flight then keeps what it brings for the next `events()` or
     * `pollEvents`, so no event is lost. Events the kernel dropped are reported to
     * `onDropped` where they were lost. Rejects with INVALID_REQUEST when the agent has no
     * subscription (none yet, or UNSUBSCRIBE removed the last type). The agent has one
     * queue: two consumers of it share the events, each getting some.
     */
    async *events(options: EventsOptions = {}): AsyncGenerator<KernelEvent, void, undefined> {
      const waitMs = Math.min(options.waitMs ?? DEFAULT_ITERATOR_WAIT_MS, MAX_EVENT_WAIT_MS);
      const signal = iteratorSignal(context, options.signal);
      while (!signal.aborted) {
        const next = buffer.shift();
        if (next instanceof DroppedEvents) {
          options.onDropped?.(next.count);
          continue;
        }
        if (next) {
          yield next;
          continue;
        }
        try {
          await events.until(Date.now() + waitMs, () => buffer.length > 0, signal);
        } catch (error) {
          if (context.closing.aborted) return;
          throw error;
        }
      }
    },
  };
}
