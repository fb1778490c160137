/** The JSON statechart: every registered machine exports, and the agent machine's is complete. */

import { describe, expect, it } from 'vitest';
import { and, assign, createMachine, not, setup } from 'xstate';
import { type StatechartJson, type StateJson, statechartOf, statePaths } from '../../src/statecharts/json.js';
import { STATECHARTS } from '../../src/statecharts/registry.js';

function agentChart(): StatechartJson {
  const entry = STATECHARTS.find((machine) => machine.name === 'agent');
  if (!entry) throw new Error('the agent machine is not registered');
  return statechartOf(entry.machine);
}

/** The state at a dot path. */
function stateAt(chart: StateJson, path: string): StateJson {
  let state: StateJson | undefined = chart;
  for (const key of path.split('.')) state = state?.states?.[key];
  if (!state) throw new Error(`no state ${path}`);
  return state;
}

describe('the registry', () => {
  it('lists the kernel, connection, agent, supervisor, world, task, subtask and tunnel machines under unique names', () => {
    const names = STATECHARTS.map((machine) => machine.name);
    expect(names).toEqual(expect.arrayContaining(['kernel', 'connection', 'agent', 'supervisor', 'world', 'task', 'subtask', 'tunnel']));
    expect(new Set(names).size).toBe(names.length);
    for (const machine of STATECHARTS) expect(machine.description.length).toBeGreaterThan(0);
  });
});

