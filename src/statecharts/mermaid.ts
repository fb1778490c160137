/**
 * A Mermaid `stateDiagram-v2` drawn from the JSON statechart (src/statecharts/json.ts), so both
 * formats describe the same thing. Output depends only on the definition: same machine, same text.
 *
 * How XState maps onto the diagram:
 * - compound states are `state X { … }` blocks starting with `[*] --> initial`; parallel states
 *   separate their regions with `--`; a final state gets `X --> [*]`.
 * - transitions are labelled `event [guard]`; delayed ones `after 5000ms` or `after delayName`,
 *   eventless ones `always`, an invoke's `onDone run` / `onError run`. Actions are left to the
 *   JSON, so that the arrows stay readable.
 * - a transition without a target (handled without leaving the state) is written inside an
 *   atomic state's box (`X : event`), as UML's internal transitions; Mermaid refuses text on a
 *   compound state, so there it is a self-loop. The machine's own handlers (root `on`) have no
 *   box to go in: they become `%%` comments.
 */
import { labelOf, type StatechartJson, type StateJson, type TransitionJson } from './json.js';

interface ChartNode {
  key: string;
  /** Dot path from the machine root; '' for the root. */
  path: string;
  state: StateJson;
  parent: ChartNode | null;
  children: ChartNode[];
  /** The Mermaid id: unique in the diagram, made only of `[A-Za-z0-9_]`. */
  id: string;
}

interface Edge {
  from: ChartNode;
  to: ChartNode;
  label: string;
}

/**
 * Words Mermaid's state lexer reads as keywords wherever they stand (case-insensitive), so a
 * state cannot be called that.
 */
const KEYWORDS = new Set(['default', 'state', 'note', 'class', 'classdef', 'scale', 'statediagram', 'acctitle', 'accdescr']);

export function toMermaid(chart: StatechartJson): string {
  const root = treeOf(chart);
  const nodes = descendantsOf(root);
  assignIds(root, nodes);
  const byPath = new Map(nodes.map((node) => [node.path, node]));
  const resolve = (target: string): ChartNode => {
    if (target === `#${chart.id}`) return root;
    const node = byPath.get(target);
    if (!node) throw new Error(`statechart ${chart.id}: unknown target "${target}"`);
    return node;
  };

  // Mermaid moves a state into whatever block a line naming it stands in. So an edge goes in a
  // block only when both ends are that block's own children; any other goes at the top level.
  const edgesIn = new Map<ChartNode, Edge[]>();
  const topEdges: Edge[] = [];
  const internal = new Map<ChartNode, string[]>();
  const comments: string[] = [];
  const push = <K, V>(map: Map<K, V[]>, key: K, value: V) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const node of [root, ...nodes]) {
    for (const { label, transition } of transitionsOf(node.state)) {
      const targets = (transition.target ?? []).map(resolve);
      if (node === root || targets.includes(root)) {
        const to = targets.length === 0 ? '' : ` --> ${targets.map((t) => (t === root ? chart.id : t.id)).join(', ')}`;
        comments.push(`%% ${node === root ? 'every state' : node.id}: ${label}${to}`);
      } else if (targets.length === 0 && isAtomic(node)) {
        push(internal, node, label);
      } else {
        for (const to of targets.length === 0 ? [node] : targets) {
          const scope = scopeOf(node, to);
          const local = scope !== root && scope.state.type === 'compound' && node.parent === scope && to.parent === scope;
          if (local) push(edgesIn, scope, { from: node, to, label });
          else topEdges.push({ from: node, to, label });
        }
      }
    }
  }

  const bodyOf = (node: ChartNode, indent: string, edges = edgesIn.get(node) ?? []): string[] => {
    const finals = node.children.filter((child) => child.state.type === 'final');
    const initial = node.state.type === 'compound' ? node.children.find((child) => child.key === node.state.initial) : undefined;
    // A state first named by a line outside its block would be drawn there: name each one in its own.
    const named = new Set<ChartNode>([...finals, ...edges.flatMap((edge) => [edge.from, edge.to])]);
    if (initial) named.add(initial);
    const lines: string[] = [];
    if (initial) lines.push(`${indent}[*] --> ${initial.id}`);
    node.children.forEach((child, index) => {
      if (node.state.type === 'parallel' && index > 0) lines.push(`${indent}--`);
      const title = titleOf(child);
      if (!isAtomic(child)) {
        const head = title === child.id ? child.id : `"${title}" as ${child.id}`;
        lines.push(`${indent}state ${head} {`, ...bodyOf(child, `${indent}  `), `${indent}}`);
        return;
      }
      const texts = internal.get(child) ?? [];
      // Mermaid shows a state's first text as its title: name it first, or `X : event` would replace it.
      if (title !== child.id || texts.length > 0) lines.push(`${indent}state "${title}" as ${child.id}`);
      else if (!named.has(child)) lines.push(`${indent}${child.id}`);
      for (const text of texts) lines.push(`${indent}${child.id} : ${text}`);
    });
    lines.push(...edges.map((edge) => edgeLine(edge, indent)));
    for (const final of finals) lines.push(`${indent}${final.id} --> [*]`);
    return lines;
  };

  const header = ['stateDiagram-v2', ...comments.map((line) => `  ${line}`)];
  if (root.state.type !== 'parallel') return [...header, ...bodyOf(root, '  ', topEdges), ''].join('\n');
  // Mermaid only draws region dividers (`--`) inside a block: a parallel machine gets one of its own.
  const block = [`  [*] --> ${root.id}`, `  state ${root.id} {`, ...bodyOf(root, '    ', []), '  }'];
  return [...header, ...block, ...topEdges.map((edge) => edgeLine(edge, '  ')), ''].join('\n');
}

