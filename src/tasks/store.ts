/**
 * Tasks and subtasks in `<data-dir>/tasks.db` (SQLite, WAL, synchronous=NORMAL: a commit is
 * in the WAL file through write(2) before the reply, so it survives a crash of the kernel).
 *
 * Group commit: the engine changes its in-memory records and marks them dirty here; every
 * record marked during one event-loop turn is written in one transaction at setImmediate,
 * and `committed()` resolves after it. So a syscall replies only once its change is
 * committed, and a burst of thousands of calls costs a few transactions, not thousands.
 * A record marked twice in a turn is serialized once, at the commit.
 *
 * Rows hold the record as JSON beside the columns queries need (status, ordering). The
 * task-id counter lives in `meta`, written in the same transaction as the task it
 * numbered, so ids are never reused across restarts. Retention (deleting old finished
 * tasks) is out of scope: finished tasks stay until the file is removed.
 */
import Database from 'better-sqlite3';
import type { RetryPolicy, SubtaskView, TaskStatus, TaskView } from '../protocol/schemas/tasks.js';

/** A subtask as stored: its view plus what the engine needs to resume it. */
export type StoredSubtask = SubtaskView & {
  task_id: string;
  position: number;
  input?: unknown;
  timeout_ms: number | null;
  retry: RetryPolicy;
  /** The agent whose attempt failed last: a reassignment prefers another one. */
  avoid: number | null;
};

/** A task as stored: its view without subtasks, plus what permissions and retries need. */
export type StoredTask = Omit<TaskView, 'subtasks'> & {
  seq: number;
  /** The creator and its ancestors at creation: who may TASK_ASSIGN and TASK_CANCEL. */
  lineage: number[];
  retry: RetryPolicy;
  timeout_ms: number | null;
  counts: { subtasks: number; completed: number; failed: number };
};

export interface StoredTaskTree {
  task: StoredTask;
  subtasks: StoredSubtask[];
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, seq);
  CREATE TABLE IF NOT EXISTS subtasks (
    task_seq INTEGER NOT NULL,
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (task_seq, position)
  ) WITHOUT ROWID;
