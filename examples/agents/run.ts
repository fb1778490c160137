// Runs every agent example against a private kernel and prints what happened:
//   node --import tsx examples/agents/run.ts                 # all of them
//   node --import tsx examples/agents/run.ts actor subtree   # some: actor worker subtree python node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { renderTree } from '../../src/cli/commands/tree.js';
import { startKernel } from '../../src/index.js';
import type { TreeNode } from '../../src/protocol/schemas/agents.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { runActorExample } from './actor-agent.js';
import { runNodeExample, runPythonExample } from './process-agents.js';
import { runSubtreeExample } from './subtree.js';
import { runWorkerExample } from './worker.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ALL = ['actor', 'worker', 'subtree', 'python', 'node'];
const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;
const unknown = wanted.filter((name) => !ALL.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown example(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}\n`);
  process.exit(2);
}

const dir = await mkdtemp(join(tmpdir(), 'agentos-examples-'));
const kernel = await startKernel(
  { socketPath: join(dir, 'agentos.sock'), dataDir: join(dir, 'data'), httpPort: null },
  { log: pino({ level: 'silent' }) },
);
say(`kernel ready on ${kernel.socketPath}`);

const observer = await AgentOSClient.connect({ connection: kernel.connect({ name: 'observer' }) });
const showTree = async () => {
  const { tree } = (await observer.call('TREE')) as { tree: TreeNode };
  const agents = tree.children?.find((node) => node.actor === 'agents');
  if (agents) say(renderTree(agents).replace(/^/gm, '  '));
};

try {
  for (const name of wanted) {
    const out = join(dir, `${name}.out`);
    if (name === 'actor') await runActorExample(kernel, out, say);
    if (name === 'worker') await runWorkerExample(kernel, out, say);
    if (name === 'subtree') await runSubtreeExample(kernel, say, showTree);
    if (name === 'python') await runPythonExample(kernel, out, say);
    if (name === 'node') await runNodeExample(kernel, out, say);
  }
  const left = kernel.agents().filter((agent) => agent.kind !== 'client');
  say(`done: ${wanted.length} example(s), ${left.length} agent(s) left running`);
} finally {
  await observer.close();
  await kernel.stop();
  await rm(dir, { recursive: true, force: true });
}
