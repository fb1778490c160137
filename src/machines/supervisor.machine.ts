/**
 * An OTP supervisor as a pure machine. Children are agent-machine actors kept in
 * start order. When one exits, `restartPlan` (strategy and restart type) and the
 * restart intensity decide: restart it (and, by strategy, its siblings: stopped in
 * reverse order, started again in order), forget it, or give up: stop every child in
 * reverse order and end `escalated`, so the parent decides.
 *
 * Beyond OTP: a dynamic child may carry its own intensity window (SPAWN's
 * max_restarts / restart_window). Breaching it ends that child alone, escalated,
 * without counting against the supervisor's window.
 */
import { type ActorRefFrom, type AnyActor, type AnyActorRef, and, assign, createActor, emit, enqueueActions, setup } from 'xstate';
import { backoffDelay } from '../supervision/backoff.js';
import { restartPlan } from '../supervision/decisions.js';
import type { ExitReason } from '../supervision/exit-reason.js';
import { RestartIntensity } from '../supervision/intensity.js';
import type { Backoff, RestartType, Shutdown, SupervisorFlags } from '../supervision/spec.js';
import { type AgentSlotInput, agentMachine, type ChildExited } from './agent.machine.js';

export interface SupervisedChild {
  childId: string;
  agentId: number;
  type: 'worker' | 'supervisor';
  restart: RestartType;
  shutdown: Shutdown;
  backoff: Backoff;
  launch: unknown;
  /** Its ending by itself may end the supervisor (OTP's auto_shutdown). */
  significant?: boolean;
  /** Own window (intensity, period in seconds), for dynamic children such as spawned agents. */
  window?: { intensity: number; period: number };
}

interface ChildEntry extends SupervisedChild {
  ref: ActorRefFrom<typeof agentMachine>;
  attempt: number;
  ownWindow: RestartIntensity | null;
  /** Asked to stop for good (KILL): its exit is final whatever its restart type. */
  removing: boolean;
}

export interface SupervisorInput {
  name: string;
  agentId: number;
  flags: SupervisorFlags;
  children: SupervisedChild[];
  random?: () => number;
}

/*
 * Performance note: a supervisor may hold 10,000 dynamic children, so `children`,
 * `byId` and `stopQueue` are updated in place by the actions below instead of being
 * copied on every change (a copy per spawn or stop makes the whole thing quadratic).
 * Nothing reads old snapshots of them.
 */
export interface SupervisorContext {
  name: string;
  agentId: number;
  flags: SupervisorFlags;
  /** In start order. */
  children: ChildEntry[];
  byId: Map<string, ChildEntry>;
  intensity: RestartIntensity;
  random: () => number;
  /** Children still to stop, the next one LAST (so taking it is a pop). */
  stopQueue: string[];
  /** Children to restart once the stops are done, in start order, and the delay. */
  startQueue: string[];
  startDelayMs: number;
  /** Exits that arrived while a restart was under way, handled after it. */
  deferred: ChildExited[];
  escalation: { childId: string; reason: ExitReason } | null;
}

export type SupervisorEvent =
  | ChildExited
  | { type: 'supervisor.startChild'; child: SupervisedChild }
  | { type: 'supervisor.terminateChild'; childId: string; signal?: NodeJS.Signals; graceMs?: number }
  | { type: 'supervisor.stop' }
  /** Stop every child at once, no ordered shutdown (SIGKILL of a subtree, a stuck kernel shutdown). */
  | { type: 'supervisor.hardStop' };

export type SupervisorEmitted =
  | { type: 'supervisor.childSpawned'; agentId: number; childId: string; ref: ActorRefFrom<typeof agentMachine> }
  | { type: 'supervisor.childRemoved'; agentId: number; childId: string; why: 'not_restarted' | 'terminated' | 'escalated' }
  | { type: 'supervisor.escalated'; agentId: number; name: string; childId: string; reason: ExitReason };

export interface SupervisorOutput {
  escalated: boolean;
  reason?: ExitReason;
}

type ExitDecision =
  | { kind: 'unknown' }
  | { kind: 'removing' }
  | { kind: 'forget' }
  | { kind: 'childEscalates' }
  | { kind: 'escalate' }
  | { kind: 'restart'; stop: string[]; start: string[] };

/** What to do about one exit: the one place the machine consults the pure decisions. */
function decideExit(context: SupervisorContext, exited: ChildExited, now: number): ExitDecision {
  const child = context.byId.get(exited.childId);
  if (child === undefined) return { kind: 'unknown' };
  if (child.removing) return { kind: 'removing' };
  const index = context.children.indexOf(child);
  const plan = restartPlan(
    context.flags.strategy,
    context.children.map((c) => ({ id: c.childId, restart: c.restart })),
    index,
    exited.reason,
  );
  if (plan.start.length === 0) return { kind: 'forget' };
  if (child.ownWindow) {
    if (child.ownWindow.wouldExceed(now)) return { kind: 'childEscalates' };
  } else if (context.intensity.wouldExceed(now)) {
    return { kind: 'escalate' };
  }
  const idOf = (i: number) => (context.children[i] as ChildEntry).childId;
  return { kind: 'restart', stop: plan.stop.map(idOf), start: plan.start.map(idOf) };
}