`;

const UNFINISHED: readonly TaskStatus[] = ['pending', 'running'];

export class TaskStore {
  readonly #db: Database.Database;
  readonly #putTask: Database.Statement<[number, string, string, string]>;
  readonly #putSubtask: Database.Statement<[number, number, string]>;
  readonly #putCounter: Database.Statement<[number]>;
  readonly #getTask: Database.Statement<[string], { data: string }>;
  readonly #getSubtasks: Database.Statement<[number], { data: string }>;
  readonly #byStatus: Database.Statement<[string, number], { data: string }>;
  readonly #newest: Database.Statement<[number], { data: string }>;
  readonly #commit: () => void;

  #lastSeq: number;
  #counterDirty = false;
  readonly #dirtyTasks = new Map<string, StoredTask>();
  readonly #dirtySubtasks = new Map<string, StoredSubtask>();
  #batch: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null = null;
  #scheduled = false;
  #closed = false;
  /** Called after each commit, before its waiters resume (the engine publishes TASK_UPDATED here). */
  onCommitted: (() => void) | null = null;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.exec(SCHEMA);
    this.#putTask = db.prepare(
      `INSERT INTO tasks (seq, task_id, status, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (seq) DO UPDATE SET status = excluded.status, data = excluded.data`,
    );
    this.#putSubtask = db.prepare(
      `INSERT INTO subtasks (task_seq, position, data) VALUES (?, ?, ?)
       ON CONFLICT (task_seq, position) DO UPDATE SET data = excluded.data`,
    );
    this.#putCounter = db.prepare(
      `INSERT INTO meta (name, value) VALUES ('last_task', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    );
    this.#getTask = db.prepare('SELECT data FROM tasks WHERE task_id = ?');
    this.#getSubtasks = db.prepare('SELECT data FROM subtasks WHERE task_seq = ? ORDER BY position');
    this.#byStatus = db.prepare('SELECT data FROM tasks WHERE status = ? ORDER BY seq DESC LIMIT ?');
    this.#newest = db.prepare('SELECT data FROM tasks ORDER BY seq DESC LIMIT ?');
    const counter = db.prepare(`SELECT value FROM meta WHERE name = 'last_task'`).get() as { value: number } | undefined;
    const highest = db.prepare('SELECT max(seq) AS seq FROM tasks').get() as { seq: number | null };
    this.#lastSeq = Math.max(counter?.value ?? 0, highest.seq ?? 0);
    this.#commit = db.transaction(() => this.#writeDirty());
  }

  static open(path: string): TaskStore {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return new TaskStore(db);
  }

  /** The next task number (task-N); committed with the next batch. */
  allocateSeq(): number {
    this.#lastSeq += 1;
    this.#counterDirty = true;
    this.#schedule();
    return this.#lastSeq;
  }

  saveTask(task: StoredTask): void {
    this.#dirtyTasks.set(task.task_id, task);
    this.#schedule();
  }

  saveSubtask(subtask: StoredSubtask): void {
    this.#dirtySubtasks.set(subtask.subtask_id, subtask);
    this.#schedule();
  }

  /** Resolves once everything marked so far is committed (at once when nothing is pending). */
  committed(): Promise<void> {
    if (!this.#scheduled) return Promise.resolve();
    if (!this.#batch) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#batch = { promise, resolve, reject };
    }
    return this.#batch.promise;
  }

  /** Commits now (reads from the database call it first, so they see every change). */
  flush(): void {
    if (!this.#scheduled || this.#closed) return;
    this.#scheduled = false;
    const batch = this.#batch;
    this.#batch = null;
    try {
      this.#commit();
    } catch (error) {
      batch?.reject(error);
      return;
    }
    this.onCommitted?.();
    batch?.resolve();
  }

  loadUnfinished(): StoredTaskTree[] {
    this.flush();
    const trees: StoredTaskTree[] = [];
    for (const status of UNFINISHED) {
      for (const row of this.#byStatus.all(status, Number.MAX_SAFE_INTEGER)) trees.push(this.#tree(JSON.parse(row.data) as StoredTask));
    }
    return trees.sort((a, b) => a.task.seq - b.task.seq);
  }

  load(taskId: string): StoredTaskTree | undefined {
    this.flush();
    const row = this.#getTask.get(taskId);
    return row ? this.#tree(JSON.parse(row.data) as StoredTask) : undefined;
  }

  /** Only the task row (no subtasks): its status, for `depends_on` and summaries. */
  loadTask(taskId: string): StoredTask | undefined {
    this.flush();
    const row = this.#getTask.get(taskId);
    return row ? (JSON.parse(row.data) as StoredTask) : undefined;
  }

  /** Newest first. */
  list(status: TaskStatus | undefined, limit: number): StoredTask[] {
    this.flush();
    const rows = status ? this.#byStatus.all(status, limit) : this.#newest.all(limit);
    return rows.map((row) => JSON.parse(row.data) as StoredTask);
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#db.close();
  }

  #tree(task: StoredTask): StoredTaskTree {
    return { task, subtasks: this.#getSubtasks.all(task.seq).map((row) => JSON.parse(row.data) as StoredSubtask) };
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  #writeDirty(): void {
    if (this.#counterDirty) this.#putCounter.run(this.#lastSeq);
    this.#counterDirty = false;
    for (const task of this.#dirtyTasks.values()) this.#putTask.run(task.seq, task.task_id, task.status, JSON.stringify(task));
    this.#dirtyTasks.clear();
    for (const subtask of this.#dirtySubtasks.values()) {
      const seq = seqOf(subtask.task_id);
      this.#putSubtask.run(seq, subtask.position, JSON.stringify(subtask));
    }
    this.#dirtySubtasks.clear();
  }
}

/** task-17 → 17 (ids are made by the engine from the counter, so the shape is known). */
export function seqOf(taskId: string): number {
  return Number(taskId.slice('task-'.length));
}
