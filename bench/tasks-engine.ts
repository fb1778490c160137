/**
 * Question: what does the task engine alone (no kernel, no socket) cost per task? Creates
 * and completes `--tasks` one-subtask tasks in bursts of `--burst` (each burst shares one
 * group commit, as calls arriving in one event-loop turn do), on a fresh tasks.db in a temp
 * dir, and reports tasks/s and the milliseconds of each phase. The floor for TASK_* over a
 * socket: the kernel benchmarks add the wire and the router on top.
 *
 * Usage: npx tsx bench/tasks-engine.ts [--tasks N (5000)] [--burst B (500)]
 * Prints one JSON result line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TaskCreateRequest } from '../src/protocol/schemas/tasks.js';
import { type TaskCaller, TaskEngine } from '../src/tasks/engine.js';
import { TaskStore } from '../src/tasks/store.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '5000' }, burst: { type: 'string', default: '500' } } });
const tasks = Number(values.tasks);
const burst = Number(values.burst);

const dir = mkdtempSync(join(tmpdir(), 'agentos-bench-tasks-'));
const engine = TaskEngine.open({
  store: TaskStore.open(join(dir, 'tasks.db')),
  deliver: () => true,
  agentsWithRole: () => [],
  findAgent: () => undefined,
  changed: () => {},
});
const creator: TaskCaller = { agent_id: 1, name: 'bench', lineage: [1], admin: false };
const request = TaskCreateRequest.parse({ description: 'bench' });

let createMs = 0;
let completeMs = 0;
const started = performance.now();
for (let done = 0; done < tasks; done += burst) {
  const n = Math.min(burst, tasks - done);
  const t0 = performance.now();
  const created = await Promise.all(Array.from({ length: n }, () => engine.create(request, creator)));
  const t1 = performance.now();
  await Promise.all(created.map((task) => engine.complete({ task_id: task.task_id, result: 1 }, creator)));
  createMs += t1 - t0;
  completeMs += performance.now() - t1;
}
const totalMs = performance.now() - started;
await engine.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    bench: 'tasks-engine',
    tasks,
    burst,
    total_ms: Math.round(totalMs),
    create_ms: Math.round(createMs),
    complete_ms: Math.round(completeMs),
    tasks_per_s: Math.round((tasks / totalMs) * 1000),
  })}\n`,
);
