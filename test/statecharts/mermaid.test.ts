/** The Mermaid generator: the agent machine's diagram line by line, and the awkward cases. */

import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { statechartOf } from '../../src/statecharts/json.js';
import { toMermaid } from '../../src/statecharts/mermaid.js';
import { STATECHARTS } from '../../src/statecharts/registry.js';

function diagramOf(name: string): string {
  const entry = STATECHARTS.find((machine) => machine.name === name);
  if (!entry) throw new Error(`the ${name} machine is not registered`);
  return toMermaid(statechartOf(entry.machine));
}

/** The diagram's lines without their indentation. */
function linesOf(diagram: string): string[] {
  return diagram.split('\n').map((line) => line.trim());
}

/** The lines between `state <id> {` (or `state "…" as <id> {`) and its closing brace. */
function blockOf(diagram: string, id: string): string[] {
  const lines = diagram.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^\\s*state (${id}|"[^"]*" as ${id}) \\{$`).test(line));
  if (start < 0) throw new Error(`no block ${id}`);
  const indent = (lines[start] as string).search(/\S/);
  const end = lines.findIndex((line, index) => index > start && line === `${' '.repeat(indent)}}`);
  return lines.slice(start + 1, end).map((line) => line.trim());
}

describe('the agent machine as Mermaid', () => {
  const diagram = diagramOf('agent');
  const lines = linesOf(diagram);

  it('is a stateDiagram-v2 starting in alive, with the compound states as blocks', () => {
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('[*] --> alive');
    expect(lines).toContain('state alive {');
    expect(lines).toContain('state stopping {');
    expect(blockOf(diagram, 'alive')).toContain('[*] --> starting');
    expect(blockOf(diagram, 'stopping')).toContain('[*] --> choosing');
    expect(lines).toContain('terminated --> [*]');
  });

  it('labels event transitions with the event, inside the block that holds both ends', () => {
    const alive = blockOf(diagram, 'alive');
    for (const line of [
      'starting --> running : run.started',
      'running --> paused : agent.pause',
      'paused --> running : agent.resume',
      'running --> stopping : agent.stop',
    ]) {
      expect(alive).toContain(line);
    }
    expect(lines).toContain('alive --> exited : run.exited');
    expect(alive).not.toContain('alive --> exited : run.exited');
    expect(lines).toContain('exited --> restarting : agent.restart');
    expect(lines).toContain('exited --> terminated : agent.terminate');
    expect(lines).toContain('restarting --> exited : agent.stop');
  });

  it('labels invoke, delayed and eventless transitions, with their guards', () => {
    expect(lines).toContain('alive --> exited : onError run');
    expect(lines).toContain('restarting --> alive : after restartDelay');
    const stopping = blockOf(diagram, 'stopping');
    expect(stopping).toContain('signalled --> killed : after shutdownGrace [hasFiniteGrace]');
    expect(stopping).toContain('choosing --> killed : always [brutalKill]');
    expect(stopping).toContain('choosing --> signalled : always');
  });

  it('writes a targetless transition inside the state, under its name', () => {
    expect(lines).toContain('state "exited" as exited');
    expect(lines).toContain('exited : agent.stop');
    expect(lines.indexOf('state "exited" as exited')).toBeLessThan(lines.indexOf('exited : agent.stop'));
  });

  it('is the same text every time', () => {
    expect(diagramOf('agent')).toBe(diagram);
  });
});

describe('toMermaid', () => {
  it.each(STATECHARTS.map((machine) => [machine.name] as const))('draws %s deterministically', (name) => {
    const diagram = diagramOf(name);
    expect(diagram.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(diagramOf(name)).toBe(diagram);
    // Mermaid's lexer ends a label at ':' or ';': each line has at most one ' : '.
    for (const line of linesOf(diagram)) expect(line.split(' : ').length).toBeLessThanOrEqual(2);
  });

  it('gives states that share a key distinct ids named by their path', () => {
    const diagram = diagramOf('supervisor');
    const lines = linesOf(diagram);
    expect(blockOf(diagram, 'restarting')).toContain('state "next" as restarting_next');
    expect(blockOf(diagram, 'escalating')).toContain('state "next" as escalating_next');
    expect(blockOf(diagram, 'shuttingDown')).toContain('state "next" as shuttingDown_next');
    expect(lines).toContain('restarting_next --> restarted : always [stopQueueEmpty]');
    expect(lines).toContain('restarted --> supervising : after 0ms');
    // Targetless on a compound state: Mermaid takes no text there, so a self-loop.
    expect(lines).toContain('restarting --> restarting : supervisor.startChild');
  });

  it('turns the machine’s own handlers into comments', () => {
    const machine = createMachine({
      id: 'm',
      initial: 'idle',
      on: { ping: { actions: 'pong' }, reset: { target: '.idle' } },
      states: { idle: { on: { go: 'busy' } }, busy: {} },
    });
    const lines = linesOf(toMermaid(statechartOf(machine)));
    expect(lines).toContain('%% every state: ping');
    expect(lines).toContain('%% every state: reset --> idle');
    expect(lines).toContain('idle --> busy : go');
  });

  it('names a state in its own block when only an outer line reaches it', () => {
    const machine = createMachine({
      id: 'm',
      initial: 'idle',
      states: { idle: { on: { go: 'work.busy' } }, work: { initial: 'prep', states: { prep: {}, busy: {} } } },
    });
    const diagram = toMermaid(statechartOf(machine));
    // Else Mermaid would place `busy` where `idle --> busy` first names it: outside `work`.
    expect(blockOf(diagram, 'work')).toEqual(['[*] --> prep', 'busy']);
    expect(linesOf(diagram)).toContain('idle --> busy : go');
  });

  it('draws parallel regions, history states, and keeps ids and labels Mermaid-safe', () => {
    const machine = createMachine({
      id: 'odd',
      type: 'parallel',
      states: {
        state: {
          initial: 'default',
          states: {
            default: { on: { 'user:login; now': 'note-taking' } },
            'note-taking': { on: { 'set direction LR': 'default' } },
            hist: { type: 'history', history: 'deep' },
          },
        },
        other: { initial: 'idle', states: { idle: { on: { back: '#odd.state.hist' } } } },
      },
    });
    const diagram = toMermaid(statechartOf(machine));
    const lines = linesOf(diagram);
    // Region dividers only exist inside a block: the parallel machine gets one.
    expect(lines.slice(1, 3)).toEqual(['[*] --> odd', 'state odd {']);
    expect(blockOf(diagram, 'odd')).toContain('--');
    expect(lines).toContain('state "state" as state_ {');
    expect(lines).toContain('state other {');
    expect(lines).toContain('[*] --> default_');
    expect(lines).toContain('state "note-taking" as note_taking');
    expect(lines).toContain('state "hist (H*)" as hist');
    expect(lines).toContain('default_ --> note_taking : user\u2236login, now');
    expect(lines).toContain('note_taking --> default_ : set direction_LR');
    expect(blockOf(diagram, 'other')).toEqual(['[*] --> idle']);
    // Between blocks: at the top level, where it moves neither end.
    expect(diagram.split('\n')).toContain('  idle --> hist : back');
    expect(lines.some((line) => line.startsWith('[*] --> state'))).toBe(false);
  });
});
