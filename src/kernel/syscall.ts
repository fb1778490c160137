/**
 * How a syscall is declared: opcode, request schema and handler side by side. The
 * router builds its dispatch table from these at boot (the permission comes from the
 * opcode table, so it is stated once).
 */

import type { AnyActorRef } from 'xstate';
import type { z } from 'zod';
import type { SupervisionRuntime } from '../actors/supervision-runtime.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { AgentSpawner } from '../agents/spawner.js';
import type { EventSubscriptions } from '../events/subscriptions.js';
import type { Mailboxes } from '../ipc/mailboxes.js';
import type { OpName } from '../protocol/opcodes.js';
import type { StateStore } from '../state/store.js';
import type { WorkerPool } from '../workers/pool.js';
import type { EventBus } from './events.js';
import type { Logger } from './logger.js';
import type { KernelOptions } from './options.js';
import type { Session } from './session.js';

/** What handlers may use: never the whole kernel. */
export interface KernelServices {
  readonly options: KernelOptions;
  readonly log: Logger;
  readonly pool: WorkerPool;
  readonly agents: AgentRegistry;
  readonly events: EventBus;
  /** Who is subscribed to which events, and their queues (SUBSCRIBE to EMIT). */
  readonly subscriptions: EventSubscriptions;
  /** Every agent's mailbox (SEND, RECV, BROADCAST). */
  readonly mailboxes: Mailboxes;
  /** Keys and values of STORE to INCR (global, agent and session scopes). */
  readonly state: StateStore;
  /** The secret of `<data-dir>/admin.token`; null when none was written. */
  readonly adminToken: string | null;
  readonly kernelVersion: string;
  readonly startedAt: number;
  readonly spawner: AgentSpawner;
  readonly supervision: SupervisionRuntime;
  /** The kernel's own supervisors (agents, worlds, tasks), in start order. */
  readonly topSupervisors: () => [string, AnyActorRef][];
  /** Names of the syscalls this kernel serves (HELLO's `features`). */
  readonly features: () => readonly string[];
}

export type Handler<Req> = (request: Req, session: Session, kernel: KernelServices) => unknown;

export interface SyscallDefinition {
  readonly name: OpName;
  /** `raw`: the handler gets the payload untouched (NOOP's bytes, or the JSON value over WebSocket). */
  readonly request: z.ZodType | 'raw';
  readonly handle: Handler<never>;
}

export function defineSyscall<S extends z.ZodType>(definition: {
  name: OpName;
  request: S;
  handle: Handler<z.output<S>>;
}): SyscallDefinition;
export function defineSyscall(definition: { name: OpName; request: 'raw'; handle: Handler<unknown> }): SyscallDefinition;
export function defineSyscall(definition: SyscallDefinition): SyscallDefinition {
  return Object.freeze({ ...definition });
}
