/** SUBSCRIBE, UNSUBSCRIBE, POLL_EVENTS and EMIT: the kernel's events (protocol.md §5, §7). */
import { defineSyscall } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import {
  EmitRequest,
  EVENT_TYPES,
  type EventType,
  MAX_EMIT_DATA_BYTES,
  PollEventsRequest,
  SubscribeRequest,
  UnsubscribeRequest,
} from '../protocol/schemas/events.js';

const KERNEL_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES.filter((type) => type !== 'CUSTOM'));

export const subscribe = defineSyscall({
  name: 'SUBSCRIBE',
  request: SubscribeRequest,
  handle: (request, session, kernel) => {
    if (request.event_types.includes('FILE_CHANGED')) {
      throw new KernelError(
        'INVALID_REQUEST',
        'SUBSCRIBE: FILE_CHANGED needs file watching, which this kernel does not have yet; the other event types work',
        { field: 'event_types' },
      );
    }
    const sink = request.push && session.push ? { push: session.push, closed: session.closed } : undefined;
    const subscribed = kernel.subscriptions.subscribe(session.agent.id, request.event_types, request.filter, sink);
    return { success: true as const, subscribed, push: sink !== undefined };
  },
});

export const unsubscribe = defineSyscall({
  name: 'UNSUBSCRIBE',
  request: UnsubscribeRequest,
  handle: (request, session, kernel) => {
    const types = request.all ? 'all' : (request.event_types ?? []);
    const { unsubscribed, subscribed } = kernel.subscriptions.unsubscribe(session.agent.id, types);
    return { success: true as const, unsubscribed, subscribed };
  },
});

export const pollEvents = defineSyscall({
  name: 'POLL_EVENTS',
  request: PollEventsRequest,
  handle: async (request, session, kernel) => {
    const result = await kernel.subscriptions.poll(session.agent.id, request.max, request.wait_ms, session.closed);
    if (result === undefined) {
      throw new KernelError('INVALID_REQUEST', `POLL_EVENTS: agent ${session.agent.id} has no subscription; SUBSCRIBE first`);
    }
    return { success: true as const, ...result };
  },
});

export const emit = defineSyscall({
  name: 'EMIT',
  request: EmitRequest,
  handle: (request, session, kernel) => {
    const name = request.event_type;
    if (KERNEL_TYPES.has(name)) {
      throw new KernelError(
        'PERMISSION_DENIED',
        `EMIT denied: ${name} is emitted by the kernel only; emit CUSTOM, or a type of your own (delivered as CUSTOM with data.custom_type)`,
      );
    }
    const size = Buffer.byteLength(JSON.stringify(request.data));
    if (size > MAX_EMIT_DATA_BYTES) {
      throw new KernelError('INVALID_REQUEST', `EMIT: data is ${size} bytes of JSON; at most ${MAX_EMIT_DATA_BYTES} are allowed`, {
        field: 'data',
      });
    }
    const type: EventType = 'CUSTOM';
    const data = name === 'CUSTOM' ? request.data : { ...request.data, custom_type: name };
    const { event, deliveredTo } = kernel.subscriptions.emit(session.agent.id, type, data, request.include_self);
    return { success: true as const, delivered_to: deliveredTo, event_id: event.id, type };
  },
});
