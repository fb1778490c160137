/**
 * TUNNEL_CONFIG's settings in `<data-dir>/tunnel.db` (0600: it holds the machine
 * token): where to connect and whether to at start. The token goes in and is used, but
 * never comes back out through `view()`.
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface TunnelSettings {
  relay_url: string | null;
  machine_id: string | null;
  token: string | null;
  auto_connect: boolean;
}

/** What TUNNEL_CONFIG answers: the settings without the token. */
export interface TunnelSettingsView {
  relay_url: string | null;
  machine_id: string | null;
  token_set: boolean;
  auto_connect: boolean;
}

export type TunnelSettingsUpdate = Partial<Omit<TunnelSettings, 'auto_connect'>> & { auto_connect?: boolean; clear?: boolean };

const KEYS = ['relay_url', 'machine_id', 'token', 'auto_connect'] as const;

export class TunnelSettingsStore {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string], { value: string }>;
  readonly #put: Database.Statement<[string, string]>;
  readonly #del: Database.Statement<[string]>;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.exec('CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    this.#get = db.prepare('SELECT value FROM settings WHERE key = ?');
    this.#put = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.#del = db.prepare('DELETE FROM settings WHERE key = ?');
  }

  static open(dataDir: string): TunnelSettingsStore {
    const path = join(dataDir, 'tunnel.db');
    const db = new Database(path);
    chmodSync(path, 0o600);
    return new TunnelSettingsStore(db);
  }

  read(): TunnelSettings {
    const text = (key: string) => this.#get.get(key)?.value ?? null;
    return {
      relay_url: text('relay_url'),
      machine_id: text('machine_id'),
      token: text('token'),
      auto_connect: text('auto_connect') === 'true',
    };
  }

  view(): TunnelSettingsView {
    const { token, ...rest } = this.read();
    return { ...rest, token_set: token !== null };
  }

  /** `clear` first empties every setting; the fields given are then written, in one transaction. */
  update(update: TunnelSettingsUpdate): TunnelSettingsView {
    this.#db.transaction(() => {
      if (update.clear) for (const key of KEYS) this.#del.run(key);
      for (const key of KEYS) {
        const value = update[key];
        if (value === undefined) continue;
        if (value === null) this.#del.run(key);
        else this.#put.run(key, String(value));
      }
    })();
    return this.view();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
