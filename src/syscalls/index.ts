/** Every syscall this kernel serves; the router builds its dispatch table from this list. */
import type { SyscallDefinition } from '../kernel/syscall.js';
import { kill, list, logs, pause, resume, spawn, tree } from './agents.js';
import { exit, hello, noop } from './core.js';
import { emit, pollEvents, subscribe, unsubscribe } from './events.js';
import { read, write } from './files.js';
import { execSyscall } from './process.js';

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
  subscribe,
  unsubscribe,
  pollEvents,
  emit,
];
