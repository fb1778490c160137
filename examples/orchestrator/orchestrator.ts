// The orchestrator: ONE task with a map subtask per file (role "mapper") and a reduce
// subtask depending on every map (role "reducer"). The kernel assigns them to the agents
// holding those roles, retries a failed attempt on another mapper, passes the maps'
// results to the reduce, and keeps the whole thing in its database. The orchestrator only
// creates the task and waits for it.
//
// Standalone, against a running kernel with workers already up:
//   AGENTOS_SOCKET=/tmp/agentos.sock node --import tsx examples/orchestrator/orchestrator.ts [FOLDER]
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SubtaskSpec, TaskView } from '../../src/protocol/schemas/tasks.js';
import { AgentOSClient } from '../../src/sdk/index.js';
import { createTask, type TaskClient } from '../../src/sdk/tasks/create.js';
import { waitFor } from '../../src/sdk/tasks/wait.js';
import { type Counts, countWords, sameCounts, topWords } from './words.js';

export const DATA_DIR = join(import.meta.dirname, 'data');

/** Every attempt that ended because its agent exited, and the attempt that then completed the subtask. */
export interface Retried {
  subtask_id: string;
  crashed_agent: number;
  completed_by: number;
}

export interface Outcome {
  task: TaskView;
  counts: Counts;
  /** Counted here, without the kernel: what `counts` must equal. */
  expected: Counts;
  correct: boolean;
  retried: Retried[];
}

/** Each map attempt has 10 s; a failed one is retried twice more, on another mapper when there is one. */
const RETRY = { max_retries: 3, backoff_ms: 50, max_backoff_ms: 1000, reassign: true };

/** Subtask keys allow letters, digits and `._:-`: a file name reduced to those. */
const mapKey = (file: string) => `map-${basename(file, extname(file)).replace(/[^A-Za-z0-9._:-]/g, '_')}`.slice(0, 64);

export async function orchestrate(client: TaskClient, folder: string, say: (line: string) => void): Promise<Outcome> {
  const files = (await readdir(folder)).filter((name) => name.endsWith('.txt')).sort();
  if (files.length === 0) throw new Error(`no .txt files in ${folder}`);
  const texts = await Promise.all(files.map((file) => readFile(join(folder, file), 'utf8')));
  // The text itself travels in the input: a worker need not be allowed to read this folder.
  const maps: SubtaskSpec[] = files.map((file, i) => ({
    key: mapKey(file),
    description: `count the words of ${file}`,
    input: { file, text: texts[i] },
    depends_on: [],
    role: 'mapper',
    timeout_ms: 10_000,
    retry: RETRY,
  }));
  const reduce: SubtaskSpec = {
    key: 'reduce',
    description: 'add the counts of every file',
    depends_on: maps.map((map) => map.key),
    role: 'reducer',
    timeout_ms: 10_000,
    retry: RETRY,
  };
  const created = await createTask(client, {
    description: `word count over ${files.length} files in ${basename(folder)}`,
    subtasks: [...maps, reduce],
    timeout_ms: 60_000,
  });
  say(`created ${created.task_id}: ${maps.length} map subtasks (role mapper) and 1 reduce (role reducer)`);

  let last = '';
  const task = await waitFor(client, created.task_id, {
    timeoutMs: 60_000,
    onUpdate: (view) => {
      const states = new Map<string, number>();
      for (const subtask of view.subtasks) states.set(subtask.status, (states.get(subtask.status) ?? 0) + 1);
      const line = `${view.task_id} ${view.status}: ${[...states].map(([state, n]) => `${n} ${state}`).join(', ')}`;
      if (line === last) return;
      last = line;
      say(`  ${line}`);
    },
  });
  const counts = (task.result as { reduce: Counts }).reduce;
  const expected = countWords(texts.join('\n'));
  return { task, counts, expected, correct: sameCounts(counts, expected), retried: retriedAttempts(task) };
}

/** Subtasks whose attempt ended with its agent's exit and then completed on another agent. */
export function retriedAttempts(task: TaskView): Retried[] {
  const out: Retried[] = [];
  for (const subtask of task.subtasks) {
    const exited = subtask.attempts.findIndex((attempt) => attempt.outcome === 'agent_exited');
    if (exited < 0) continue;
    const crashed = subtask.attempts[exited] as (typeof subtask.attempts)[number];
    const done = subtask.attempts.slice(exited + 1).find((a) => a.outcome === 'completed' && a.agent_id !== crashed.agent_id);
    if (done) out.push({ subtask_id: subtask.subtask_id, crashed_agent: crashed.agent_id, completed_by: done.agent_id });
  }
  return out;
}

export function report(outcome: Outcome, say: (line: string) => void): void {
  say(`${outcome.task.task_id} ${outcome.task.status}; top 10 words:`);
  for (const [word, n] of topWords(outcome.counts, 10)) say(`  ${String(n).padStart(4)}  ${word}`);
  const words = Object.keys(outcome.counts).length;
  say(`check against a local count: ${outcome.correct ? 'equal' : 'DIFFERENT'} (${words} distinct words)`);
  for (const r of outcome.retried) {
    say(`retried: ${r.subtask_id} was lost when agent ${r.crashed_agent} exited, then completed by agent ${r.completed_by}`);
  }
  if (outcome.retried.length === 0) say('retried: none (no worker crashed with a subtask in hand)');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const client = await AgentOSClient.connect({ name: 'orchestrator' });
  try {
    const outcome = await orchestrate(client, process.argv[2] ?? DATA_DIR, say);
    report(outcome, say);
    process.exitCode = outcome.correct ? 0 : 1;
  } finally {
    await client.close();
  }
}