describe('statechartOf', () => {
  it.each(STATECHARTS.map((machine) => [machine.name, machine] as const))('exports %s as plain JSON', (_name, entry) => {
    const chart = statechartOf(entry.machine);
    expect(chart.id).toBe(entry.machine.id);
    expect(statePaths(chart).length).toBeGreaterThan(1);
    // Plain data: nothing (functions, undefined) is lost on the way through JSON.
    expect(JSON.parse(JSON.stringify(chart))).toEqual(chart);
    // Stable: a second export is the same text.
    expect(JSON.stringify(statechartOf(entry.machine))).toBe(JSON.stringify(chart));
  });

  it('has every state of the agent machine, with its type', () => {
    const chart = agentChart();
    expect(chart.initial).toBe('alive');
    expect(statePaths(chart)).toEqual(
      expect.arrayContaining(['alive.starting', 'alive.running', 'alive.paused', 'alive.stopping', 'exited', 'restarting', 'terminated']),
    );
    expect(stateAt(chart, 'alive')).toMatchObject({ type: 'compound', initial: 'starting' });
    expect(stateAt(chart, 'alive.stopping')).toMatchObject({ type: 'compound', initial: 'choosing' });
    expect(stateAt(chart, 'terminated').type).toBe('final');
    expect(stateAt(chart, 'alive.running').type).toBe('atomic');
  });

  it("has the agent machine's event transitions with targets, guards and actions", () => {
    const chart = agentChart();
    expect(stateAt(chart, 'alive.starting').on?.['run.started']).toEqual([
      { target: ['alive.running'], actions: ['recordStart', 'emitStarted'] },
    ]);
    expect(stateAt(chart, 'alive.running').on).toEqual({
      'agent.pause': [{ target: ['alive.paused'], actions: ['sendPause', 'emitPaused'] }],
      'agent.stop': [{ target: ['alive.stopping'], actions: ['recordStopRequest'] }],
    });
    expect(stateAt(chart, 'alive.paused').on?.['agent.resume']).toEqual([
      { target: ['alive.running'], actions: ['sendContinue', 'emitResumed'] },
    ]);
    expect(stateAt(chart, 'alive').on?.['run.exited']).toEqual([
      { target: ['exited'], actions: ['recordExit', 'emitExited', 'reportExit'] },
    ]);
    expect(stateAt(chart, 'exited').on).toEqual({
      'agent.restart': [{ target: ['restarting'], actions: ['scheduleRestart'] }],
      'agent.terminate': [{ target: ['terminated'] }],
      // Targetless: answered without leaving `exited`.
      'agent.stop': [{ actions: ['recordStopWhileDown', 'reportExit'] }],
    });
    expect(stateAt(chart, 'restarting').on).toEqual({
      'agent.stop': [{ target: ['exited'], actions: ['recordStopWhileDown', 'reportExit'] }],
      'agent.terminate': [{ target: ['terminated'] }],
    });
    expect(stateAt(chart, 'terminated').on).toBeUndefined();
  });

  it("files the agent machine's invoke, after and always transitions under their own keys", () => {
    const chart = agentChart();
    expect(stateAt(chart, 'alive').invoke).toEqual([
      { id: 'run', src: 'run', onError: [{ target: ['exited'], actions: ['recordExit', 'emitExited', 'reportExit'] }] },
    ]);
    expect(stateAt(chart, 'alive.stopping.choosing').always).toEqual([
      { target: ['alive.stopping.killed'], guard: 'brutalKill' },
      { target: ['alive.stopping.signalled'] },
    ]);
    const signalled = stateAt(chart, 'alive.stopping.signalled');
    expect(signalled.always).toBeUndefined();
    expect(signalled.after).toEqual([{ delay: 'shutdownGrace', target: ['alive.stopping.killed'], guard: 'hasFiniteGrace' }]);
    // The raise/cancel XState adds for the timer are not the machine's own actions.
    expect(signalled.entry).toEqual(['sendStopSignal', 'sendContinue']);
    expect(signalled.exit).toBeUndefined();
    // No generated event names leak into `on`.
    expect(signalled.on).toBeUndefined();
    expect(Object.keys(stateAt(chart, 'alive').on ?? {})).toEqual(['run.exited']);
    expect(stateAt(chart, 'restarting').after).toEqual([{ delay: 'restartDelay', target: ['alive'] }]);
    expect(stateAt(chart, 'restarting').entry).toEqual(['emitRestarting']);
    expect(stateAt(chart, 'terminated').entry).toEqual(['emitTerminated']);
  });

  it('names guards and actions without functions: params, combinators, built-ins, inline ones', () => {
    const machine = setup({
      guards: { ready: () => true, full: () => false },
      actions: { log: (_, _params: { level: string }) => undefined },
    }).createMachine({
      id: 'sample',
      initial: 'a',
      states: {
        a: {
          on: {
            go: { target: 'b', guard: and(['ready', not('full')]), actions: [{ type: 'log', params: { level: 'info' } }] },
            inline: { guard: () => true, actions: assign({}) },
          },
          after: { 1000: 'b' },
          always: { guard: { type: 'ready' }, target: 'b', reenter: true },
        },
        b: { type: 'final' },
      },
    });
    const a = stateAt(statechartOf(machine), 'a');
    expect(a.on).toEqual({
      go: [{ target: ['b'], guard: 'and(ready, not(full))', actions: [{ type: 'log', params: { level: 'info' } }] }],
      inline: [{ guard: 'inline', actions: ['xstate.assign'] }],
    });
    expect(a.after).toEqual([{ delay: 1000, target: ['b'] }]);
    expect(a.always).toEqual([{ target: ['b'], guard: 'ready', reenter: true }]);
  });

  it('exports parallel and history states, a compound onDone and a transition to the root', () => {
    const machine = createMachine({
      id: 'p',
      type: 'parallel',
      on: { reset: { target: '#p' } },
      states: {
        left: { initial: 'x', states: { x: { on: { next: 'y' } }, y: { type: 'final' } }, onDone: { actions: 'done' } },
        right: { initial: 'u', states: { u: {}, back: { type: 'history', history: 'deep' } } },
      },
    });
    const chart = statechartOf(machine);
    expect(chart.type).toBe('parallel');
    expect(chart.initial).toBeUndefined();
    expect(chart.on).toEqual({ reset: [{ target: ['#p'] }] });
    expect(stateAt(chart, 'left').onDone).toEqual([{ actions: ['done'] }]);
    expect(stateAt(chart, 'right.back')).toEqual({ type: 'history', history: 'deep' });
    expect(statePaths(chart)).toEqual(['left', 'left.x', 'left.y', 'right', 'right.u', 'right.back']);
  });
});
