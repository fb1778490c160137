/** State: STORE, FETCH, DELETE, KEYS, CAS, INCR. */
import { Op } from '../../protocol/opcodes.js';
import type { CasReply, DeleteReply, FetchReply, IncrReply, KeysReply, StoreReply } from '../../protocol/schemas/state.js';
import type { CasOptions, IncrOptions, KeysOptions, Reply, ScopeOptions, StoreOptions } from '../types.js';
import type { Context } from './context.js';

export const stateMethods = ({ call }: Context) => ({
  /**
   * STORE any JSON value but null under `key` in `scope` ("agent", private to this agent,
   * by default), replacing any value and TTL; `ttl` in seconds. Rejects with
   * INVALID_REQUEST (a bad key, null, a bad ttl) or QUOTA_EXCEEDED (the value is too large,
   * or a new key beyond the scope's key limit).
   */
  store(key: string, value: unknown, options: StoreOptions = {}): Promise<Reply<typeof StoreReply>> {
    return call(Op.STORE, { key, value, scope: options.scope, ttl: options.ttl });
  },

  /** FETCH a key: a missing or expired one is `exists: false, value: null`, not an error. */
  fetch(key: string, options: ScopeOptions = {}): Promise<Reply<typeof FetchReply>> {
    return call(Op.FETCH, { key, scope: options.scope });
  },

  /** DELETE a key; `deleted` is false when there was none. */
  delete(key: string, options: ScopeOptions = {}): Promise<Reply<typeof DeleteReply>> {
    return call(Op.DELETE, { key, scope: options.scope });
  },

  /** KEYS of a scope starting with `prefix` (literally), sorted, at most `limit` (`truncated` says there were more). */
  keys(options: KeysOptions = {}): Promise<Reply<typeof KeysReply>> {
    return call(Op.KEYS, options);
  },

  /**
   * CAS: sets `key` to `value` only if it holds `expected` (null: only if it does not
   * exist), atomically. A mismatch rejects with CONFLICT, whose `reply` carries
   * `exists` and the current `value`; QUOTA_EXCEEDED as for `store`.
   */
  cas(key: string, expected: unknown, value: unknown, options: CasOptions = {}): Promise<Reply<typeof CasReply>> {
    return call(Op.CAS, { key, expected, value, scope: options.scope, ttl: options.ttl });
  },

  /**
   * INCR: adds `by` (default 1) to a number, atomically; a missing key counts from 0 and
   * the key's TTL stays. Resolves to the new `value`. Rejects with CONFLICT (the value is
   * not a number, or the result would not be finite) or QUOTA_EXCEEDED (a new key beyond the limit).
   */
  incr(key: string, options: IncrOptions = {}): Promise<Reply<typeof IncrReply>> {
    return call(Op.INCR, { key, by: options.by, scope: options.scope });
  },
});
