/**
 * The SDK has a typed method for every syscall the kernel serves: the table maps each op
 * to its method, a served op without an entry fails, so does an entry for an op the
 * kernel does not serve, or a method the client lacks. A syscall added to SYSCALLS needs
 * its method (src/sdk/methods/) and a row here.
 */
import { describe, expect, it } from 'vitest';
import type { OpName } from '../../src/protocol/opcodes.js';
import { AgentOSClient } from '../../src/sdk/client.js';
import type { ClientTransport } from '../../src/sdk/transport.js';
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
  GET_PERMS: 'getPerms',
  SET_PERMS: 'setPerms',
  HTTP: 'http',
  DOWNLOAD: 'download',
  SUBSCRIBE: 'subscribe',
  UNSUBSCRIBE: 'unsubscribe',
  POLL_EVENTS: 'pollEvents',
  EMIT: 'emit',
  ASYNC_POLL: 'asyncPoll',
  GET_AUDIT_LOG: 'auditLog',
  SET_AUDIT_CONFIG: 'setAuditConfig',
  METRICS: 'metrics',
  METRICS_ALL: 'metricsAll',
  SET_QUOTA: 'setQuota',
  METRICS_SYSTEM: 'systemMetrics',
  METRICS_CGROUP: 'cgroupMetrics',
  RECORD_START: 'recordStart',
  RECORD_STOP: 'recordStop',
  RECORD_STATUS: 'recordStatus',
  REPLAY_START: 'replayStart',
  REPLAY_STATUS: 'replayStatus',
  WORLD_CREATE: 'worldCreate',
  WORLD_DESTROY: 'worldDestroy',
  WORLD_LIST: 'worldList',
  WORLD_JOIN: 'worldJoin',
  WORLD_LEAVE: 'worldLeave',
  WORLD_EVENT: 'worldEvent',
  WORLD_STATE: 'worldState',
  WORLD_SNAPSHOT: 'worldSnapshot',
  WORLD_RESTORE: 'worldRestore',
  TASK_CREATE: 'taskCreate',
  TASK_ASSIGN: 'taskAssign',
  TASK_STATUS: 'taskStatus',
  TASK_COMPLETE: 'taskComplete',
  TASK_LIST: 'taskList',
  TASK_CANCEL: 'taskCancel',
  TUNNEL_CONNECT: 'tunnelConnect',
  TUNNEL_STATUS: 'tunnelStatus',
  TUNNEL_DISCONNECT: 'tunnelDisconnect',
  TUNNEL_LIST_REMOTES: 'tunnelRemotes',
  TUNNEL_CONFIG: 'tunnelConfig',
};

/** A transport that is never used: the methods are only looked at. */
const idle: ClientTransport = {
  address: 'nowhere',
  request: () => Promise.reject(new Error('not connected')),
  close: () => Promise.resolve(),
};

describe('SDK coverage', () => {
  const served = SYSCALLS.map((syscall) => syscall.name);

  it('maps every syscall the kernel serves to a method', () => {
    expect(served.filter((op) => METHOD[op] === undefined)).toEqual([]);
  });

  it('names only syscalls the kernel serves', () => {
    expect(Object.keys(METHOD).filter((op) => !served.includes(op as OpName))).toEqual([]);
  });

  it('has each method on the client', () => {
    const client = new AgentOSClient(idle);
    const methods = Object.values(METHOD);
    expect(methods.filter((method) => typeof client[method] !== 'function')).toEqual([]);
    expect(new Set(methods).size).toBe(methods.length);
  });

  it('gives the background calls (startAsync, asyncResult, asyncResults) too', () => {
    const client = new AgentOSClient(idle);
    for (const method of ['startAsync', 'asyncResult', 'asyncResults'] as const) expect(typeof client[method]).toBe('function');
  });
});
