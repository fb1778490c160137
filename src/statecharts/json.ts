/**
 * A machine definition as plain, stable JSON: what `agentos statecharts export --format json`
 * writes, and what the Mermaid generator draws.
 *
 * XState 5.33's own `machine.toJSON()` (the same object as `machine.definition`) is not enough
 * on its own: it leaves `always` transitions out, files `after` timers and an invoke's
 * `onDone`/`onError` under generated events in `on` (`xstate.after.…`, `xstate.done.actor.…`),
 * counts the raise/cancel actions that implement `after` among entry/exit, and keeps functions.
 * So this walks the same state nodes (`machine.root`) and puts each transition back under the
 * config key it was written with, in the order it was written, with functions replaced by names.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** A named action or guard; `{ type, params }` when it was given parameters. */
export type ImplementationRef = string | { type: string; params: unknown };

export interface TransitionJson {
  /** State paths from the machine root (`alive.running`); none for a transition that stays put. */
  target?: string[];
  guard?: ImplementationRef;
  actions?: ImplementationRef[];
  /** Only when set: the target (or the source, when targetless) is exited and entered again. */
  reenter?: true;
  description?: string;
}

export interface DelayedTransitionJson extends TransitionJson {
  /** Milliseconds, or the name of a delay from `setup({ delays })`. */
  delay: number | string;
}

export interface InvokeJson {
  id: string;
  /** The actor logic's name from `setup({ actors })`, or `inline`. */
  src: string;
  systemId?: string;
  onDone?: TransitionJson[];
  onError?: TransitionJson[];
  onSnapshot?: TransitionJson[];
}

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface StateJson {
  type: StateType;
  /** The key of the initial child (compound states). */
  initial?: string;
  history?: 'shallow' | 'deep';
  description?: string;
  tags?: string[];
  entry?: ImplementationRef[];
  exit?: ImplementationRef[];
  invoke?: InvokeJson[];
  on?: Record<string, TransitionJson[]>;
  after?: DelayedTransitionJson[];
  always?: TransitionJson[];
  /** Taken when this compound or parallel state reaches a final child. */
  onDone?: TransitionJson[];
  states?: Record<string, StateJson>;
}

export interface StatechartJson extends StateJson {
  /** The machine's id; a transition to the machine root targets `#<id>`. */
  id: string;
}

/** The JSON statechart of one machine. */
export function statechartOf(machine: AnyStateMachine): StatechartJson {
  return { id: machine.root.id, ...stateOf(machine.root) };
}

/** Every state's path from the machine root (`alive.stopping.signalled`), in document order. */
export function statePaths(chart: StateJson, prefix = ''): string[] {
  return Object.entries(chart.states ?? {}).flatMap(([key, state]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [path, ...statePaths(state, path)];
  });
}

function stateOf(node: AnyStateNode): StateJson {
  const after = node.after;
  const delayedEvents = new Set(after.map((transition) => transition.eventType));
  const invokeEvents = new Map<string, { index: number; kind: 'onDone' | 'onError' | 'onSnapshot' }>();
  node.invoke.forEach((invoke, index) => {
    invokeEvents.set(`xstate.done.actor.${invoke.id}`, { index, kind: 'onDone' });
    invokeEvents.set(`xstate.error.actor.${invoke.id}`, { index, kind: 'onError' });
    invokeEvents.set(`xstate.snapshot.${invoke.id}`, { index, kind: 'onSnapshot' });
  });
  const stateDone = `xstate.done.state.${node.id}`;

  const invoke: InvokeJson[] = node.invoke.map((definition) => ({
    id: definition.id,
    src: typeof definition.src === 'string' && !definition.src.startsWith('xstate.invoke.') ? definition.src : 'inline',
    ...(definition.systemId !== undefined && { systemId: definition.systemId }),
  }));
  const on: Record<string, TransitionJson[]> = {};
  let onDone: TransitionJson[] | undefined;
  for (const [event, transitions] of node.transitions) {
    if (delayedEvents.has(event)) continue;
    const json = transitions.map(transitionOf);
    const fromInvoke = invokeEvents.get(event);
    if (fromInvoke) (invoke[fromInvoke.index] as InvokeJson)[fromInvoke.kind] = json;
    else if (event === stateDone) onDone = json;
    else on[event] = json;
  }

  const entry = node.entry.filter((action) => !implementsAfter(action)).map(refOf);
  const exit = node.exit.filter((action) => !implementsAfter(action)).map(refOf);
  const always = node.always ?? [];
  const children = Object.values(node.states) as AnyStateNode[];
  const state: StateJson = { type: node.type };
  if (node.type === 'compound') state.initial = (node.initial.target[0] as AnyStateNode).key;
  if (node.type === 'history') state.history = node.history === 'deep' ? 'deep' : 'shallow';
  if (node.description !== undefined) state.description = node.description;
  if (node.tags.length > 0) state.tags = [...node.tags];
  if (entry.length > 0) state.entry = entry;
  if (exit.length > 0) state.exit = exit;
  if (invoke.length > 0) state.invoke = invoke;
  if (Object.keys(on).length > 0) state.on = on;
  if (after.length > 0) state.after = after.map((transition) => ({ delay: delayOf(transition.delay), ...transitionOf(transition) }));
  if (always.length > 0) state.always = always.map(transitionOf);
  if (onDone) state.onDone = onDone;
  if (children.length > 0) state.states = Object.fromEntries(children.map((child) => [child.key, stateOf(child)]));
  return state;
}

