/** Every syscall this kernel serves; the router builds its dispatch table from this list. */
import type { SyscallDefinition } from '../kernel/syscall.js';
import { kill, list, logs, pause, resume, spawn, tree } from './agents.js';
import { asyncPoll } from './async.js';
import { getAuditLog, setAuditConfig } from './audit.js';
import { exit, hello, noop } from './core.js';
import { emit, pollEvents, subscribe, unsubscribe } from './events.js';
import { read, write } from './files.js';
import { broadcast, recv, register, send } from './ipc.js';
import { metrics, metricsAll, metricsCgroup, metricsSystem, setQuota } from './metrics.js';
import { download, http } from './network.js';
import { getPerms, setPerms } from './permissions.js';
import { execSyscall } from './process.js';
import { recordStart, recordStatus, recordStop, replayStart, replayStatus } from './replay.js';
import { cas, deleteKey, fetch, incr, keys, store } from './state.js';
import { taskAssign, taskCancel, taskComplete, taskCreate, taskList, taskStatus } from './tasks.js';
import { llmReport, think } from './think.js';
import { tunnelConfig, tunnelConnect, tunnelDisconnect, tunnelListRemotes, tunnelStatus } from './tunnel.js';
import {
  worldCreate,
  worldDestroy,
  worldEvent,
  worldJoin,
  worldLeave,
  worldList,
  worldRestore,
  worldSnapshot,
  worldState,
} from './worlds.js';

export const SYSCALLS: readonly SyscallDefinition[] = [
  noop,
  hello,
  exit,
  think,
  execSyscall,
  read,
  write,
  spawn,
  kill,
  list,
  pause,
  resume,
  logs,
  tree,
  send,
  recv,
  broadcast,
  register,
  store,
  fetch,
  deleteKey,
  keys,
  cas,
  incr,
  getPerms,
  setPerms,
  http,
  download,
  subscribe,
  unsubscribe,
  pollEvents,
  emit,
  asyncPoll,
  metrics,
  metricsAll,
  setQuota,
  metricsSystem,
  metricsCgroup,
  recordStart,
  recordStop,
  recordStatus,
  replayStart,
  replayStatus,
  getAuditLog,
  setAuditConfig,
  llmReport,
  worldCreate,
  worldDestroy,
  worldList,
  worldJoin,
  worldLeave,
  worldEvent,
  worldState,
  worldSnapshot,
  worldRestore,
  taskCreate,
  taskAssign,
  taskStatus,
  taskComplete,
  taskList,
  taskCancel,
  tunnelConnect,
  tunnelStatus,
  tunnelDisconnect,
  tunnelListRemotes,
  tunnelConfig,
];
