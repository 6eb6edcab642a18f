/**
 * The embedded database: one SQLite file (WAL) under the data directory for model and job records.
 * better-sqlite3 ships no type declarations; the part the store uses is typed here.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
// @ts-ignore -- no type declarations
import BetterSqlite3 from 'better-sqlite3';

export interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(source: string): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
}

/** Schema versions, applied in order; PRAGMA user_version records how many ran. */
const MIGRATIONS = [
  `CREATE TABLE models (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     artifact_key TEXT NOT NULL,
     onnx_sha256 TEXT NOT NULL,
     settings TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('compiling', 'ready', 'failed')),
     error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX models_key ON models (artifact_key);
   CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     model_id TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
     input TEXT NOT NULL,
     result TEXT,
     error TEXT,
     timings TEXT,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER
   );
   CREATE INDEX jobs_status ON jobs (status);
   CREATE INDEX jobs_model ON jobs (model_id);`,
  // Scale-out: who asked (per-client fairness), the priority that gave, and where and how often it ran.
  `ALTER TABLE jobs ADD COLUMN client TEXT NOT NULL DEFAULT '';
   ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE jobs ADD COLUMN node TEXT;
   CREATE INDEX jobs_client ON jobs (client, status);`,
  // Client-side proving: whether the owner lets clients download the proving artifacts (they reveal fixed weights).
  `ALTER TABLE models ADD COLUMN client_proving INTEGER NOT NULL DEFAULT 0;`,
  // Uploads under an existing name are that name's next version.
  `ALTER TABLE models ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX models_name ON models (name, version);`,
];

export function openDatabase(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new BetterSqlite3(join(dataDir, 'zkinfer.db')) as Database;
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a commit survives a process crash; only a power loss can drop the last ones.
  db.pragma('synchronous = NORMAL');
  const version = db.pragma('user_version') as [{ user_version: number }];
  db.transaction(() => {
    MIGRATIONS.slice(version[0].user_version).forEach((sql) => db.exec(sql));
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
  return db;
}
