/**
 * The subtask graph of one task: keys unique, every dependency names a subtask of the same
 * task, no subtask depends on itself, no cycles. Checked once at TASK_CREATE, so the engine
 * can count unfinished dependencies instead of searching the graph at run time.
 */
import { KernelError } from '../protocol/errors.js';

export interface DagNode {
  key: string;
  depends_on: readonly string[];
}

/** Throws INVALID_REQUEST naming the offending field: a duplicate key, an unknown dependency, a cycle. */
export function checkDag(nodes: readonly DagNode[]): void {
  const index = new Map<string, number>();
  nodes.forEach((node, i) => {
    if (index.has(node.key)) {
      throw new KernelError(
        'INVALID_REQUEST',
        `subtasks[${i}].key: expected a unique key, "${node.key}" is also subtasks[${index.get(node.key)}]`,
        {
          field: `subtasks[${i}].key`,
        },
      );
    }
    index.set(node.key, i);
  });
  nodes.forEach((node, i) => {
    const seen = new Set<string>();
    for (const dep of node.depends_on) {
      const field = `subtasks[${i}].depends_on`;
      if (dep === node.key) throw new KernelError('INVALID_REQUEST', `${field}: "${dep}" depends on itself`, { field });
      if (!index.has(dep))
        throw new KernelError('INVALID_REQUEST', `${field}: expected keys of this task's subtasks, no subtask "${dep}"`, { field });
      if (seen.has(dep)) throw new KernelError('INVALID_REQUEST', `${field}: "${dep}" is listed twice`, { field });
      seen.add(dep);
    }
  });
  const cycle = findCycle(nodes, index);
  if (cycle) {
    const first = index.get(cycle[0] as string) ?? 0;
    const field = `subtasks[${first}].depends_on`;
    throw new KernelError('INVALID_REQUEST', `${field}: cycle ${cycle.join(' → ')}`, { field });
  }
}

/**
 * A cycle as keys (first repeated at the end: a → b → a) or null. Iterative depth-first
 * search with three colours, so a 1,000-subtask chain does not recurse 1,000 deep.
 */
export function findCycle(nodes: readonly DagNode[], index: ReadonlyMap<string, number>): string[] | null {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Uint8Array(nodes.length);
  for (let root = 0; root < nodes.length; root++) {
    if (colour[root] !== WHITE) continue;
    const stack: { node: number; next: number }[] = [{ node: root, next: 0 }];
    colour[root] = GREY;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as { node: number; next: number };
      const deps = (nodes[frame.node] as DagNode).depends_on;
      if (frame.next >= deps.length) {
        colour[frame.node] = BLACK;
        stack.pop();
        continue;
      }
      const child = index.get(deps[frame.next++] as string) as number;
      if (colour[child] === GREY) {
        // The path from `child` to here, then `child` again: a depends on b depends on a.
        const from = stack.findIndex((f) => f.node === child);
        const keys = stack.slice(from).map((f) => (nodes[f.node] as DagNode).key);
        return [...keys, (nodes[child] as DagNode).key];
      }
      if (colour[child] === WHITE) {
        colour[child] = GREY;
        stack.push({ node: child, next: 0 });
      }
    }
  }
  return null;
}