function edgeLine(edge: Edge, indent: string): string {
  return `${indent}${edge.from.id} --> ${edge.to.id} : ${edge.label}`;
}

function treeOf(chart: StatechartJson): ChartNode {
  const build = (key: string, path: string, state: StateJson, parent: ChartNode | null): ChartNode => {
    const node: ChartNode = { key, path, state, parent, children: [], id: '' };
    node.children = Object.entries(state.states ?? {}).map(([childKey, child]) =>
      build(childKey, path === '' ? childKey : `${path}.${childKey}`, child, node),
    );
    return node;
  };
  return build(chart.id, '', chart, null);
}

function descendantsOf(node: ChartNode): ChartNode[] {
  return node.children.flatMap((child) => [child, ...descendantsOf(child)]);
}

function isAtomic(node: ChartNode): boolean {
  return node.children.length === 0;
}

/**
 * Mermaid ids are global to the diagram: a state keeps its key unless another state has the
 * same one (the supervisor's three `next`), then it is named by its path (`restarting_next`).
 */
function assignIds(root: ChartNode, nodes: ChartNode[]): void {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_]/g, '_') || '_';
  const keyCount = new Map<string, number>();
  for (const node of nodes) keyCount.set(safe(node.key), (keyCount.get(safe(node.key)) ?? 0) + 1);
  const used = new Set<string>();
  const take = (wanted: string) => {
    let id = KEYWORDS.has(wanted.toLowerCase()) ? `${wanted}_` : wanted;
    while (used.has(id)) id = `${id}_`;
    used.add(id);
    return id;
  };
  for (const node of nodes) {
    const key = safe(node.key);
    node.id = take((keyCount.get(key) ?? 0) > 1 ? safe(node.path.replaceAll('.', '_')) : key);
  }
  // Mermaid names the `[*]` of block X `X_start` / `X_end` (`root_…` at the top): keep clear of them.
  const pseudo = new Set(['root_start', 'root_end']);
  for (const node of nodes) if (!isAtomic(node)) pseudo.add(`${node.id}_start`).add(`${node.id}_end`);
  for (const node of nodes) {
    if (!pseudo.has(node.id)) continue;
    used.delete(node.id);
    let id = `${node.id}_`;
    while (used.has(id) || pseudo.has(id)) id = `${id}_`;
    used.add(id);
    node.id = id;
  }
  // Only a parallel root is drawn (as a block); it yields its name to the states.
  root.id = root.state.type === 'parallel' ? take(safe(root.key)) : '';
  while (pseudo.has(root.id)) root.id = take(`${root.id}_`);
}

/** The innermost block holding both ends: a strict ancestor of each. */
function scopeOf(from: ChartNode, to: ChartNode): ChartNode {
  const ancestors = new Set<ChartNode>();
  for (let node = from.parent; node; node = node.parent) ancestors.add(node);
  for (let node = to.parent; node; node = node.parent) if (ancestors.has(node)) return node;
  throw new Error('statechart: states without a common ancestor');
}

/** What the box says: the key, with UML's H / H* for history states; no quotes (they delimit it). */
function titleOf(node: ChartNode): string {
  const title = node.key.replaceAll('"', "'");
  if (node.state.type !== 'history') return title;
  return `${title} (${node.state.history === 'deep' ? 'H*' : 'H'})`;
}

/** Every transition a state declares, labelled, in definition order. */
function transitionsOf(state: StateJson): { label: string; transition: TransitionJson }[] {
  const all: { label: string; transition: TransitionJson }[] = [];
  const add = (trigger: string, transitions: TransitionJson[] | undefined) => {
    for (const transition of transitions ?? []) {
      const guard = transition.guard === undefined ? '' : ` [${labelOf(transition.guard)}]`;
      all.push({ label: labelText(`${trigger}${guard}`), transition });
    }
  };
  for (const [event, transitions] of Object.entries(state.on ?? {})) add(event, transitions);
  add('onDone', state.onDone);
  for (const invoke of state.invoke ?? []) {
    const name = invoke.src === 'inline' ? invoke.id : invoke.src;
    add(`onDone ${name}`, invoke.onDone);
    add(`onError ${name}`, invoke.onError);
    add(`onSnapshot ${name}`, invoke.onSnapshot);
  }
  for (const delayed of state.after ?? []) {
    add(`after ${typeof delayed.delay === 'number' ? `${delayed.delay}ms` : delayed.delay}`, [delayed]);
  }
  add('always', state.always);
  return all;
}

/**
 * A label Mermaid reads as one: its lexer ends a label at `:`, `;` or a line break, and takes
 * `direction TB` anywhere on a line as a layout statement.
 */
function labelText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replaceAll(':', '\u2236')
    .replaceAll(';', ',')
    .replace(/direction (TB|BT|RL|LR)/gi, 'direction_$1')
    .trim();
}
