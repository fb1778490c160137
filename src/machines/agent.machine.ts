/**
 * One supervised child's lifecycle: starting → running ⇄ paused → stopping → exited,
 * then, when its supervisor says so, restarting (a backoff delay) and starting again,
 * or terminated for good. The child's work (a process, an actor, a worker thread, a
 * nested supervisor) is the invoked `run` actor, provided by src/actors; this machine
 * only says when to start, signal and stop it.
 */
import { assign, emit, fromCallback, sendParent, sendTo, setup } from 'xstate';
import { type ExitReason, exitReasonOf } from '../supervision/exit-reason.js';
import type { Shutdown } from '../supervision/spec.js';

/** What the `run` actor reports back. */
export type RunEvent =
  | { type: 'run.started'; pid: number | null }
  | { type: 'run.exited'; exitCode: number | null; signal: string | null; error?: string };

/** What the machine sends the `run` actor. */
export type RunCommand = { type: 'run.signal'; signal: NodeJS.Signals };

export interface RunInput {
  agentId: number;
  childId: string;
  /** Opaque to the machine: what to run (script, logic, worker file, supervisor spec). */
  launch: unknown;
  /** How many restarts came before this run. */
  restarts: number;
}

export interface AgentSlotInput {
  agentId: number;
  childId: string;
  launch: unknown;
  shutdown: Shutdown;
}

export interface LastExit {
  exitCode: number | null;
  signal: string | null;
  error?: string;
  reason: ExitReason;
  uptimeMs: number;
}

export interface AgentSlotContext extends AgentSlotInput {
  pid: number | null;
  restarts: number;
  startedAt: number | null;
  stopRequested: boolean;
  /** The signal a stop sends first (KILL may ask for another). */
  stopSignal: NodeJS.Signals;
  /** Overrides `shutdown` for one stop (KILL's grace_ms). */
  stopGraceMs: number | null;
  restartDelayMs: number;
  lastExit: LastExit | null;
}

export type AgentSlotEvent =
  | RunEvent
  | { type: 'agent.pause' }
  | { type: 'agent.resume' }
  | { type: 'agent.stop'; signal?: NodeJS.Signals; graceMs?: number }
  | { type: 'agent.restart'; delayMs: number }
  | { type: 'agent.terminate' };

/** Sent to the supervisor when the child has exited and waits for its decision. */
export interface ChildExited {
  type: 'child.exited';
  childId: string;
  agentId: number;
  reason: ExitReason;
  uptimeMs: number;
}

/** Emitted for observers (the kernel turns these into AGENT_* events). */
export type AgentSlotEmitted =
  | { type: 'agent.started'; agentId: number; pid: number | null; restarts: number }
  | { type: 'agent.exited'; agentId: number; exit: LastExit }
  | { type: 'agent.paused'; agentId: number }
  | { type: 'agent.resumed'; agentId: number }
  | { type: 'agent.restarting'; agentId: number; restarts: number; delayMs: number }
  | { type: 'agent.terminated'; agentId: number };

const notProvided = fromCallback<RunCommand, RunInput>(() => {
  throw new Error('agent machine: the "run" actor was not provided');
});

function shutdownGrace(context: AgentSlotContext): number | 'infinity' {
  if (context.stopGraceMs !== null) return context.stopGraceMs;
  if (context.shutdown === 'brutal_kill') return 0;
  return context.shutdown;
}