const decisionIs =
  (kind: ExitDecision['kind']) =>
  ({ context, event }: { context: SupervisorContext; event: SupervisorEvent }) =>
    event.type === 'child.exited' && decideExit(context, event, Date.now()).kind === kind;

function slotInput(child: SupervisedChild): AgentSlotInput {
  return { agentId: child.agentId, childId: child.childId, launch: child.launch, shutdown: child.shutdown };
}

/**
 * A child slot actor, parented to the supervisor but kept out of XState's `children`
 * map: that map is copied on every spawn and stop, which makes a supervisor of 10,000
 * dynamic children quadratic. The slot logic is the one provided for `agent`; the
 * supervisor starts and stops its slots itself (stopping one only copies that small map).
 */
function createSlot(self: AnyActorRef, child: SupervisedChild): ActorRefFrom<typeof agentMachine> {
  const logic = ((self as AnyActor).logic.implementations?.actors?.agent ?? agentMachine) as typeof agentMachine;
  return createActor(logic, { parent: self, id: child.childId, input: slotInput(child) });
}

/**
 * Stop the children in `stopQueue` one at a time, each waited for (its shutdown budget
 * bounds the wait), then go to `target`. Restarts, escalation and shutdown all use it.
 */
function stopEachInTurnThen(target: string) {
  return {
    initial: 'next' as const,
    states: {
      next: {
        always: [{ guard: 'stopQueueEmpty' as const, target }],
        entry: 'stopHeadOfQueue' as const,
        on: { 'child.exited': { guard: 'isAwaitedChild' as const, target: 'next', reenter: true, actions: 'popStopQueue' as const } },
      },
    },
  };
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
    emitted: {} as SupervisorEmitted,
    output: {} as SupervisorOutput,
  },
  actors: { agent: agentMachine },
  guards: {
    isUnknownChild: decisionIs('unknown'),
    isBeingRemoved: decisionIs('removing'),
    isNotRestarted: decisionIs('forget'),
    /**
     * OTP's auto_shutdown: a significant child that ended by itself (and is not restarted)
     * ends the supervisor, at once (any_significant) or once no significant child is left.
     */
    endsSupervisor: ({ context, event }) => {
      if (event.type !== 'child.exited' || context.flags.auto_shutdown === 'never') return false;
      const child = context.byId.get(event.childId);
      if (!child?.significant || event.reason.kind === 'shutdown') return false;
      if (context.flags.auto_shutdown === 'any_significant') return true;
      return !context.children.some((other) => other !== child && other.significant);
    },
    childWindowExceeded: decisionIs('childEscalates'),
    intensityExceeded: decisionIs('escalate'),
    isRestart: decisionIs('restart'),
    isAwaitedChild: ({ context, event }) =>
      event.type === 'child.exited' && context.stopQueue[context.stopQueue.length - 1] === event.childId,
    stopQueueEmpty: ({ context }) => context.stopQueue.length === 0,
  },
  actions: {
    spawnInitialChildren: assign(({ context, self }) => {
      const children = context.children.map((child) => ({ ...child, ref: createSlot(self, child) }));
      return { children, byId: new Map(children.map((child) => [child.childId, child])) };
    }),
    startInitialChildren: enqueueActions(({ context, enqueue }) => {
      for (const child of context.children) {
        enqueue.emit({ type: 'supervisor.childSpawned', agentId: child.agentId, childId: child.childId, ref: child.ref });
        enqueue(() => child.ref.start());
      }
    }),
    addChild: assign({
      children: ({ context, event, self }) => {
        if (event.type !== 'supervisor.startChild' || context.byId.has(event.child.childId)) return context.children;
        const entry = entryOf(event.child, createSlot(self, event.child));
        context.children.push(entry);
        context.byId.set(entry.childId, entry);
        return context.children;
      },
    }),
    startNewChild: enqueueActions(({ context, enqueue }) => {
      const child = context.children[context.children.length - 1] as ChildEntry;
      enqueue.emit({ type: 'supervisor.childSpawned', agentId: child.agentId, childId: child.childId, ref: child.ref });
      enqueue(() => child.ref.start());
    }),
    /** Every slot still held is stopped when the supervisor ends (its run actors clean up). */
    stopAllSlots: enqueueActions(({ context, enqueue }) => {
      for (const child of context.children) enqueue.stopChild(child.ref);
    }),
    markRemoving: assign({
      children: ({ context, event }) => {
        const child = event.type === 'supervisor.terminateChild' ? context.byId.get(event.childId) : undefined;
        if (child) child.removing = true;
        return context.children;
      },
    }),
    stopRemovedChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'supervisor.terminateChild') return;
      const child = context.byId.get(event.childId);
      if (child) enqueue.sendTo(child.ref, { type: 'agent.stop', signal: event.signal, graceMs: event.graceMs });
    }),
    /** Terminate the exited child's slot and drop it from the list. */
    dropExitedChild: enqueueActions(({ context, event, enqueue }, params: { why: 'not_restarted' | 'terminated' | 'escalated' }) => {
      if (event.type !== 'child.exited') return;
      const child = context.byId.get(event.childId);
      if (!child) return;
      enqueue.stopChild(child.ref);
      enqueue.assign({ children: ({ context: c }) => removeEntry(c, child) });
      enqueue.emit({ type: 'supervisor.childRemoved', agentId: child.agentId, childId: child.childId, why: params.why });
    }),
    emitChildEscalated: emit(({ context, event }) => {
      const exited = event as ChildExited;
      return {
        type: 'supervisor.escalated' as const,
        agentId: exited.agentId,
        name: context.name,
        childId: exited.childId,
        reason: exited.reason,
      };
    }),
    planRestart: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'child.exited') return;
      const now = Date.now();
      const decision = decideExit(context, event, now);
      if (decision.kind !== 'restart') return;
      const failed = context.byId.get(event.childId) as ChildEntry;
      if (failed.ownWindow) failed.ownWindow.record(now);
      else context.intensity.record(now);
      // A child that stayed up long enough starts its backoff over.
      const attempt = event.uptimeMs >= failed.backoff.reset_after_ms ? 0 : failed.attempt;
      const delay = backoffDelay(attempt, failed.backoff, context.random);
      failed.attempt = attempt + 1;
      enqueue.assign({
        // `decision.stop` is in stop order; the queue keeps the next one last.
        stopQueue: [...decision.stop].reverse(),
        startQueue: decision.start,
        startDelayMs: delay,
      });
    }),
    stopHeadOfQueue: enqueueActions(({ context, enqueue }) => {
      const head = context.stopQueue[context.stopQueue.length - 1];
      const child = head === undefined ? undefined : context.byId.get(head);
      if (child) enqueue.sendTo(child.ref, { type: 'agent.stop' });
    }),
    popStopQueue: assign({
      stopQueue: ({ context }) => {
        context.stopQueue.pop();
        return context.stopQueue;
      },
    }),
    restartQueued: enqueueActions(({ context, enqueue }) => {
      const stopped = new Set(context.startQueue);
      for (const child of context.children) {
        if (stopped.has(child.childId)) enqueue.sendTo(child.ref, { type: 'agent.restart', delayMs: context.startDelayMs });
      }
      enqueue.assign({ startQueue: [], startDelayMs: 0 });
    }),
    /** Temporary siblings stopped on another child's account are not started again (OTP). */
    dropStoppedTemporaries: enqueueActions(({ context, enqueue }) => {
      const restarting = new Set(context.startQueue);
      const dropped = context.children.filter(
        (child) => child.restart === 'temporary' && !restarting.has(child.childId) && child.ref.getSnapshot().matches('exited'),
      );
      for (const child of dropped) {
        enqueue.stopChild(child.ref);
        enqueue.emit({ type: 'supervisor.childRemoved', agentId: child.agentId, childId: child.childId, why: 'terminated' });
      }
      if (dropped.length > 0) {
        enqueue.assign({ children: ({ context: c }) => dropped.reduce((_, child) => removeEntry(c, child), c.children) });
      }
    }),
    deferExit: assign({ deferred: ({ context, event }) => [...context.deferred, event as ChildExited] }),
    replayDeferred: enqueueActions(({ context, enqueue }) => {
      for (const exited of context.deferred) enqueue.raise(exited);
      enqueue.assign({ deferred: [] });
    }),
    queueAllForShutdown: assign({
      // Reverse start order (the queue keeps the next one last: the last started);
      // children already down answer the stop at once.
      stopQueue: ({ context }) => context.children.map((child) => child.childId),
      startQueue: [],
    }),
    recordEscalation: assign({
      escalation: ({ event }) => (event.type === 'child.exited' ? { childId: event.childId, reason: event.reason } : null),
    }),
    emitEscalated: emit(({ context }) => ({
      type: 'supervisor.escalated' as const,
      agentId: context.agentId,
      name: context.name,
      childId: context.escalation?.childId ?? '',
      reason: context.escalation?.reason ?? { kind: 'crash' as const, error: 'restart intensity exceeded' },
    })),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    name: input.name,
    agentId: input.agentId,
    flags: input.flags,
    children: input.children.map((child) => entryOf(child, undefined as unknown as ActorRefFrom<typeof agentMachine>)),
    byId: new Map(),
    intensity: RestartIntensity.fromFlags(input.flags),
    random: input.random ?? Math.random,
    stopQueue: [],
    startQueue: [],
    startDelayMs: 0,
    deferred: [],
    escalation: null,
  }),
  entry: ['spawnInitialChildren', 'startInitialChildren'],
  initial: 'supervising',
  on: { 'supervisor.hardStop': '.stopped' },
  states: {
    supervising: {
      entry: 'replayDeferred',
      on: {
        'child.exited': [
          { guard: 'isUnknownChild' },
          { guard: 'isBeingRemoved', actions: { type: 'dropExitedChild', params: { why: 'terminated' } } },
          {
            guard: and(['isNotRestarted', 'endsSupervisor']),
            target: 'shuttingDown',
            actions: { type: 'dropExitedChild', params: { why: 'not_restarted' } },
          },
          { guard: 'isNotRestarted', actions: { type: 'dropExitedChild', params: { why: 'not_restarted' } } },
          { guard: 'childWindowExceeded', actions: ['emitChildEscalated', { type: 'dropExitedChild', params: { why: 'escalated' } }] },
          { guard: 'intensityExceeded', target: 'escalating', actions: 'recordEscalation' },
          { guard: 'isRestart', target: 'restarting', actions: 'planRestart' },
        ],
        'supervisor.startChild': { actions: ['addChild', 'startNewChild'] },
        'supervisor.terminateChild': { actions: ['markRemoving', 'stopRemovedChild'] },
        'supervisor.stop': 'shuttingDown',
      },
    },
    restarting: {
      initial: 'next',
      states: {
        next: {
          always: [{ guard: 'stopQueueEmpty', target: '#supervisor.restarted' }],
          entry: 'stopHeadOfQueue',
          on: {
            'child.exited': [{ guard: 'isAwaitedChild', target: 'next', reenter: true, actions: 'popStopQueue' }, { actions: 'deferExit' }],
          },
        },
      },
      on: {
        'supervisor.startChild': { actions: ['addChild', 'startNewChild'] },
        'supervisor.terminateChild': { actions: ['markRemoving', 'stopRemovedChild'] },
        'supervisor.stop': 'shuttingDown',
      },
    },
    // One tick's pause: the last stopped child is still finishing its own transition, and a
    // restart it received now would be handled after its siblings', breaking start order.
    restarted: {
      after: { 0: { target: 'supervising', actions: ['dropStoppedTemporaries', 'restartQueued'] } },
      on: {
        'child.exited': { actions: 'deferExit' },
        // Not dropped for being a tick late: a SPAWN, KILL or shutdown arriving now is handled as in `restarting`.
        'supervisor.startChild': { actions: ['addChild', 'startNewChild'] },
        'supervisor.terminateChild': { actions: ['markRemoving', 'stopRemovedChild'] },
        'supervisor.stop': 'shuttingDown',
      },
    },
    escalating: {
      entry: ['emitEscalated', 'queueAllForShutdown'],
      ...stopEachInTurnThen('#supervisor.escalated'),
    },
    shuttingDown: {
      entry: 'queueAllForShutdown',
      ...stopEachInTurnThen('#supervisor.stopped'),
    },
    escalated: { type: 'final', entry: 'stopAllSlots' },
    stopped: { type: 'final', entry: 'stopAllSlots' },
  },
  output: ({ context }) => (context.escalation ? { escalated: true, reason: context.escalation.reason } : { escalated: false }),
});

/** Drop one child from the ordered list and the index (in place, see the note on SupervisorContext). */
function removeEntry(context: SupervisorContext, child: ChildEntry): ChildEntry[] {
  context.byId.delete(child.childId);
  const index = context.children.indexOf(child);
  if (index >= 0) context.children.splice(index, 1);
  return context.children;
}

function entryOf(child: SupervisedChild, ref: ActorRefFrom<typeof agentMachine>): ChildEntry {
  return {
    ...child,
    ref,
    attempt: 0,
    ownWindow: child.window ? new RestartIntensity(child.window.intensity, child.window.period * 1000) : null,
    removing: false,
  };
}

/**
 * Stop a supervisor at once (no ordered shutdown), with every slot it holds: its slots
 * are not in XState's children map, so only the supervisor itself can stop them.
 */
export function hardStop(supervisor: AnyActorRef): void {
  if (supervisor.getSnapshot()?.status === 'active') supervisor.send({ type: 'supervisor.hardStop' });
}
