/**
 * The task engine (issue 7): tasks split into subtasks that form a DAG, assigned to agents
 * (by id, name or role), delivered as mailbox messages, timed out, retried with backoff,
 * reassigned within a role, cancelled in cascade, persisted in SQLite. The kernel's
 * TASK_* syscalls call it; it knows agents only through `TaskEngineDeps`.
 *
 * Every public call changes the in-memory records synchronously (so nothing interleaves
 * with another call's change), marks them dirty in the store, and resolves after the
 * store's grouped commit; TASK_UPDATED is published (deps.changed) right after that commit.
 *
 * After a kernel restart agent ids mean nothing (they restart at 1), and a name is no proof
 * of identity (any client may take a free name), so a task loaded from the database grants
 * nothing to its old creator: only the admin may assign, cancel or complete it for the
 * creator. A subtask that was assigned or running is offered to the agent of the same name
 * when it is next dispatched, if one is live then (as a role offers work to whoever takes
 * it); otherwise a subtask with a role returns to its role's pool, and one without waits
 * (pending) for the admin's TASK_ASSIGN.
 */
import { type AnyActorRef, createActor } from 'xstate';
import type { z } from 'zod';
import { isFinalSubtask, type SubtaskEventType, subtaskTransition } from '../machines/subtask.machine.js';
import { taskMachine } from '../machines/task.machine.js';
import { KernelError } from '../protocol/errors.js';
import {
  RetryPolicy,
  type SubtaskStatus,
  type TaskAssignedMessage,
  type TaskAssignRequest,
  type TaskCancelledMessage as TaskCancelledMessageSchema,
  type TaskCompleteRequest,
  type TaskCreateRequest,
  type TaskStatus,
  type TaskSummary as TaskSummarySchema,
  type TaskView,
} from '../protocol/schemas/tasks.js';
import { checkDag } from './dag.js';
import { Deadlines, type TimeSource } from './deadlines.js';
import { type LiveSubtask, type LiveTask, liveView, splitSubtaskId, treeView } from './records.js';
import { backoffMs, hasRetriesLeft, pickAgent } from './retry.js';
import type { StoredSubtask, StoredTask, StoredTaskTree, TaskStore } from './store.js';

export type TaskSummary = z.infer<typeof TaskSummarySchema>;
export type TaskCancelledMessage = z.infer<typeof TaskCancelledMessageSchema>;

export interface TaskCaller {
  agent_id: number;
  name: string | null;
  /** The caller and its ancestors. */
  lineage: number[];
  admin: boolean;
}

export interface TaskEngineDeps {
  store: TaskStore;
  time?: TimeSource;
  /** Round-robin start within a role; default Math.random. */
  random?: () => number;
  /** Put a message in an agent's mailbox (from agent 0); false when the agent is gone or its mailbox is full (the attempt fails). */
  deliver(agentId: number, message: TaskAssignedMessage | TaskCancelledMessage): boolean;
  /** Live agents holding `role`, in the order they took it. */
  agentsWithRole(role: string): number[];
  /** The live agent with this id or name, or undefined. */
  findAgent(ref: { agent_id: number } | { agent_name: string }): { agent_id: number; name: string | null } | undefined;
  /** A task changed (after the change is committed): publish TASK_UPDATED. */
  changed(task: TaskView, change: TaskChange): void;
  /** The lifecycle actor of each live task is parented to this (the kernel's `tasks` supervisor). */
  supervisor?(): AnyActorRef | undefined;
  /** Unfinished tasks at once (default MAX_LIVE_TASKS). */
  maxLiveTasks?: number;
}

export type TaskChangeKind = 'created' | 'assigned' | 'running' | 'completed' | 'failed' | 'retrying' | 'cancelled' | 'timed_out';

export interface TaskChange {
  kind: TaskChangeKind;
  subtask_id?: string;
  /** The agent behind the change: the assignee or the caller (null: the kernel itself). */
  agent_id?: number | null;
  /** The task's version, status and the subtask's status right after this change (the view passed with it may be newer). */
  version: number;
  status: TaskStatus;
  subtask_status?: SubtaskStatus;
}

/**
 * Unfinished tasks at once: each is held in memory with its subtasks (at most 1,000) and
 * an actor, so this bounds the engine's memory; beyond: QUOTA_EXCEEDED.
 */
export const MAX_LIVE_TASKS = 10_000;

/** Long-pollers one task may have at once (TASK_STATUS wait_ms); beyond: QUOTA_EXCEEDED. */
export const MAX_WAITERS_PER_TASK = 1000;

const DEFAULT_RETRY: RetryPolicy = RetryPolicy.parse({});
const REAL_TIME: TimeSource = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Waiter {
  since: number;
  resolve(value: { task: TaskView; changed: boolean }): void;
  reject(error: unknown): void;
  timer: unknown;
  cleanup(): void;
}

type AttemptOutcome = 'failed' | 'timed_out' | 'agent_exited';

