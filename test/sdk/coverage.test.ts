/**
 * The SDK's typed methods, one per syscall of the families it covers (core, commands and
 * files, agents, messages, state, events): each syscall is served by the kernel, and
 * each method exists. Syscalls added since (THINK, GET_PERMS, ...) get theirs with their
 * reply schemas; add them here and in client.ts together.
 */
import { describe, expect, it } from 'vitest';
import type { OpName } from '../../src/protocol/opcodes.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import { SYSCALLS } from '../../src/syscalls/index.js';

const METHOD: Partial<Record<OpName, keyof AgentOSClient>> = {
  NOOP: 'noop',
  HELLO: 'hello',
  EXIT: 'exit',
  THINK: 'think',
  LLM_REPORT: 'llmReport',
  EXEC: 'exec',
  READ: 'read',
  WRITE: 'write',
  SPAWN: 'spawn',
  KILL: 'kill',
  LIST: 'list',
  PAUSE: 'pause',
  RESUME: 'resume',
  LOGS: 'logs',
  TREE: 'tree',
  SEND: 'send',
  RECV: 'recv',
  BROADCAST: 'broadcast',
  REGISTER: 'register',
  STORE: 'store',
  FETCH: 'fetch',
  DELETE: 'delete',
  KEYS: 'keys',
  CAS: 'cas',
  INCR: 'incr',
  SUBSCRIBE: 'subscribe',
  UNSUBSCRIBE: 'unsubscribe',
  POLL_EVENTS: 'pollEvents',
  EMIT: 'emit',
  GET_AUDIT_LOG: 'auditLog',
  SET_AUDIT_CONFIG: 'setAuditConfig',
  METRICS: 'metrics',
  METRICS_ALL: 'metricsAll',
  SET_QUOTA: 'setQuota',
  METRICS_SYSTEM: 'systemMetrics',
  METRICS_CGROUP: 'cgroupMetrics',
};

describe('SDK coverage', () => {
  it('every syscall named here is served by the kernel and has its method', () => {
    const served = new Set<string>(SYSCALLS.map((syscall) => syscall.name));
    const entries = Object.entries(METHOD) as [OpName, keyof AgentOSClient][];
    expect(entries.filter(([op]) => !served.has(op)).map(([op]) => op)).toEqual([]);
    expect(entries.filter(([, method]) => typeof AgentOSClient.prototype[method] !== 'function').map(([, method]) => method)).toEqual([]);
  });
});
