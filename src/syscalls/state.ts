/** STORE, FETCH, DELETE, KEYS, CAS and INCR: the state store (protocol.md §5, src/state/store.ts). */
import { defineSyscall } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { CasRequest, DeleteRequest, FetchRequest, IncrRequest, KeysRequest, StoreRequest } from '../protocol/schemas/state.js';

/** Seconds left, to the millisecond. */
const expiresIn = (expiresAt: number | null) => (expiresAt === null ? {} : { expires_in: Math.max(0, expiresAt - Date.now()) / 1000 });

export const store = defineSyscall({
  name: 'STORE',
  request: StoreRequest,
  handle: (request, session, kernel) => {
    const { expiresAt } = kernel.state.store(session.agent, request.scope, request.key, request.value, request.ttl);
    return { success: true as const, key: request.key, scope: request.scope, ...expiresIn(expiresAt) };
  },
});

export const fetch = defineSyscall({
  name: 'FETCH',
  request: FetchRequest,
  handle: (request, session, kernel) => {
    const entry = kernel.state.fetch(session.agent, request.scope, request.key);
    if (!entry) return { success: true as const, key: request.key, exists: false, value: null, scope: request.scope };
    return {
      success: true as const,
      key: request.key,
      exists: true,
      value: entry.value,
      scope: request.scope,
      ...expiresIn(entry.expiresAt),
    };
  },
});

export const deleteKey = defineSyscall({
  name: 'DELETE',
  request: DeleteRequest,
  handle: (request, session, kernel) => ({
    success: true as const,
    key: request.key,
    scope: request.scope,
    deleted: kernel.state.delete(session.agent, request.scope, request.key),
  }),
});

export const keys = defineSyscall({
  name: 'KEYS',
  request: KeysRequest,
  handle: (request, session, kernel) => {
    const { keys, truncated } = kernel.state.keys(session.agent, request.scope, request.prefix, request.limit);
    return { success: true as const, keys, count: keys.length, truncated, scope: request.scope };
  },
});

export const cas = defineSyscall({
  name: 'CAS',
  request: CasRequest,
  handle: (request, session, kernel) => {
    const result = kernel.state.cas(session.agent, request.scope, request.key, request.expected, request.value, request.ttl);
    if (!result.swapped) {
      throw new KernelError('CONFLICT', `CAS: "${request.key}" does not hold the expected value; nothing was written`, {
        swapped: false,
        exists: result.current !== null,
        value: result.current,
      });
    }
    return { success: true as const, swapped: true, key: request.key, scope: request.scope, value: request.value };
  },
});

export const incr = defineSyscall({
  name: 'INCR',
  request: IncrRequest,
  handle: (request, session, kernel) => ({
    success: true as const,
    key: request.key,
    scope: request.scope,
    value: kernel.state.incr(session.agent, request.scope, request.key, request.by),
  }),
});
