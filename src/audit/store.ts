/**
 * The audit log's SQLite file, `<data-dir>/audit.db` (WAL): one table of entries, one
 * row of configuration, statements prepared once. It writes what it is given and reads
 * pages; buffering and switches are log.ts's job.
 *
 * `id INTEGER PRIMARY KEY AUTOINCREMENT`: SQLite then never hands out an id again, even
 * once retention has deleted every row below it, so a reader's `since_id` keeps its
 * meaning across retention and restarts.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type AuditCategory, AuditConfig, type AuditEntry } from '../protocol/schemas/audit.js';

/** An entry as it is written: detail already JSON (bounded when it was recorded). */
export interface AuditRow {
  timestamp: number;
  category: AuditCategory;
  agent_id: number | null;
  agent_name: string | null;
  op: string;
  detail: string;
}

interface StoredRow extends AuditRow {
  id: number;
}

export interface PageQuery {
  category?: AuditCategory | undefined;
  agent_id?: number | undefined;
  since_id: number;
  limit: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp INTEGER NOT NULL,
    category TEXT NOT NULL,
    agent_id INTEGER,
    agent_name TEXT,
    op TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_by_category ON audit (category, id);
  CREATE INDEX IF NOT EXISTS audit_by_agent ON audit (agent_id, id);
  CREATE TABLE IF NOT EXISTS audit_config (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    config TEXT NOT NULL
  );
`;

const COLUMNS = 'id, timestamp, category, agent_id, agent_name, op, detail';

export class AuditStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[AuditRow]>;
  readonly #insertMany: (rows: readonly AuditRow[]) => void;
  /** One statement per filter combination, so each walks the index that fits it. */
  readonly #pages: Record<'all' | 'category' | 'agent' | 'both', Database.Statement<[PageQuery], StoredRow>>;
  readonly #oldest: Database.Statement<[], { id: number | null }>;
  readonly #trim: Database.Statement<[number]>;
  readonly #loadConfig: Database.Statement<[], { config: string }>;
  readonly #saveConfig: Database.Statement<[string]>;
  /** Rows in the table, kept in step with every insert and delete so retention never counts. */
  #rows: number;

  constructor(dataDir: string) {
    const db = new Database(join(dataDir, 'audit.db'));
    try {
      db.pragma('journal_mode = WAL');
      // A batch is in the WAL file before flush() returns: it survives a crash of the kernel.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO audit (timestamp, category, agent_id, agent_name, op, detail) VALUES (@timestamp, @category, @agent_id, @agent_name, @op, @detail)',
    );
    this.#insertMany = db.transaction((rows: readonly AuditRow[]) => {
      for (const row of rows) this.#insert.run(row);
    });
    const page = (where: string) =>
      db.prepare<[PageQuery], StoredRow>(`SELECT ${COLUMNS} FROM audit WHERE ${where} id > @since_id ORDER BY id LIMIT @limit`);
    this.#pages = {
      all: page(''),
      category: page('category = @category AND'),
      agent: page('agent_id = @agent_id AND'),
      both: page('category = @category AND agent_id = @agent_id AND'),
    };
    this.#oldest = db.prepare('SELECT min(id) AS id FROM audit');
    this.#trim = db.prepare('DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id LIMIT ?)');
    this.#loadConfig = db.prepare('SELECT config FROM audit_config WHERE only = 1');
    this.#saveConfig = db.prepare(
      'INSERT INTO audit_config (only, config) VALUES (1, ?) ON CONFLICT (only) DO UPDATE SET config = excluded.config',
    );
    this.#rows = (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
  }

  get rows(): number {
    return this.#rows;
  }

  /** One transaction for the whole batch. */
  insert(rows: readonly AuditRow[]): void {
    if (rows.length === 0) return;
    this.#insertMany(rows);
    this.#rows += rows.length;
  }

  /** Deletes up to `batch` of the oldest rows beyond `keep`; returns how many are still beyond it. */
  trim(keep: number, batch: number): number {
    const excess = this.#rows - keep;
    if (excess <= 0) return 0;
    const deleted = this.#trim.run(Math.min(excess, batch)).changes;
    this.#rows -= deleted;
    return Math.max(0, this.#rows - keep);
  }

  page(query: PageQuery): AuditEntry[] {
    const which =
      query.category !== undefined ? (query.agent_id !== undefined ? 'both' : 'category') : query.agent_id !== undefined ? 'agent' : 'all';
    return this.#pages[which].all(query).map((row) => ({ ...row, detail: JSON.parse(row.detail) as Record<string, unknown> }));
  }

  oldestId(): number | null {
    return this.#oldest.get()?.id ?? null;
  }

  /** The persisted configuration, or undefined when none was saved (or it no longer parses). */
  loadConfig(): AuditConfig | undefined {
    const row = this.#loadConfig.get();
    if (row === undefined) return undefined;
    try {
      const parsed = AuditConfig.safeParse(JSON.parse(row.config));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  saveConfig(config: AuditConfig): void {
    this.#saveConfig.run(JSON.stringify(config));
  }

  close(): void {
    this.#db.close();
  }
}