function transitionOf(transition: AnyTransitionDefinition): TransitionJson {
  const json: TransitionJson = {};
  if (transition.target && transition.target.length > 0) json.target = transition.target.map(pathOf);
  if (transition.guard !== undefined) json.guard = guardOf(transition.guard);
  if (transition.actions.length > 0) json.actions = transition.actions.map(refOf);
  if (transition.reenter) json.reenter = true;
  if (transition.description !== undefined) json.description = transition.description;
  return json;
}

function pathOf(node: AnyStateNode): string {
  return node.path.length === 0 ? `#${node.id}` : node.path.join('.');
}

function delayOf(delay: unknown): number | string {
  return typeof delay === 'number' || typeof delay === 'string' ? delay : 'inline';
}

/** The `raise` (with a delay) and `cancel` that XState adds to entry/exit for each `after` timer. */
function implementsAfter(action: unknown): boolean {
  if (typeof action !== 'function') return false;
  const builtIn = action as { type?: unknown; id?: unknown; sendId?: unknown };
  const id = builtIn.type === 'xstate.raise' ? builtIn.id : builtIn.type === 'xstate.cancel' ? builtIn.sendId : undefined;
  return typeof id === 'string' && id.startsWith('xstate.after.');
}

/** Names JS infers for an anonymous function from the config key it was written under. */
const INFERRED_NAMES = new Set(['', 'guard', 'actions', 'entry', 'exit', 'anonymous']);

/** An action: its name, `{ type, params }`, a built-in's type (`xstate.assign`), or `inline`. */
function refOf(action: unknown): ImplementationRef {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') {
    const type = (action as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    return INFERRED_NAMES.has(action.name) ? 'inline' : action.name;
  }
  if (typeof action === 'object' && action !== null && typeof (action as { type?: unknown }).type === 'string') {
    const { type, params } = action as { type: string; params?: unknown };
    return params === undefined ? type : { type, params: plain(params) };
  }
  return 'inline';
}

/** A guard: as `refOf`, with `and(…)`, `or(…)`, `not(…)` and `stateIn(…)` spelled out. */
function guardOf(guard: unknown): ImplementationRef {
  if (typeof guard === 'function') {
    const combinator = guard as { check?: unknown; guards?: unknown; stateValue?: unknown };
    if (typeof combinator.check === 'function') {
      if (Array.isArray(combinator.guards) && ['and', 'or', 'not'].includes(guard.name)) {
        const inner = combinator.guards.map((g) => labelOf(guardOf(g)));
        return `${guard.name}(${inner.join(', ')})`;
      }
      if (guard.name === 'stateIn') return `stateIn(${JSON.stringify(plain(combinator.stateValue))})`;
    }
  }
  return refOf(guard);
}

/** The name alone, for labels. */
export function labelOf(ref: ImplementationRef): string {
  return typeof ref === 'string' ? ref : ref.type;
}

/** JSON-safe data: functions (dynamic params) become `inline`. */
function plain(value: unknown): unknown {
  if (typeof value === 'function') return 'inline';
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}
