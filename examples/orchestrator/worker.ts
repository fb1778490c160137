// A Node worker: a process agent (the kernel SPAWNs it) that takes roles with the SDK's
// worker({ role, handle }) and handles the subtasks the kernel delivers to its mailbox: a
// mapper counts the words of one file, a reducer adds the counts of every map (its
// dependencies' results, by key, in `inputs`). Returning completes the subtask.
//
// Usage (as run.ts spawns it; the kernel puts its socket path first): worker.ts SOCKET --roles mapper,reducer [--ready-to NAME] [--crash-after N]
//   --ready-to     tell this agent (a message) once the roles are taken, so the launcher
//                  creates the task only when every worker can receive
//   --crash-after  exit hard on receiving the Nth subtask, without completing it: the
//                  kernel fails that attempt (agent_exited) and retries it on another mapper
import { parseArgs } from 'node:util';
import { AgentOSClient } from '../../src/sdk/index.js';
import { type SubtaskContext, worker } from '../../src/sdk/tasks/worker.js';
import { type Counts, countWords, mergeCounts } from './words.js';

// The kernel passes its socket first (argv[2]); our flags follow.
const { values } = parseArgs({
  args: process.argv.slice(3),
  options: { roles: { type: 'string', default: 'mapper' }, 'ready-to': { type: 'string' }, 'crash-after': { type: 'string' } },
});
const roles = (values.roles ?? 'mapper').split(',').filter(Boolean);
const crashAfter = values['crash-after'] === undefined ? Number.POSITIVE_INFINITY : Number(values['crash-after']);

let received = 0;
/** Counts every subtask this process took, and plays the crash when asked to. */
function take(subtask: SubtaskContext): void {
  received++;
  if (received >= crashAfter) {
    process.stderr.write(`worker ${os.agentId}: crashing on purpose with ${subtask.subtask_id} in hand\n`);
    process.exit(3);
  }
}

const handlers: Record<string, (subtask: SubtaskContext) => Counts> = {
  mapper: (subtask) => countWords((subtask.input as { text: string }).text),
  reducer: (subtask) => mergeCounts(Object.values(subtask.inputs) as Counts[]),
};

const os = await AgentOSClient.connect();
// Roles first, then the ready message, then the workers: once a worker's RECV long poll is
// in flight it holds this connection's later replies, so the SEND goes before it.
for (const role of roles) {
  if (!handlers[role]) throw new Error(`--roles: no handler for "${role}" (known: ${Object.keys(handlers).join(', ')})`);
  await os.call('REGISTER', { role });
}
if (values['ready-to']) await os.call('SEND', { to_name: values['ready-to'], message: { ready: os.agentId, roles } });
for (const role of roles) {
  const handler = handlers[role] as (subtask: SubtaskContext) => Counts;
  await worker(os, {
    role,
    register: false,
    handle: (subtask) => {
      take(subtask);
      return handler(subtask);
    },
  });
}