export const agentMachine = setup({
  types: {
    context: {} as AgentSlotContext,
    input: {} as AgentSlotInput,
    events: {} as AgentSlotEvent,
    emitted: {} as AgentSlotEmitted,
  },
  actors: { run: notProvided },
  delays: {
    shutdownGrace: ({ context }) => {
      const grace = shutdownGrace(context);
      return grace === 'infinity' ? 2 ** 31 - 1 : grace;
    },
    restartDelay: ({ context }) => context.restartDelayMs,
  },
  guards: {
    hasFiniteGrace: ({ context }) => shutdownGrace(context) !== 'infinity',
    brutalKill: ({ context }) => shutdownGrace(context) === 0,
    noRestartDelay: ({ context }) => context.restartDelayMs === 0,
  },
  actions: {
    recordStart: assign({
      pid: ({ event }) => (event.type === 'run.started' ? event.pid : null),
      startedAt: () => Date.now(),
      stopRequested: false,
      stopSignal: 'SIGTERM' as NodeJS.Signals,
      stopGraceMs: null,
    }),
    recordStopRequest: assign({
      stopRequested: true,
      stopSignal: ({ event, context }) => (event.type === 'agent.stop' && event.signal ? event.signal : context.stopSignal),
      stopGraceMs: ({ event, context }) =>
        event.type === 'agent.stop' && event.graceMs !== undefined ? event.graceMs : context.stopGraceMs,
    }),
    recordExit: assign({
      lastExit: ({ context, event }) => {
        const exited = event.type === 'run.exited' ? event : { exitCode: null, signal: null, error: 'the run actor failed' };
        return {
          exitCode: exited.exitCode,
          signal: exited.signal,
          ...(exited.error !== undefined && { error: exited.error }),
          reason: exitReasonOf({ ...exited, stopRequested: context.stopRequested }),
          uptimeMs: context.startedAt === null ? 0 : Date.now() - context.startedAt,
        };
      },
      pid: null,
    }),
    recordStopWhileDown: assign({
      stopRequested: true,
      lastExit: ({ context }) => ({
        exitCode: context.lastExit?.exitCode ?? null,
        signal: context.lastExit?.signal ?? null,
        reason: { kind: 'shutdown' as const },
        uptimeMs: 0,
      }),
    }),
    scheduleRestart: assign({
      restartDelayMs: ({ event }) => (event.type === 'agent.restart' ? Math.max(0, event.delayMs) : 0),
      restarts: ({ context }) => context.restarts + 1,
    }),
    sendStopSignal: sendTo('run', ({ context }): RunCommand => ({ type: 'run.signal', signal: context.stopSignal })),
    // A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
    sendContinue: sendTo('run', { type: 'run.signal', signal: 'SIGCONT' } satisfies RunCommand),
    sendKill: sendTo('run', { type: 'run.signal', signal: 'SIGKILL' } satisfies RunCommand),
    sendPause: sendTo('run', { type: 'run.signal', signal: 'SIGSTOP' } satisfies RunCommand),
    reportExit: sendParent(
      ({ context }): ChildExited => ({
        type: 'child.exited',
        childId: context.childId,
        agentId: context.agentId,
        reason: context.lastExit?.reason ?? { kind: 'shutdown' },
        uptimeMs: context.lastExit?.uptimeMs ?? 0,
      }),
    ),
    emitStarted: emit(({ context }) => ({
      type: 'agent.started' as const,
      agentId: context.agentId,
      pid: context.pid,
      restarts: context.restarts,
    })),
    emitExited: emit(({ context }) => ({
      type: 'agent.exited' as const,
      agentId: context.agentId,
      exit: context.lastExit as LastExit,
    })),
    emitPaused: emit(({ context }) => ({ type: 'agent.paused' as const, agentId: context.agentId })),
    emitResumed: emit(({ context }) => ({ type: 'agent.resumed' as const, agentId: context.agentId })),
    emitRestarting: emit(({ context }) => ({
      type: 'agent.restarting' as const,
      agentId: context.agentId,
      restarts: context.restarts,
      delayMs: context.restartDelayMs,
    })),
    emitTerminated: emit(({ context }) => ({ type: 'agent.terminated' as const, agentId: context.agentId })),
  },
}).createMachine({
  id: 'agent',
  context: ({ input }) => ({
    ...input,
    pid: null,
    restarts: 0,
    startedAt: null,
    stopRequested: false,
    stopSignal: 'SIGTERM',
    stopGraceMs: null,
    restartDelayMs: 0,
    lastExit: null,
  }),
  initial: 'alive',
  states: {
    alive: {
      invoke: {
        id: 'run',
        src: 'run',
        input: ({ context }) => ({
          agentId: context.agentId,
          childId: context.childId,
          launch: context.launch,
          restarts: context.restarts,
        }),
        onError: { target: 'exited', actions: ['recordExit', 'emitExited', 'reportExit'] },
      },
      on: {
        'run.exited': { target: 'exited', actions: ['recordExit', 'emitExited', 'reportExit'] },
      },
      initial: 'starting',
      states: {
        starting: {
          on: {
            'run.started': { target: 'running', actions: ['recordStart', 'emitStarted'] },
            'agent.stop': { target: 'stopping', actions: 'recordStopRequest' },
          },
        },
        running: {
          on: {
            'agent.pause': { target: 'paused', actions: ['sendPause', 'emitPaused'] },
            'agent.stop': { target: 'stopping', actions: 'recordStopRequest' },
          },
        },
        paused: {
          on: {
            'agent.resume': { target: 'running', actions: ['sendContinue', 'emitResumed'] },
            'agent.stop': { target: 'stopping', actions: 'recordStopRequest' },
          },
        },
        stopping: {
          initial: 'choosing',
          states: {
            // brutal_kill (or grace 0) kills at once, as OTP does: no stop signal first.
            choosing: {
              always: [{ guard: 'brutalKill', target: 'killed' }, { target: 'signalled' }],
            },
            signalled: {
              entry: ['sendStopSignal', 'sendContinue'],
              after: { shutdownGrace: { guard: 'hasFiniteGrace', target: 'killed' } },
            },
            killed: { entry: 'sendKill' },
          },
        },
      },
    },
    exited: {
      on: {
        'agent.restart': { target: 'restarting', actions: 'scheduleRestart' },
        'agent.terminate': 'terminated',
        // Already down: a stop is answered at once so the supervisor's ordered shutdown moves on.
        'agent.stop': { actions: ['recordStopWhileDown', 'reportExit'] },
      },
    },
    restarting: {
      entry: 'emitRestarting',
      // No delay (backoff initial_ms 0) restarts in this step rather than two timer ticks later.
      always: { guard: 'noRestartDelay', target: 'alive' },
      after: { restartDelay: 'alive' },
      on: {
        'agent.stop': { target: 'exited', actions: ['recordStopWhileDown', 'reportExit'] },
        'agent.terminate': 'terminated',
      },
    },
    terminated: { type: 'final', entry: 'emitTerminated' },
  },
});
