/**
 * The relay's own tables in `<data-dir>/relay.db` (docs/relay.md §10), beside the token
 * store's: the machines it has seen and the agents it deployed. A second connection to
 * the same WAL file; every statement is prepared once.
 */
import Database from 'better-sqlite3';
import type { DeploymentView } from '../fleet/hub.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS machines (
    machine_id TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    kernel_version TEXT,
    removed INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY,
    machine_id TEXT NOT NULL,
    name TEXT NOT NULL,
    agent_id INTEGER NOT NULL,
    deployed_at INTEGER NOT NULL,
    stopped_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS deployments_running ON deployments (machine_id, name) WHERE stopped_at IS NULL;
`;

export interface MachineRow {
  machine_id: string;
  first_seen: number;
  last_seen: number;
  kernel_version: string | null;
}

export class RelayStore {
  readonly #db: Database.Database;
  readonly #seen: Database.Statement<{ machine_id: string; now: number; kernel_version: string }>;
  readonly #touch: Database.Statement<[number, string]>;
  readonly #remove: Database.Statement<[string]>;
  readonly #machines: Database.Statement<[], MachineRow>;
  readonly #machine: Database.Statement<[string], MachineRow>;
  readonly #machineCount: Database.Statement<[], { n: number }>;
  readonly #deploy: Database.Statement<[string, string, number, number]>;
  readonly #stop: Database.Statement<[number, string, string]>;
  readonly #running: Database.Statement<[], DeploymentView>;
  readonly #runningOn: Database.Statement<[string], DeploymentView>;
  readonly #runningCount: Database.Statement<[], { n: number }>;
  readonly #runningCountOn: Database.Statement<[string], { n: number }>;

  static open(path: string): RelayStore {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return new RelayStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#seen = db.prepare(
      `INSERT INTO machines (machine_id, first_seen, last_seen, kernel_version, removed) VALUES (@machine_id, @now, @now, @kernel_version, 0)
       ON CONFLICT (machine_id) DO UPDATE SET last_seen = @now, kernel_version = @kernel_version, removed = 0`,
    );
    this.#touch = db.prepare('UPDATE machines SET last_seen = ? WHERE machine_id = ?');
    this.#remove = db.prepare('UPDATE machines SET removed = 1 WHERE machine_id = ? AND removed = 0');
    const columns = 'machine_id, first_seen, last_seen, kernel_version';
    this.#machines = db.prepare(`SELECT ${columns} FROM machines WHERE removed = 0 ORDER BY machine_id`);
    this.#machine = db.prepare(`SELECT ${columns} FROM machines WHERE machine_id = ? AND removed = 0`);
    this.#machineCount = db.prepare('SELECT count(*) AS n FROM machines WHERE removed = 0');
    this.#deploy = db.prepare('INSERT INTO deployments (machine_id, name, agent_id, deployed_at) VALUES (?, ?, ?, ?)');
    this.#stop = db.prepare('UPDATE deployments SET stopped_at = ? WHERE machine_id = ? AND name = ? AND stopped_at IS NULL');
    const running = 'SELECT machine_id, name, agent_id, deployed_at FROM deployments WHERE stopped_at IS NULL';
    this.#running = db.prepare(`${running} ORDER BY deployed_at, id`);
    this.#runningOn = db.prepare(`${running} AND machine_id = ? ORDER BY deployed_at, id`);
    this.#runningCount = db.prepare('SELECT count(*) AS n FROM deployments WHERE stopped_at IS NULL');
    this.#runningCountOn = db.prepare('SELECT count(*) AS n FROM deployments WHERE stopped_at IS NULL AND machine_id = ?');
  }

  /** A kernel authenticated: known from now on (again, if it had been removed). */
  machineSeen(machineId: string, kernelVersion: string, now: number): void {
    this.#seen.run({ machine_id: machineId, now, kernel_version: kernelVersion });
  }

  touch(machineId: string, now: number): void {
    this.#touch.run(now, machineId);
  }

  /** Hidden from the lists until it links again; false when unknown or already removed. */
  removeMachine(machineId: string): boolean {
    return this.#remove.run(machineId).changes > 0;
  }

  machines(): MachineRow[] {
    return this.#machines.all();
  }

  machine(machineId: string): MachineRow | undefined {
    return this.#machine.get(machineId);
  }

  machineCount(): number {
    return this.#machineCount.get()?.n ?? 0;
  }

  /** A successful deploy; one of the same name still marked running there was replaced, so it is closed first. */
  recordDeploy(machineId: string, name: string, agentId: number, now: number): void {
    this.#db.transaction(() => {
      this.#stop.run(now, machineId, name);
      this.#deploy.run(machineId, name, agentId, now);
    })();
  }

  recordStop(machineId: string, name: string, now: number): void {
    this.#stop.run(now, machineId, name);
  }

  /** The kernel's word on what it runs: every other running deployment of the machine is stopped. */
  reconcile(machineId: string, running: readonly { name: string; agent_id: number }[], now: number): number {
    const alive = new Set(running.map((agent) => `${agent.name}\0${agent.agent_id}`));
    let stopped = 0;
    this.#db.transaction(() => {
      for (const deployment of this.#runningOn.all(machineId)) {
        if (alive.has(`${deployment.name}\0${deployment.agent_id}`)) continue;
        stopped += this.#stop.run(now, machineId, deployment.name).changes;
      }
    })();
    return stopped;
  }

  /** Deployments not stopped, oldest first. */
  deployments(machineId?: string): DeploymentView[] {
    return machineId === undefined ? this.#running.all() : this.#runningOn.all(machineId);
  }

  deploymentCount(machineId?: string): number {
    return (machineId === undefined ? this.#runningCount.get() : this.#runningCountOn.get(machineId))?.n ?? 0;
  }

  close(): void {
    this.#db.close();
  }
}
