/**
 * The embedded database: one SQLite file (WAL) under the data directory for model and job records.
 * better-sqlite3 ships no type declarations; the part the store uses is typed here. Every call
 * through the returned Database turns a store fault (locked, disk full, read-only) into
 * STORAGE_FAILED (see faults.ts). The file holds private inputs until retention purges them, so
 * it is the owner's alone: the data directory is created 0700 and the database 0600.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error -- no type declarations
import BetterSqlite3 from 'better-sqlite3';
import { ZkError } from '../core/errors.js';
import { guarded, storageFault } from './faults.js';

export interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(source: string, options?: { simple: boolean }): unknown;
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
  // Retention: when a finished job's input and opening were purged (src/store/jobs.ts purgeFinished).
  `ALTER TABLE jobs ADD COLUMN purged_at INTEGER;
   CREATE INDEX jobs_finished ON jobs (finished_at) WHERE purged_at IS NULL;`,
  // Client-side proving: whether the owner lets clients download the proving artifacts (they reveal fixed weights).
  `ALTER TABLE models ADD COLUMN client_proving INTEGER NOT NULL DEFAULT 0;`,
  // Uploads under an existing name are that name's next version.
  `ALTER TABLE models ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX models_name ON models (name, version);`,
  // Builds started and not ended by a result or a clean stop: a build that takes the process down
  // (out of memory) is not started again at every restart (src/jobs/compiles.ts).
  `ALTER TABLE models ADD COLUMN build_starts INTEGER NOT NULL DEFAULT 0;`,
  // With API keys, a model and its name belong to the client that uploaded it (NULL: the operator's, or from before).
  `ALTER TABLE models ADD COLUMN owner TEXT;`,
  // A client's proof is recorded once per statement: re-sent (or re-randomized) bundles add no rows.
  `ALTER TABLE jobs ADD COLUMN statement TEXT;
   CREATE UNIQUE INDEX jobs_statement ON jobs (model_id, client, statement) WHERE statement IS NOT NULL;`,
];

/**
 * How long a write waits for another connection's lock before it fails with STORAGE_FAILED.
 * better-sqlite3 waits synchronously, blocking the event loop, so this is short: a job's record
 * is retried asynchronously instead (JobLedger.settle).
 */
const BUSY_TIMEOUT_MS = 500;

export const DATABASE_FILE = 'zkinfer.db';

/**
 * Opens (creating or migrating) the data directory's database. A database that cannot be opened
 * (disk full, read-only, not a database) is STORAGE_FAILED with a message for the operator.
 */
export function openDatabase(dataDir: string): Database {
  try {
    return guard(open(dataDir));
  } catch (e) {
    const fault = storageFault(e);
    if (!fault) throw e;
    throw new ZkError('STORAGE_FAILED', `cannot open the database in ${dataDir}: ${fault.message}`, fault.details);
  }
}

function open(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  // SQLite gives its -wal and -shm files the database's mode, so one chmod covers all three.
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const db = new BetterSqlite3(file, { timeout: BUSY_TIMEOUT_MS }) as Database;
  try {
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** WAL mode and the pending migrations; an up-to-date database is not written. */
function migrate(db: Database): void {
  if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a commit survives a process crash; only a power loss can drop the last ones.
  db.pragma('synchronous = NORMAL');
  // Deleted and overwritten content is zeroed in the file, so a purged salt or input does not
  // linger in free space (src/store/jobs.ts purgeFinished).
  db.pragma('secure_delete = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= MIGRATIONS.length) return;
  db.transaction(() => {
    MIGRATIONS.slice(version).forEach((sql) => db.exec(sql));
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

/** The database with every call guarded (store faults become STORAGE_FAILED). */
function guard(db: Database): Database {
  const statement = (s: Statement): Statement => ({
    run: (...p) => guarded(() => s.run(...p)),
    get: (...p) => guarded(() => s.get(...p)),
    all: (...p) => guarded(() => s.all(...p)),
  });
  return {
    prepare: (sql) => statement(guarded(() => db.prepare(sql))),
    exec: (sql) => guarded(() => db.exec(sql)),
    pragma: (source, options) => guarded(() => db.pragma(source, options)),
    transaction: (fn) => {
      const tx = db.transaction(fn);
      return (...args) => guarded(() => tx(...args));
    },
    close: () => db.close(),
  };
}
