/** `agentos tree`: the live supervision tree. */
import type { Command } from 'commander';
import type { TreeNode } from '../../protocol/schemas/agents.js';
import { AgentOSError } from '../../sdk/errors.js';
import { type ConnectFlags, connectCli, dataDirOption } from '../connect.js';
import { fail, out, table } from '../output.js';
import { socketOption } from '../socket-option.js';

export function formatUptime(ms: number): string {
  if (ms <= 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Tree rows: the first column drawn with box characters, the rest aligned by `table`. */
function rows(node: TreeNode, prefix: string, last: boolean, depth: number, into: (string | number)[][]): void {
  const branch = depth === 0 ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
  const label = node.name && node.name !== node.actor ? `${node.actor} (${node.name})` : node.actor;
  into.push([
    `${branch}${label}`,
    node.kind + (node.strategy ? `:${node.strategy}` : ''),
    node.agent_id ?? '-',
    node.state,
    node.restarts,
    formatUptime(node.uptime_ms),
    node.pid ?? '-',
  ]);
  const children = node.children ?? [];
  const childPrefix = depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`;
  for (const [index, child] of children.entries()) rows(child, childPrefix, index === children.length - 1, depth + 1, into);
}

export function renderTree(tree: TreeNode): string {
  const into: (string | number)[][] = [];
  rows(tree, '', true, 0, into);
  // Columns with a '-' are mixed text: format every cell as text so they align left.
  return table(
    ['actor', 'kind', 'agent', 'state', 'restarts', 'uptime', 'pid'],
    into.map((row) => row.map(String)),
  );
}

export function registerTreeCommand(program: Command): void {
  program
    .command('tree')
    .description('print the live supervision tree (actor, kind, machine state, restarts, uptime)')
    .addOption(socketOption())
    .addOption(dataDirOption())
    .option('--json', 'print the tree as JSON for machines')
    .action(async (flags: ConnectFlags & { json?: boolean }) => {
      try {
        const client = await connectCli(flags, 'agentos-tree');
        const reply = (await client.call('TREE', {})) as { tree: TreeNode };
        await client.close();
        out(flags.json ? JSON.stringify(reply.tree) : renderTree(reply.tree));
      } catch (error) {
        fail(error instanceof AgentOSError ? error.message : String(error));
      }
    });
}
