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
import type { AsyncResults } from '../async/results.js';
import type { AuditLog } from '../audit/log.js';
import type { EventSubscriptions } from '../events/subscriptions.js';
import type { Mailboxes } from '../ipc/mailboxes.js';
import type { LlmService } from '../llm/service.js';
import type { Metrics } from '../metrics/index.js';
import type { OpName } from '../protocol/opcodes.js';
import type { Quotas } from '../quotas/quotas.js';
import type { Recorder } from '../replay/recorder.js';
import type { Replayer } from '../replay/replayer.js';
import type { StateStore } from '../state/store.js';
import type { TaskEngine } from '../tasks/engine.js';
import type { RoleRegistry } from '../tasks/roles.js';
import type { Tunnel } from '../tunnel/index.js';
import type { WorkerPool } from '../workers/pool.js';
import type { WorldRegistry } from '../worlds/registry.js';
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
  /** RECORD_*: captures calls through the router while a recording runs. */
  readonly recorder: Recorder;
  /** REPLAY_*: re-runs a recording's deterministic calls and reports divergences. */
  readonly replayer: Replayer;
  /** Calls made with `async: true`, running and finished (ASYNC_POLL). */
  readonly asyncResults: AsyncResults;
  /** Keys and values of STORE to INCR (global, agent and session scopes). */
  readonly state: StateStore;
  /** Quotas per agent (SET_QUOTA): `charge`, `check` and `record` before and after a use (src/quotas/quotas.ts). */
  readonly quotas: Quotas;
  /** Usage counters per agent: `metrics.add(agentId, 'llm_calls' | 'llm_tokens_used' | 'bytes_read' | 'bytes_written' | 'network_bytes', n)`; process samples; system readings. */
  readonly metrics: Metrics;
  /** The audit log: `record()` an entry, `query()` a page (src/audit/log.ts). */
  readonly audit: AuditLog;
  /** THINK's provider, fair queue and accounting; LLM_REPORT (src/llm/service.ts). */
  readonly llm: LlmService;
  /** Live worlds and their members (WORLD_*; src/worlds/registry.ts). */
  readonly worlds: WorldRegistry;
  /** Tasks, their subtasks and their lifecycle (TASK_*; src/tasks/engine.ts), kept in `<data-dir>/tasks.db`. */
  readonly tasks: TaskEngine;
  /** Roles agents took with REGISTER `{ role }` (src/tasks/roles.ts). */
  readonly roles: RoleRegistry;
  /** The outbound tunnel to a relay and its remote agents (TUNNEL_*; src/tunnel). */
  readonly tunnel: Tunnel;
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