export class TaskEngine {
  readonly #deps: TaskEngineDeps;
  readonly #store: TaskStore;
  readonly #time: TimeSource;
  readonly #random: () => number;
  readonly #deadlines: Deadlines;
  readonly #logic;
  readonly #live = new Map<string, LiveTask>();
  /** Live tasks whose lifecycle actor was made before the `tasks` supervisor existed (see adoptActors). */
  readonly #orphans = new Set<string>();
  /** Subtasks assigned to (or running on) each agent: its load, and what its exit affects. */
  readonly #byAgent = new Map<number, Set<LiveSubtask>>();
  /** Ready subtasks whose role has no live agent yet. */
  readonly #waitingForRole = new Map<string, Set<LiveSubtask>>();
  /** Task id → live tasks that depend on it. */
  readonly #dependentTasks = new Map<string, Set<LiveTask>>();
  readonly #cursors = new Map<string, number>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Changes made since the last commit, published after it. */
  #pending: { task: LiveTask; change: TaskChange }[] = [];
  /** Tasks that reached a final state during a machine step, settled after it. */
  readonly #settling: LiveTask[] = [];
  /** Loading at start: agent ids in the records are the previous run's. */
  #restoring = false;
  #cancelledCount = 0;
  #closed = false;

  private constructor(deps: TaskEngineDeps) {
    this.#deps = deps;
    this.#store = deps.store;
    this.#time = deps.time ?? REAL_TIME;
    this.#random = deps.random ?? Math.random;
    this.#deadlines = new Deadlines(this.#time, (key) => this.#deadlineDue(key));
    this.#logic = taskMachine.provide({
      actions: {
        cancelUnfinished: ({ context, event }) => {
          const task = this.#live.get(context.taskId);
          const reason =
            event.type === 'task.cancel' ? event.reason : event.type === 'task.fail' ? `task failed: ${event.error}` : 'task ended';
          if (task) this.#cancelled(task, reason);
        },
        settle: ({ context }) => {
          const task = this.#live.get(context.taskId);
          if (task) this.#settling.push(task);
        },
      },
    });
    this.#store.onCommitted = () => this.#publish();
  }

  /** Loads unfinished tasks; subtasks that were running fail their attempt ("the kernel restarted") and follow their retry policy. */
  static open(deps: TaskEngineDeps): TaskEngine {
    const engine = new TaskEngine(deps);
    engine.#load();
    return engine;
  }

  // ---- syscalls -------------------------------------------------------------------------

  async create(
    request: TaskCreateRequest,
    caller: TaskCaller,
  ): Promise<{ task_id: string; status: TaskStatus; subtasks: { subtask_id: string; key: string }[] }> {
    this.#open();
    if (request.subtasks && request.subtasks.length === 0) {
      throw new KernelError('INVALID_REQUEST', 'subtasks: expected at least one subtask (omit "subtasks" for a single piece of work)', {
        field: 'subtasks',
      });
    }
    const most = this.#deps.maxLiveTasks ?? MAX_LIVE_TASKS;
    if (this.#live.size >= most) {
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `TASK_CREATE: ${most} tasks are unfinished already; complete or cancel some (TASK_LIST status "running" or "pending")`,
      );
    }
    const specs = request.subtasks ?? [{ key: 'main', description: request.description, depends_on: [] }];
    checkDag(specs);
    const dependsOn = [...new Set(request.depends_on)];
    const dependencies = dependsOn.map((id, i) => {
      const live = this.#live.get(id);
      const status = live ? live.data.status : this.#store.loadTask(id)?.status;
      if (!status) throw new KernelError('NOT_FOUND', `depends_on[${i}]: no task "${id}"`, { field: `depends_on[${i}]` });
      return { id, live, status };
    });

    const now = this.#time.now();
    const seq = this.#store.allocateSeq();
    const taskId = `task-${seq}`;
    const timeoutMs = request.timeout_ms ?? (request.timeout !== undefined ? Math.ceil(request.timeout * 1000) : null);
    const retry = request.retry ?? DEFAULT_RETRY;
    const data: StoredTask = {
      task_id: taskId,
      seq,
      description: request.description,
      status: 'pending',
      created_by: caller.agent_id,
      created_by_name: caller.name,
      lineage: [...caller.lineage],
      depends_on: dependsOn,
      error: null,
      metadata: request.metadata ?? {},
      version: 0,
      created_at: now,
      updated_at: now,
      ended_at: null,
      deadline: timeoutMs === null ? null : now + timeoutMs,
      retry,
      timeout_ms: timeoutMs,
      counts: { subtasks: specs.length, completed: 0, failed: 0 },
    };
    const subtasks: StoredSubtask[] = specs.map((spec, position) => ({
      subtask_id: `${taskId}/${spec.key}`,
      task_id: taskId,
      position,
      key: spec.key,
      description: spec.description ?? '',
      ...('input' in spec && spec.input !== undefined ? { input: spec.input } : {}),
      status: 'pending',
      role: ('role' in spec ? spec.role : undefined) ?? null,
      depends_on: [...spec.depends_on],
      assigned_to: null,
      assigned_name: null,
      attempts: [],
      error: null,
      retry_at: null,
      created_at: now,
      started_at: null,
      ended_at: null,
      timeout_ms: ('timeout_ms' in spec ? spec.timeout_ms : undefined) ?? null,
      retry: ('retry' in spec ? spec.retry : undefined) ?? retry,
      avoid: null,
    }));
    const task = this.#adopt({ task: data, subtasks }, false);
    this.#store.saveTask(data);
    for (const sub of task.subtasks) this.#store.saveSubtask(sub.data);
    this.#touch(task, { kind: 'created', agent_id: caller.agent_id });

    for (const dependency of dependencies) {
      if (dependency.status === 'completed') continue;
      if (dependency.status === 'failed' || dependency.status === 'cancelled') {
        this.#failTask(task, `depends on ${dependency.id}, which ${dependency.status === 'failed' ? 'failed' : 'was cancelled'}`, 'failed');
        break;
      }
      task.waitingOnTasks++;
      this.#dependOn(dependency.id, task);
    }
    if (data.deadline !== null) this.#deadlines.set(`t:${taskId}`, data.deadline);
    for (const sub of task.subtasks) this.#advance(sub);
    this.#drainSettled();
    const reply = { task_id: taskId, status: data.status, subtasks: subtasks.map(({ subtask_id, key }) => ({ subtask_id, key })) };
    await this.#store.committed();
    return reply;
  }

  async assign(
    request: TaskAssignRequest,
    caller: TaskCaller,
  ): Promise<{ task_id: string; subtask_id: string; assigned_to: number | null; status: SubtaskStatus }> {
    this.#open();
    const task = this.#liveFor(request.task_id, 'assign', 'subtask', request.subtask);
    this.#mayManage(task, caller, 'assign subtasks of');
    const sub = this.#subtaskOf(task, request.subtask, 'subtask');
    const d = sub.data;
    if (d.status === 'running' || isFinalSubtask(d.status)) {
      throw new KernelError(
        'CONFLICT',
        `subtask: ${d.subtask_id} is ${d.status}${d.status === 'running' ? ` on agent ${d.assigned_to}` : ''}; only a pending or assigned subtask can be assigned`,
        { field: 'subtask' },
      );
    }
    if (request.role !== undefined) {
      this.#release(sub);
      d.assigned_to = null;
      d.assigned_name = null;
      d.role = request.role;
      this.#move(sub, 'subtask.unassign');
      this.#touch(task, { kind: 'assigned', subtask_id: d.subtask_id, agent_id: caller.agent_id });
    } else {
      const ref = request.agent_id !== undefined ? { agent_id: request.agent_id } : { agent_name: request.agent_name as string };
      const agent = this.#deps.findAgent(ref);
      if (!agent) {
        const [field, what] = 'agent_id' in ref ? ['agent_id', `agent ${ref.agent_id}`] : ['agent_name', `agent named "${ref.agent_name}"`];
        throw new KernelError('NOT_FOUND', `${field}: no live ${what}`, { field });
      }
      this.#release(sub);
      this.#assignTo(sub, agent, caller.agent_id);
    }
    this.#advance(sub);
    this.#drainSettled();
    const reply = { task_id: task.data.task_id, subtask_id: d.subtask_id, assigned_to: d.assigned_to, status: d.status };
    await this.#store.committed();
    return reply;
  }

  async complete(
    request: TaskCompleteRequest,
    caller: TaskCaller,
  ): Promise<{ task_id: string; subtask_id: string; status: TaskStatus; subtask_status: SubtaskStatus }> {
    this.#open();
    const task = this.#liveFor(request.task_id, 'complete', 'subtask_id', request.subtask_id);
    const sub = this.#subtaskOf(task, request.subtask_id, 'subtask_id');
    const d = sub.data;
    // A completed subtask keeps its assignee, so completing it again is a CONFLICT, not a denial.
    const isAssignee = d.assigned_to === caller.agent_id;
    if (!caller.admin && !this.#isCreator(task, caller) && !isAssignee) {
      throw new KernelError(
        'PERMISSION_DENIED',
        `subtask_id: ${d.subtask_id} may be completed by its assignee${d.assigned_to === null ? '' : ` (agent ${d.assigned_to})`}, the task's creator or admin, not agent ${caller.agent_id}`,
        { field: 'subtask_id' },
      );
    }
    if (isFinalSubtask(d.status)) {
      throw new KernelError('CONFLICT', `subtask_id: ${d.subtask_id} is already ${d.status}`, { field: 'subtask_id' });
    }
    if (request.error !== undefined) {
      if (d.status === 'running') this.#attemptFailed(sub, 'failed', request.error, false);
      else this.#failSubtask(sub, request.error, caller.agent_id);
    } else {
      this.#completeSubtask(sub, request.result ?? null, caller.agent_id);
    }
    this.#drainSettled();
    const reply = { task_id: task.data.task_id, subtask_id: d.subtask_id, status: task.data.status, subtask_status: d.status };
    await this.#store.committed();
    return reply;
  }

  async cancel(
    taskId: string,
    reason: string | undefined,
    caller: TaskCaller,
  ): Promise<{ task_id: string; status: TaskStatus; cancelled_subtasks: number }> {
    this.#open();
    const task = this.#liveFor(taskId, 'cancel');
    this.#mayManage(task, caller, 'cancel');
    const why = reason ?? `cancelled by agent ${caller.agent_id}`;
    task.data.error = why;
    this.#cancelledCount = 0;
    this.#sendTask(task, { type: 'task.cancel', reason: why }, { kind: 'cancelled', agent_id: caller.agent_id });
    const count = this.#cancelledCount;
    this.#drainSettled();
    await this.#store.committed();
    return { task_id: taskId, status: task.data.status, cancelled_subtasks: count };
  }

  view(taskId: string): TaskView | undefined {
    const live = this.#live.get(taskId);
    if (live) return liveView(live);
    const tree = this.#store.load(taskId);
    return tree ? treeView(tree) : undefined;
  }

  require(taskId: string, op: string): TaskView {
    const view = this.view(taskId);
    if (!view) throw new KernelError('NOT_FOUND', `task_id: no task "${taskId}" (${op})`, { field: 'task_id' });
    return view;
  }

  /** Newest first. */
  list(filter: { status?: TaskStatus; limit: number }): TaskSummary[] {
    return this.#store.list(filter.status, filter.limit).map((task) => ({
      task_id: task.task_id,
      description: task.description,
      status: task.status,
      created_by: task.created_by,
      subtasks: task.counts.subtasks,
      completed: task.counts.completed,
      failed: task.counts.failed,
      created_at: task.created_at,
      updated_at: task.updated_at,
    }));
  }

  /**
   * Resolves with the view once its version is above `sinceVersion`, or after `waitMs` (then
   * with the current view). A finished task never changes again, so it answers at once.
   */
  waitForChange(taskId: string, sinceVersion: number, waitMs: number, signal?: AbortSignal): Promise<{ task: TaskView; changed: boolean }> {
    const view = this.require(taskId, 'TASK_STATUS');
    if (view.version > sinceVersion) return Promise.resolve({ task: view, changed: true });
    if (waitMs <= 0 || !this.#live.has(taskId) || this.#closed) return Promise.resolve({ task: view, changed: false });
    if (signal?.aborted) return Promise.reject(signal.reason);
    let waiters = this.#waiters.get(taskId);
    if (!waiters) {
      waiters = new Set();
      this.#waiters.set(taskId, waiters);
    }
    if (waiters.size >= MAX_WAITERS_PER_TASK) {
      throw new KernelError(
        'QUOTA_EXCEEDED',
        `wait_ms: ${taskId} already has ${MAX_WAITERS_PER_TASK} waiting TASK_STATUS calls; poll without wait_ms`,
        {
          field: 'wait_ms',
        },
      );
    }
    const set = waiters;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        waiter.cleanup();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        since: sinceVersion,
        resolve,
        reject,
        timer: this.#time.setTimeout(() => {
          waiter.cleanup();
          resolve({ task: this.view(taskId) ?? view, changed: false });
        }, waitMs),
        cleanup: () => {
          this.#time.clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          set.delete(waiter);
          if (set.size === 0 && this.#waiters.get(taskId) === set) this.#waiters.delete(taskId);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(waiter);
    });
  }

  /** Its running subtasks fail (agent_exited) and follow their retry policy; assigned ones go back to pending. */
  agentExited(agentId: number): void {
    const held = this.#byAgent.get(agentId);
    if (!held) return;
    this.#byAgent.delete(agentId);
    for (const sub of [...held]) {
      const d = sub.data;
      if (d.status === 'running') {
        this.#attemptFailed(sub, 'agent_exited', `agent ${agentId} exited`, true);
      } else if (d.status === 'assigned') {
        d.assigned_to = null;
        d.assigned_name = null;
        this.#move(sub, 'subtask.unassign');
        this.#touch(sub.task, { kind: 'assigned', subtask_id: d.subtask_id, agent_id: agentId });
        this.#advance(sub);
      }
    }
    this.#drainSettled();
  }

  /** An agent took `role`: ready subtasks waiting for that role are dispatched. */
  roleAvailable(role: string): void {
    const waiting = this.#waitingForRole.get(role);
    if (!waiting) return;
    for (const sub of [...waiting]) this.#advance(sub);
    this.#drainSettled();
  }

  /** The lifecycle actor of a live task, for inspection: read it, drive the task through the engine. */
  lifecycle(taskId: string): AnyActorRef | undefined {
    return this.#live.get(taskId)?.actor;
  }

  /**
   * Moves the lifecycle actors of tasks made before the `tasks` supervisor existed (those
   * loaded at start) under it: an actor's parent is fixed at creation, so each is recreated
   * from its own persisted snapshot, in the same state.
   */
  adoptActors(): void {
    const parent = this.#deps.supervisor?.();
    if (!parent) return;
    for (const taskId of this.#orphans) {
      const task = this.#live.get(taskId);
      if (!task) continue;
      const snapshot = task.actor.getPersistedSnapshot();
      task.actor.stop();
      task.actor = createActor(this.#logic, { id: taskId, input: { taskId }, snapshot, parent }).start();
    }
    this.#orphans.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadlines.close();
    for (const [taskId, waiters] of this.#waiters) {
      for (const waiter of [...waiters]) {
        waiter.cleanup();
        waiter.resolve({ task: this.view(taskId) as TaskView, changed: false });
      }
    }
    this.#store.flush();
    // Only root actors may be stopped directly; those under the supervisor hold no timers and go with it.
    for (const taskId of this.#orphans) this.#live.get(taskId)?.actor.stop();
    this.#orphans.clear();
    this.#live.clear();
    this.#store.onCommitted = null;
    this.#store.close();
  }

  // ---- lifecycle steps ----------------------------------------------------------------

  /** Moves a ready subtask on: picks an agent of its role when it has none, then delivers. */
  #advance(sub: LiveSubtask): void {
    const task = sub.task;
    const d = sub.data;
    if (task.settled || (d.status !== 'pending' && d.status !== 'assigned')) return;
    if (sub.waitingOn > 0 || task.waitingOnTasks > 0 || d.retry_at !== null) return;
    if (d.status === 'assigned' && d.assigned_to === null) {
      // Assigned in a previous run: the agent of the same name, if one is live now.
      const agent = d.assigned_name === null ? undefined : this.#deps.findAgent({ agent_name: d.assigned_name });
      if (agent) {
        d.assigned_to = agent.agent_id;
        this.#hold(agent.agent_id, sub);
      } else {
        d.assigned_name = null;
        this.#move(sub, 'subtask.unassign');
        this.#touch(task, { kind: 'assigned', subtask_id: d.subtask_id, agent_id: null });
      }
    }
    if (d.status === 'pending') {
      if (d.role === null) return; // waits for TASK_ASSIGN
      const role = d.role;
      const pick = pickAgent(this.#deps.agentsWithRole(role), (id) => this.#byAgent.get(id)?.size ?? 0, this.#cursorOf(role), d.avoid);
      if (!pick) {
        let waiting = this.#waitingForRole.get(role);
        if (!waiting) {
          waiting = new Set();
          this.#waitingForRole.set(role, waiting);
        }
        waiting.add(sub);
        return;
      }
      this.#cursors.set(role, pick.cursor);
      this.#assignTo(sub, this.#deps.findAgent({ agent_id: pick.agentId }) ?? { agent_id: pick.agentId, name: null }, null);
    }
    this.#deliver(sub);
  }

  #assignTo(sub: LiveSubtask, agent: { agent_id: number; name: string | null }, by: number | null): void {
    const d = sub.data;
    this.#unwaitRole(sub);
    d.assigned_to = agent.agent_id;
    d.assigned_name = agent.name;
    d.avoid = null;
    this.#move(sub, 'subtask.assign');
    this.#hold(agent.agent_id, sub);
    this.#touch(sub.task, { kind: 'assigned', subtask_id: d.subtask_id, agent_id: by ?? agent.agent_id });
  }

  #deliver(sub: LiveSubtask): void {
    const d = sub.data;
    const task = sub.task;
    const agentId = d.assigned_to as number;
    const now = this.#time.now();
    const deadline = d.timeout_ms === null ? null : now + d.timeout_ms;
    const message: TaskAssignedMessage = {
      type: 'task.assigned',
      task_id: task.data.task_id,
      subtask_id: d.subtask_id,
      key: d.key,
      description: d.description,
      ...(d.input !== undefined ? { input: d.input } : {}),
      inputs: this.#inputsOf(sub),
      attempt: d.attempts.length + 1,
      deadline,
    };
    d.attempts.push({ agent_id: agentId, agent_name: d.assigned_name, started_at: now, ended_at: null, outcome: 'running', error: null });
    d.started_at ??= now;
    this.#move(sub, 'subtask.deliver');
    if (!this.#deps.deliver(agentId, message)) {
      this.#attemptFailed(sub, 'failed', `could not deliver to agent ${agentId}: it is gone or its mailbox is full`, true);
      return;
    }
    if (deadline !== null) this.#deadlines.set(`a:${d.subtask_id}`, deadline);
    if (task.data.status === 'pending') this.#sendTask(task, { type: 'task.start' }, null);
    this.#touch(task, { kind: 'running', subtask_id: d.subtask_id, agent_id: agentId });
  }

  #completeSubtask(sub: LiveSubtask, result: unknown, by: number): void {
    const d = sub.data;
    const task = sub.task;
    const now = this.#time.now();
    if (d.status === 'running') this.#endAttempt(sub, 'completed', null);
    this.#release(sub);
    this.#deadlines.clear(`r:${d.subtask_id}`);
    d.result = result;
    d.error = null;
    d.retry_at = null;
    d.ended_at = now;
    this.#move(sub, 'subtask.complete');
    task.data.counts.completed++;
    this.#touch(task, { kind: 'completed', subtask_id: d.subtask_id, agent_id: by });
    if (task.data.counts.completed === task.subtasks.length) {
      const only = task.subtasks.length === 1 && task.subtasks[0]?.data.key === 'main';
      task.data.result = only ? result : Object.fromEntries(task.subtasks.map((s) => [s.data.key, s.data.result]));
      task.data.ended_at = now;
      this.#sendTask(task, { type: 'task.complete' }, { kind: 'completed', agent_id: by });
      return;
    }
    for (const dependent of sub.dependents) {
      dependent.waitingOn--;
      this.#advance(dependent);
    }
  }

  /** The running attempt ended badly: retry (same agent, or another of the role), or fail the subtask and the task. */
  #attemptFailed(sub: LiveSubtask, outcome: AttemptOutcome, error: string, assigneeGone: boolean): void {
    const d = sub.data;
    if (d.status !== 'running') return;
    const failedAgent = d.assigned_to;
    this.#endAttempt(sub, outcome, error);
    this.#release(sub);
    this.#retryOrFail(sub, outcome, error, failedAgent, assigneeGone);
  }

  #retryOrFail(sub: LiveSubtask, outcome: AttemptOutcome, error: string, failedAgent: number | null, assigneeGone: boolean): void {
    const d = sub.data;
    const task = sub.task;
    d.error = error;
    if (!hasRetriesLeft(d.retry, d.attempts.length)) {
      this.#failSubtask(
        sub,
        `${error} (attempt ${d.attempts.length} of ${1 + d.retry.max_retries})`,
        null,
        outcome === 'timed_out' ? 'timed_out' : 'failed',
      );
      return;
    }
    const retryAt = this.#time.now() + backoffMs(d.retry, d.attempts.length);
    d.retry_at = retryAt;
    const reassign = d.retry.reassign && d.role !== null;
    const keep = this.#restoring
      ? !reassign && d.assigned_name !== null
      : !reassign && !assigneeGone && failedAgent !== null && this.#deps.findAgent({ agent_id: failedAgent }) !== undefined;
    if (keep) {
      this.#move(sub, 'subtask.retry');
      if (this.#restoring) d.assigned_to = null;
      else this.#hold(failedAgent as number, sub);
    } else {
      d.assigned_to = null;
      d.assigned_name = null;
      d.avoid = failedAgent;
      this.#move(sub, 'subtask.requeue');
    }
    this.#deadlines.set(`r:${d.subtask_id}`, retryAt);
    this.#touch(task, { kind: outcome === 'timed_out' ? 'timed_out' : 'retrying', subtask_id: d.subtask_id, agent_id: failedAgent });
  }

  #failSubtask(sub: LiveSubtask, error: string, by: number | null, kind: 'failed' | 'timed_out' = 'failed'): void {
    const d = sub.data;
    const task = sub.task;
    this.#release(sub);
    this.#deadlines.clear(`r:${d.subtask_id}`);
    d.error = error;
    d.retry_at = null;
    d.ended_at = this.#time.now();
    this.#move(sub, 'subtask.fail');
    task.data.counts.failed++;
    this.#touch(task, { kind, subtask_id: d.subtask_id, agent_id: by });
    this.#failTask(task, `subtask "${d.key}" failed: ${error}`, 'failed');
  }

  #failTask(task: LiveTask, error: string, kind: 'failed' | 'timed_out'): void {
    if (task.settled) return;
    task.data.error = error;
    this.#sendTask(task, { type: 'task.fail', error }, { kind, agent_id: null });
  }

  /** The machine's cancelUnfinished: every unfinished subtask cancelled, assignees of delivered ones told. */
  #cancelled(task: LiveTask, reason: string): void {
    for (const sub of task.subtasks) {
      const d = sub.data;
      if (isFinalSubtask(d.status)) continue;
      if (d.status === 'running') {
        this.#endAttempt(sub, 'cancelled', reason);
        if (d.assigned_to !== null) {
          // Best effort: an agent that is gone or full has nothing left to stop.
          this.#deps.deliver(d.assigned_to, { type: 'task.cancelled', task_id: task.data.task_id, subtask_id: d.subtask_id, reason });
        }
      }
      this.#release(sub);
      this.#deadlines.clear(`r:${d.subtask_id}`);
      d.retry_at = null;
      d.error = reason;
      d.ended_at = this.#time.now();
      this.#move(sub, 'subtask.cancel');
      this.#cancelledCount++;
      this.#touch(task, { kind: 'cancelled', subtask_id: d.subtask_id, agent_id: d.assigned_to });
    }
  }

  /** Sends to the task's machine; a final state stamps the task (its status is set before entry actions run). */
  #sendTask(
    task: LiveTask,
    event:
      | { type: 'task.start' }
      | { type: 'task.complete' }
      | { type: 'task.fail'; error: string }
      | { type: 'task.cancel'; reason: string },
    change: Omit<TaskChange, 'version' | 'status' | 'subtask_status'> | null,
  ): void {
    if (!task.actor.getSnapshot().can(event)) return;
    const target: Record<typeof event.type, TaskStatus> = {
      'task.start': 'running',
      'task.complete': 'completed',
      'task.fail': 'failed',
      'task.cancel': 'cancelled',
    };
    task.data.status = target[event.type];
    if (event.type !== 'task.start') task.data.ended_at ??= this.#time.now();
    task.actor.send(event);
    if (change) this.#touch(task, change);
    else this.#store.saveTask(task.data);
  }

  /** Final tasks: timers stopped, dependent tasks woken (or failed), the record retired from memory. */
  #drainSettled(): void {
    for (let task = this.#settling.shift(); task; task = this.#settling.shift()) {
      if (task.settled) continue;
      task.settled = true;
      const id = task.data.task_id;
      this.#deadlines.clear(`t:${id}`);
      this.#live.delete(id);
      this.#orphans.delete(id);
      const dependents = this.#dependentTasks.get(id);
      this.#dependentTasks.delete(id);
      for (const dependent of dependents ?? []) {
        if (dependent.settled) continue;
        if (task.data.status !== 'completed') {
          this.#failTask(dependent, `depends on ${id}, which ${task.data.status === 'failed' ? 'failed' : 'was cancelled'}`, 'failed');
          continue;
        }
        dependent.waitingOnTasks--;
        if (dependent.waitingOnTasks === 0) for (const sub of dependent.subtasks) this.#advance(sub);
      }
    }
  }

  #deadlineDue(key: string): void {
    const kind = key.slice(0, 2);
    const id = key.slice(2);
    if (kind === 't:') {
      const task = this.#live.get(id);
      if (task) this.#failTask(task, `timed out after ${task.data.timeout_ms} ms`, 'timed_out');
    } else {
      const [taskId, subKey] = splitSubtaskId(id);
      const sub = this.#live.get(taskId)?.byKey.get(subKey);
      if (!sub) return;
      if (kind === 'a:') {
        this.#attemptFailed(sub, 'timed_out', `no TASK_COMPLETE within ${sub.data.timeout_ms} ms`, false);
      } else if (sub.data.retry_at !== null) {
        sub.data.retry_at = null;
        this.#store.saveSubtask(sub.data);
        this.#advance(sub);
      }
    }
    this.#drainSettled();
  }

  // ---- bookkeeping ----------------------------------------------------------------------

  #endAttempt(sub: LiveSubtask, outcome: 'completed' | 'cancelled' | AttemptOutcome, error: string | null): void {
    const attempt = sub.data.attempts[sub.data.attempts.length - 1];
    if (attempt && attempt.outcome === 'running') {
      attempt.outcome = outcome;
      attempt.error = error;
      attempt.ended_at = this.#time.now();
    }
    this.#deadlines.clear(`a:${sub.data.subtask_id}`);
  }

  #move(sub: LiveSubtask, event: SubtaskEventType): void {
    const next = subtaskTransition(sub.data.status, event);
    // The engine checks before it moves; a refused move here is a bug, not bad input.
    if (next === undefined) throw new Error(`subtask ${sub.data.subtask_id}: no ${event} from ${sub.data.status}`);
    sub.data.status = next;
    this.#store.saveSubtask(sub.data);
  }

  #touch(task: LiveTask, change: Omit<TaskChange, 'version' | 'status' | 'subtask_status'>): void {
    const data = task.data;
    data.version++;
    data.updated_at = this.#time.now();
    this.#store.saveTask(data);
    const full = change as TaskChange;
    full.version = data.version;
    full.status = data.status;
    if (change.subtask_id !== undefined) {
      const sub = task.byKey.get(splitSubtaskId(change.subtask_id)[1]);
      if (sub) full.subtask_status = sub.data.status;
    }
    this.#pending.push({ task, change: full });
  }

  /** After each commit: TASK_UPDATED for every change in it, then the long-pollers of the tasks it touched. */
  #publish(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    const views = new Map<LiveTask, TaskView>();
    for (const { task, change } of pending) {
      let view = views.get(task);
      if (!view) {
        view = liveView(task);
        views.set(task, view);
      }
      this.#deps.changed(view, change);
    }
    for (const [task, view] of views) {
      const waiters = this.#waiters.get(task.data.task_id);
      if (!waiters) continue;
      for (const waiter of [...waiters]) {
        if (view.version <= waiter.since) continue;
        waiter.cleanup();
        waiter.resolve({ task: view, changed: true });
      }
    }
  }

  #hold(agentId: number, sub: LiveSubtask): void {
    let held = this.#byAgent.get(agentId);
    if (!held) {
      held = new Set();
      this.#byAgent.set(agentId, held);
    }
    held.add(sub);
  }

  /** Forgets the subtask's agent link and role wait (its fields are the caller's to set). */
  #release(sub: LiveSubtask): void {
    const agentId = sub.data.assigned_to;
    if (agentId !== null) {
      const held = this.#byAgent.get(agentId);
      held?.delete(sub);
      if (held?.size === 0) this.#byAgent.delete(agentId);
    }
    this.#unwaitRole(sub);
  }

  #unwaitRole(sub: LiveSubtask): void {
    const role = sub.data.role;
    if (role === null) return;
    const waiting = this.#waitingForRole.get(role);
    waiting?.delete(sub);
    if (waiting?.size === 0) this.#waitingForRole.delete(role);
  }

  #cursorOf(role: string): number {
    let cursor = this.#cursors.get(role);
    if (cursor === undefined) {
      // A random start, so several kernels' first picks do not all land on the role's first agent.
      cursor = Math.floor(this.#random() * 1024);
      this.#cursors.set(role, cursor);
    }
    return cursor;
  }

  #inputsOf(sub: LiveSubtask): Record<string, unknown> {
    const inputs: Record<string, unknown> = {};
    for (const key of sub.data.depends_on) inputs[key] = sub.task.byKey.get(key)?.data.result;
    return inputs;
  }

  #dependOn(taskId: string, dependent: LiveTask): void {
    let set = this.#dependentTasks.get(taskId);
    if (!set) {
      set = new Set();
      this.#dependentTasks.set(taskId, set);
    }
    set.add(dependent);
  }

  #isCreator(task: LiveTask, caller: TaskCaller): boolean {
    // A previous run's creator id is another agent's now, and its name anyone's to take.
    return !task.previousRun && caller.agent_id === task.data.created_by;
  }

  #mayManage(task: LiveTask, caller: TaskCaller, what: string): void {
    if (caller.admin || this.#isCreator(task, caller)) return;
    if (!task.previousRun && task.data.lineage.includes(caller.agent_id)) return;
    throw new KernelError(
      'PERMISSION_DENIED',
      `task_id: only the creator of ${task.data.task_id} (agent ${task.data.created_by}), an agent that spawned it, or admin may ${what} it`,
      { field: 'task_id' },
    );
  }

  /** The live task, or the error a call on a finished or unknown one gets (NOT_FOUND names the id first). */
  #liveFor(taskId: string, op: string, subField?: string, subRef?: string): LiveTask {
    const live = this.#live.get(taskId);
    if (live) return live;
    const tree = this.#store.load(taskId);
    if (!tree) throw new KernelError('NOT_FOUND', `task_id: no task "${taskId}"`, { field: 'task_id' });
    if (subField !== undefined) {
      const sub = this.#storedSubtaskOf(tree, subRef, subField);
      if (op === 'complete' && isFinalSubtask(sub.status)) {
        throw new KernelError('CONFLICT', `${subField}: ${sub.subtask_id} is already ${sub.status}`, { field: subField });
      }
    }
    throw new KernelError('CONFLICT', `task_id: ${taskId} is already ${tree.task.status}; cannot ${op}`, { field: 'task_id' });
  }

  #subtaskOf(task: LiveTask, ref: string | undefined, field: string): LiveSubtask {
    if (ref === undefined) {
      if (task.subtasks.length === 1) return task.subtasks[0] as LiveSubtask;
      throw new KernelError(
        'INVALID_REQUEST',
        `${field}: expected one of the ${task.subtasks.length} subtasks of ${task.data.task_id} (a key or subtask id)`,
        {
          field,
        },
      );
    }
    const [taskId, key] = splitSubtaskId(ref);
    const sub = taskId === '' || taskId === task.data.task_id ? task.byKey.get(key) : undefined;
    if (!sub) throw new KernelError('NOT_FOUND', `${field}: ${task.data.task_id} has no subtask "${ref}"`, { field });
    return sub;
  }

  #storedSubtaskOf(tree: StoredTaskTree, ref: string | undefined, field: string): StoredSubtask {
    const id = tree.task.task_id;
    if (ref === undefined && tree.subtasks.length === 1) return tree.subtasks[0] as StoredSubtask;
    const [taskId, key] = splitSubtaskId(ref ?? '');
    const sub = taskId === '' || taskId === id ? tree.subtasks.find((s) => s.key === key) : undefined;
    if (!sub) throw new KernelError('NOT_FOUND', `${field}: ${id} has no subtask "${ref ?? ''}"`, { field });
    return sub;
  }

  /** Records → live task with links and its lifecycle actor (not yet dispatched). */
  #adopt(tree: StoredTaskTree, previousRun: boolean): LiveTask {
    const parent = this.#deps.supervisor?.();
    const id = tree.task.task_id;
    const actor = createActor(this.#logic, { id, input: { taskId: id }, ...(parent ? { parent } : {}) });
    if (!parent) this.#orphans.add(id);
    const task: LiveTask = { data: tree.task, subtasks: [], byKey: new Map(), actor, waitingOnTasks: 0, previousRun, settled: false };
    for (const data of tree.subtasks) {
      const sub: LiveSubtask = { data, task, dependents: [], waitingOn: 0 };
      task.subtasks.push(sub);
      task.byKey.set(data.key, sub);
    }
    for (const sub of task.subtasks) {
      for (const key of sub.data.depends_on) {
        const dep = task.byKey.get(key);
        if (!dep || dep.data.status === 'completed') continue;
        dep.dependents.push(sub);
        sub.waitingOn++;
      }
    }
    this.#live.set(id, task);
    actor.start();
    if (tree.task.status === 'running') actor.send({ type: 'task.start' });
    return task;
  }

  #load(): void {
    const trees = this.#store.loadUnfinished();
    const tasks = trees.map((tree) => this.#adopt(tree, true));
    this.#restoring = true;
    try {
      for (const task of tasks) {
        for (const depId of task.data.depends_on) {
          const dep = this.#live.get(depId);
          const status = dep ? dep.data.status : this.#store.loadTask(depId)?.status;
          if (status === 'completed') continue;
          if (status === 'pending' || status === 'running') {
            task.waitingOnTasks++;
            this.#dependOn(depId, task);
          } else {
            this.#failTask(task, `depends on ${depId}, which ${status === 'failed' ? 'failed' : 'was cancelled'}`, 'failed');
          }
        }
        if (task.data.deadline !== null) this.#deadlines.set(`t:${task.data.task_id}`, task.data.deadline);
        for (const sub of task.subtasks) {
          const d = sub.data;
          if (d.status === 'running') {
            this.#endAttempt(sub, 'agent_exited', 'the kernel restarted');
            this.#retryOrFail(sub, 'agent_exited', 'the kernel restarted', null, true);
          } else if (d.status === 'assigned') {
            // Resolved by name when dispatched (see the header).
            d.assigned_to = null;
            this.#store.saveSubtask(d);
          }
          if (d.retry_at !== null && !isFinalSubtask(d.status)) this.#deadlines.set(`r:${d.subtask_id}`, d.retry_at);
        }
      }
    } finally {
      this.#restoring = false;
    }
    this.#drainSettled();
    for (const task of tasks) for (const sub of task.subtasks) this.#advance(sub);
    this.#drainSettled();
  }

  #open(): void {
    if (this.#closed) throw new KernelError('UNAVAILABLE', 'the task engine is closed');
  }
}
