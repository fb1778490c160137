/**
 * examples/orchestrator end to end: a real kernel on a temp socket, the three workers as
 * real process agents (two Node, one Python speaking the wire protocol by hand), one of
 * them crashing with a subtask in hand. The word counts must equal a local count, and the
 * crash must show in the task's history: an attempt that ended agent_exited, then the
 * same subtask completed by another agent.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_DIR } from '../../examples/orchestrator/orchestrator.js';
import { runExample } from '../../examples/orchestrator/run.js';
import { countWords, mergeCounts, topWords } from '../../examples/orchestrator/words.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

describe('examples/orchestrator: map-reduce with a crashing worker', () => {
  let kernel: TestKernel;
  beforeAll(async () => {
    kernel = await startTestKernel({ httpPort: null });
  });
  afterAll(async () => {
    await kernel.cleanup();
  });

  it('counts every word right although node-b exits holding a subtask, which another mapper then completes', async () => {
    const lines: string[] = [];
    // The launcher connects over the socket with the admin token in the kernel's data directory, as a user would.
    const outcome = await runExample({ socket: kernel.socketPath, dataDir: kernel.options.dataDir, say: (line) => lines.push(line) });

    // The expected counts, made here from the files without any of the example's plumbing.
    const files = (await readdir(DATA_DIR)).filter((name) => name.endsWith('.txt'));
    expect(files.length).toBe(12);
    const expected = mergeCounts(await Promise.all(files.map(async (file) => countWords(await readFile(join(DATA_DIR, file), 'utf8')))));
    expect(outcome.task.status).toBe('completed');
    expect(outcome.counts).toEqual(expected);
    expect(outcome.correct).toBe(true);
    expect(topWords(outcome.counts, 1)[0]?.[0]).toBe('the');

    // The crash: node-b exited with a subtask in hand; the kernel completed it elsewhere.
    const nodeB = outcome.workers.find((worker) => worker.name === 'node-b')?.agent_id;
    expect(outcome.retried.length, lines.join('\n')).toBeGreaterThanOrEqual(1);
    for (const retried of outcome.retried) {
      expect(retried.crashed_agent).toBe(nodeB);
      expect(retried.completed_by).not.toBe(nodeB);
    }
    const subtask = outcome.task.subtasks.find((s) => s.subtask_id === outcome.retried[0]?.subtask_id);
    const exited = subtask?.attempts.find((attempt) => attempt.outcome === 'agent_exited');
    expect(exited?.agent_id).toBe(nodeB);
    expect(subtask?.status).toBe('completed');

    // Every map ran on some mapper; the Python worker took part.
    const py = outcome.workers.find((worker) => worker.name === 'py')?.agent_id;
    const completers = new Set(
      outcome.task.subtasks.flatMap((s) => s.attempts.filter((a) => a.outcome === 'completed').map((a) => a.agent_id)),
    );
    expect(completers.has(py as number)).toBe(true);
    expect(outcome.task.subtasks.find((s) => s.key === 'reduce')?.status).toBe('completed');
  }, 60_000);
});
