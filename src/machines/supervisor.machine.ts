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
import { type ActorRefFrom, assign, emit, enqueueActions, setup } from 'xstate';
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

export interface SupervisorContext {
  name: string;
  agentId: number;
  flags: SupervisorFlags;
  children: ChildEntry[];
  intensity: RestartIntensity;
  random: () => number;
  /** Children still to stop, in order; the head is the one being waited for. */
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
  | { type: 'supervisor.stop' };

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
  const index = context.children.findIndex((child) => child.childId === exited.childId);
  const child = context.children[index];
  if (child === undefined) return { kind: 'unknown' };
  if (child.removing) return { kind: 'removing' };
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
    childWindowExceeded: decisionIs('childEscalates'),
    intensityExceeded: decisionIs('escalate'),
    isRestart: decisionIs('restart'),
    isAwaitedChild: ({ context, event }) => event.type === 'child.exited' && context.stopQueue[0] === event.childId,
    stopQueueEmpty: ({ context }) => context.stopQueue.length === 0,
  },
  actions: {
    spawnInitialChildren: assign({
      children: ({ context, spawn }) =>
        context.children.map((child) => ({ ...child, ref: spawn('agent', { id: child.childId, input: slotInput(child) }) })),
    }),
    announceInitialChildren: enqueueActions(({ context, enqueue }) => {
      for (const child of context.children) {
        enqueue.emit({ type: 'supervisor.childSpawned', agentId: child.agentId, childId: child.childId, ref: child.ref });
      }
    }),
    addChild: assign({
      children: ({ context, event, spawn }) => {
        if (event.type !== 'supervisor.startChild') return context.children;
        const child = event.child;
        return [...context.children, entryOf(child, spawn('agent', { id: child.childId, input: slotInput(child) }))];
      },
    }),
    announceNewChild: emit(({ context }) => {
      const child = context.children[context.children.length - 1] as ChildEntry;
      return { type: 'supervisor.childSpawned' as const, agentId: child.agentId, childId: child.childId, ref: child.ref };
    }),
    markRemoving: assign({
      children: ({ context, event }) =>
        context.children.map((child) =>
          event.type === 'supervisor.terminateChild' && child.childId === event.childId ? { ...child, removing: true } : child,
        ),
    }),
    stopRemovedChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'supervisor.terminateChild') return;
      const child = context.children.find((c) => c.childId === event.childId);
      if (child) enqueue.sendTo(child.ref, { type: 'agent.stop', signal: event.signal, graceMs: event.graceMs });
    }),
    /** Terminate the exited child's slot and drop it from the list. */
    dropExitedChild: enqueueActions(({ context, event, enqueue }, params: { why: 'not_restarted' | 'terminated' | 'escalated' }) => {
      if (event.type !== 'child.exited') return;
      const child = context.children.find((c) => c.childId === event.childId);
      if (!child) return;
      enqueue.stopChild(child.ref);
      enqueue.assign({ children: ({ context: c }) => c.children.filter((entry) => entry.childId !== event.childId) });
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
      const failed = context.children.find((c) => c.childId === event.childId) as ChildEntry;
      if (failed.ownWindow) failed.ownWindow.record(now);
      else context.intensity.record(now);
      // A child that stayed up long enough starts its backoff over.
      const attempt = event.uptimeMs >= failed.backoff.reset_after_ms ? 0 : failed.attempt;
      const delay = backoffDelay(attempt, failed.backoff, context.random);
      enqueue.assign({
        children: ({ context: c }) =>
          c.children.map((child) => (child.childId === failed.childId ? { ...child, attempt: attempt + 1 } : child)),
        stopQueue: decision.stop,
        startQueue: decision.start,
        startDelayMs: delay,
      });
    }),
    stopHeadOfQueue: enqueueActions(({ context, enqueue }) => {
      const head = context.stopQueue[0];
      const child = context.children.find((c) => c.childId === head);
      if (child) enqueue.sendTo(child.ref, { type: 'agent.stop' });
    }),
    popStopQueue: assign({ stopQueue: ({ context }) => context.stopQueue.slice(1) }),
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
      for (const child of context.children) {
        if (child.restart === 'temporary' && !restarting.has(child.childId) && child.ref.getSnapshot().matches('exited')) {
          enqueue.stopChild(child.ref);
          enqueue.emit({ type: 'supervisor.childRemoved', agentId: child.agentId, childId: child.childId, why: 'terminated' });
        }
      }
      enqueue.assign({
        children: ({ context: c }) =>
          c.children.filter(
            (child) => !(child.restart === 'temporary' && !restarting.has(child.childId) && child.ref.getSnapshot().matches('exited')),
          ),
      });
    }),
    deferExit: assign({ deferred: ({ context, event }) => [...context.deferred, event as ChildExited] }),
    replayDeferred: enqueueActions(({ context, enqueue }) => {
      for (const exited of context.deferred) enqueue.raise(exited);
      enqueue.assign({ deferred: [] });
    }),
    queueAllForShutdown: assign({
      // Reverse start order; children already down answer the stop at once.
      stopQueue: ({ context }) => context.children.map((child) => child.childId).reverse(),
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
    intensity: RestartIntensity.fromFlags(input.flags),
    random: input.random ?? Math.random,
    stopQueue: [],
    startQueue: [],
    startDelayMs: 0,
    deferred: [],
    escalation: null,
  }),
  entry: ['spawnInitialChildren', 'announceInitialChildren'],
  initial: 'supervising',
  states: {
    supervising: {
      entry: 'replayDeferred',
      on: {
        'child.exited': [
          { guard: 'isUnknownChild' },
          { guard: 'isBeingRemoved', actions: { type: 'dropExitedChild', params: { why: 'terminated' } } },
          { guard: 'isNotRestarted', actions: { type: 'dropExitedChild', params: { why: 'not_restarted' } } },
          { guard: 'childWindowExceeded', actions: ['emitChildEscalated', { type: 'dropExitedChild', params: { why: 'escalated' } }] },
          { guard: 'intensityExceeded', target: 'escalating', actions: 'recordEscalation' },
          { guard: 'isRestart', target: 'restarting', actions: 'planRestart' },
        ],
        'supervisor.startChild': { actions: ['addChild', 'announceNewChild'] },
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
        'supervisor.startChild': { actions: ['addChild', 'announceNewChild'] },
        'supervisor.terminateChild': { actions: ['markRemoving', 'stopRemovedChild'] },
        'supervisor.stop': 'shuttingDown',
      },
    },
    // One tick's pause: the last stopped child is still finishing its own transition, and a
    // restart it received now would be handled after its siblings', breaking start order.
    restarted: {
      after: { 0: { target: 'supervising', actions: ['dropStoppedTemporaries', 'restartQueued'] } },
      on: { 'child.exited': { actions: 'deferExit' } },
    },
    escalating: {
      entry: ['emitEscalated', 'queueAllForShutdown'],
      initial: 'next',
      states: {
        next: {
          always: [{ guard: 'stopQueueEmpty', target: '#supervisor.escalated' }],
          entry: 'stopHeadOfQueue',
          on: { 'child.exited': { guard: 'isAwaitedChild', target: 'next', reenter: true, actions: 'popStopQueue' } },
        },
      },
    },
    shuttingDown: {
      entry: 'queueAllForShutdown',
      initial: 'next',
      states: {
        next: {
          always: [{ guard: 'stopQueueEmpty', target: '#supervisor.stopped' }],
          entry: 'stopHeadOfQueue',
          on: { 'child.exited': { guard: 'isAwaitedChild', target: 'next', reenter: true, actions: 'popStopQueue' } },
        },
      },
    },
    escalated: { type: 'final' },
    stopped: { type: 'final' },
  },
  output: ({ context }) => (context.escalation ? { escalated: true, reason: context.escalation.reason } : { escalated: false }),
});

function entryOf(child: SupervisedChild, ref: ActorRefFrom<typeof agentMachine>): ChildEntry {
  return {
    ...child,
    ref,
    attempt: 0,
    ownWindow: child.window ? new RestartIntensity(child.window.intensity, child.window.period * 1000) : null,
    removing: false,
  };
}
