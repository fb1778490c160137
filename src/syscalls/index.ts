/** Every syscall this kernel serves; the router builds its dispatch table from this list. */
import type { SyscallDefinition } from '../kernel/syscall.js';
import { kill, list, logs, pause, resume, spawn, tree } from './agents.js';
import { exit, hello, noop } from './core.js';
import { emit, pollEvents, subscribe, unsubscribe } from './events.js';
import { read, write } from './files.js';
import { broadcast, recv, register, send } from './ipc.js';
import { execSyscall } from './process.js';
import { cas, deleteKey, fetch, incr, keys, store } from './state.js';

export const SYSCALLS: readonly SyscallDefinition[] = [
  noop,
  hello,
  exit,
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
  subscribe,
  unsubscribe,
  pollEvents,
  emit,
];
