/** SUBSCRIBE, UNSUBSCRIBE, POLL_EVENTS and EMIT: the kernel's events (protocol.md §5, §7). */
import { isAbsolute, posix, resolve } from 'node:path';
import { compileGlob, staticPrefix } from '../events/glob.js';
import { denialReason } from '../kernel/permissions.js';
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
import { checkPath } from '../security/paths.js';
import { authorizeAgentPath, pathContextOf } from '../security/paths-authorize.js';

const KERNEL_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES.filter((type) => type !== 'CUSTOM'));

export const subscribe = defineSyscall({
  name: 'SUBSCRIBE',
  request: SubscribeRequest,
  handle: async (request, session, kernel) => {
    const sink = request.push && session.push ? { push: session.push, closed: session.closed } : undefined;
    const glob = fileGlob(request.event_types, request.filter?.path, session.agent.cwd);
    if (glob === undefined) {
      const subscribed = kernel.subscriptions.subscribe(session.agent.id, request.event_types, request.filter, sink);
      return { success: true as const, subscribed, push: sink !== undefined };
    }
    const reason = denialReason(session.agent, 'read');
    if (reason !== undefined) {
      throw new KernelError(
        'PERMISSION_DENIED',
        `SUBSCRIBE FILE_CHANGED denied: agent ${session.agent.id} at level "${session.agent.level}" ${reason}`,
      );
    }
    const { agent } = session;
    // The watched directory must be readable. It is watched by its real path, so the glob
    // is rewritten onto it and every event names a real directory.
    const prefix = staticPrefix(glob);
    const { real: realPrefix } = await authorizeAgentPath(kernel, agent, prefix, 'read', {
      op: 'SUBSCRIBE FILE_CHANGED',
      cancel: session.closed,
    });
    const realGlob = posix.join(realPrefix, glob.slice(prefix.length));
    const context = await pathContextOf(agent, kernel);
    const release = await kernel.subscriptions.files.acquire(realPrefix);
    // The agent may have ended while the watcher started: nothing must outlive it.
    if (kernel.agents.get(agent.id) !== agent) {
      release();
      throw new KernelError('UNAVAILABLE', `SUBSCRIBE: agent ${agent.id} ended before its FILE_CHANGED watch began`);
    }
    const filter = { ...request.filter, path: realGlob };
    // Each event is checked against the agent's rules of the moment (SET_PERMS may narrow them):
    // pure pattern matching on the event's path, compiled once per permissions object.
    const readable = (path: string) => checkPath(agent.permissions, path, 'read', context) === undefined;
    const watch = { glob: compileGlob(realGlob), readable, release };
    const subscribed = kernel.subscriptions.subscribe(session.agent.id, request.event_types, filter, sink, watch);
    return { success: true as const, subscribed, push: sink !== undefined };
  },
});

/** FILE_CHANGED's glob, absolute (resolved against the agent's cwd); undefined when not subscribing to it. */
function fileGlob(types: readonly string[], path: string | undefined, cwd: string): string | undefined {
  const wantsFiles = types.includes('FILE_CHANGED');
  if (path !== undefined && (!wantsFiles || types.length > 1)) {
    throw new KernelError(
      'INVALID_REQUEST',
      'SUBSCRIBE: filter.path applies to FILE_CHANGED only; subscribe to other types in another request',
      {
        field: 'filter.path',
      },
    );
  }
  if (!wantsFiles) return undefined;
  if (path === undefined) {
    throw new KernelError(
      'INVALID_REQUEST',
      'SUBSCRIBE: FILE_CHANGED needs filter.path, a glob of the paths to watch (e.g. "/srv/data/**/*.json")',
      {
        field: 'filter.path',
      },
    );
  }
  const glob = resolve(cwd, path);
  if (!isAbsolute(glob)) {
    throw new KernelError('INVALID_REQUEST', `SUBSCRIBE: filter.path must be absolute after resolving against the cwd; got ${glob}`, {
      field: 'filter.path',
    });
  }
  return glob;
}

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
