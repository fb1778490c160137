/** The task store: group commit, the id counter across reopen, loading unfinished tasks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryPolicy } from '../../src/protocol/schemas/tasks.js';
import { type StoredTask, TaskStore } from '../../src/tasks/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function path(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentos-task-store-'));
  dirs.push(dir);
  return join(dir, 'tasks.db');
}

function task(seq: number, status: StoredTask['status']): StoredTask {
  return {
    task_id: `task-${seq}`,
    seq,
    description: `t${seq}`,
    status,
    created_by: 1,
    created_by_name: null,
    lineage: [1],
    depends_on: [],
    error: null,
    metadata: {},
    version: 1,
    created_at: 0,
    updated_at: 0,
    ended_at: null,
    deadline: null,
    retry: RetryPolicy.parse({}),
    timeout_ms: null,
    counts: { subtasks: 0, completed: 0, failed: 0 },
  };
}

describe('TaskStore', () => {
  it('commits everything marked in one turn in one transaction, then resolves and calls onCommitted', async () => {
    const file = path();
    const store = TaskStore.open(file);
    let commits = 0;
    store.onCommitted = () => commits++;
    const records = Array.from({ length: 100 }, () => task(store.allocateSeq(), 'pending'));
    for (const record of records) store.saveTask(record);
    const committed = store.committed();
    // Changed after marking, before the commit: the commit writes the latest state.
    (records[0] as StoredTask).status = 'running';
    await committed;
    expect(commits).toBe(1);
    expect(store.loadTask('task-1')?.status).toBe('running');
    expect(store.list(undefined, 3).map((t) => t.task_id)).toEqual(['task-100', 'task-99', 'task-98']);
    await expect(store.committed()).resolves.toBeUndefined();
    store.close();
  });

  it('keeps the counter across reopen and loads only unfinished tasks', () => {
    const file = path();
    const store = TaskStore.open(file);
    const seqs = [store.allocateSeq(), store.allocateSeq(), store.allocateSeq()];
    store.saveTask(task(seqs[0] as number, 'completed'));
    store.saveTask(task(seqs[1] as number, 'running'));
    store.close();
    const again = TaskStore.open(file);
    // The third id was never saved as a task, but the counter was committed: it is not reused.
    expect(again.allocateSeq()).toBe(4);
    expect(again.loadUnfinished().map((tree) => tree.task.task_id)).toEqual(['task-2']);
    expect(again.list('completed', 10).map((t) => t.task_id)).toEqual(['task-1']);
    again.close();
  });
});
