import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** File name of the daemon's database inside `config.home`. */
export const DATABASE_FILE = 'sandboxd.db';

const migrations: string[] = [
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     mask TEXT NOT NULL,
     created_at TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE TABLE sandboxes (
     id TEXT PRIMARY KEY,
     template_id TEXT NOT NULL,
     template_alias TEXT NOT NULL,
     rootfs_path TEXT NOT NULL,
     metadata TEXT NOT NULL,
     env_vars TEXT NOT NULL,
     access_token TEXT,
     address TEXT,
     limits TEXT NOT NULL,
     egress TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     end_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     ended_at INTEGER
   );
   CREATE INDEX sandboxes_state ON sandboxes(state);`,
  `ALTER TABLE sandboxes ADD COLUMN ingress TEXT NOT NULL DEFAULT '{"trafficAccessToken":null,"maskRequestHost":null}';`,
  // Scoped keys (keys from before are admin), sandbox ownership, usage rollups (usage/usage-store.ts).
  `ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '["admin"]';
   ALTER TABLE api_keys ADD COLUMN max_sandboxes INTEGER;
   ALTER TABLE api_keys ADD COLUMN max_timeout_sec INTEGER;
   ALTER TABLE api_keys ADD COLUMN max_memory_mb INTEGER;
   ALTER TABLE sandboxes ADD COLUMN owner_key_id TEXT;
   CREATE TABLE usage_minutes (
     sandbox_id TEXT NOT NULL,
     key_id TEXT,
     minute INTEGER NOT NULL,
     sandbox_seconds REAL NOT NULL DEFAULT 0,
     cpu_seconds REAL NOT NULL DEFAULT 0,
     memory_gib_seconds REAL NOT NULL DEFAULT 0,
     executions INTEGER NOT NULL DEFAULT 0,
     egress_bytes INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (sandbox_id, minute)
   );
   CREATE INDEX usage_minutes_minute ON usage_minutes(minute, key_id);
   CREATE TABLE usage_cursors (
     sandbox_id TEXT PRIMARY KEY,
     at INTEGER NOT NULL,
     cpu_nanos INTEGER NOT NULL,
     egress_bytes INTEGER NOT NULL
   );`,
  `ALTER TABLE sandboxes ADD COLUMN lifecycle TEXT;`,
  // Download (ingress) metering beside egress.
  `ALTER TABLE usage_minutes ADD COLUMN ingress_bytes INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE usage_cursors ADD COLUMN ingress_bytes INTEGER NOT NULL DEFAULT 0;`,
];

/**
 * Opens (creating when needed) the daemon's SQLite database under `home` and applies pending
 * migrations. Pass `':memory:'` as home for a throw-away database.
 */
export function openDatabase(home: string): Db {
  let file = ':memory:';
  if (home !== ':memory:') {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    file = join(home, DATABASE_FILE);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let i = version; i < migrations.length; i++) {
    db.transaction(() => {
      db.exec(migrations[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return db;
}
