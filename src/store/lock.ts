/**
 * One data directory, one server: `zkinfer serve` holds an exclusive lock on `<dataDir>/zkinfer.lock`
 * for its whole life, so a second server on the same directory refuses to start instead of
 * requeueing the first one's jobs and sweeping its builds. The lock is SQLite's own (an OS-level
 * POSIX lock through better-sqlite3, held by an open exclusive transaction on an empty database),
 * so the kernel releases it when the process dies, however it dies: no stale lock to clean up after
 * a crash. Like every POSIX lock it is reliable on local disks, not on every network filesystem.
 */
import { join } from 'node:path';
// @ts-expect-error -- no type declarations
import BetterSqlite3 from 'better-sqlite3';
import { ZkError } from '../core/errors.js';
import type { Database } from './db.js';

export const LOCK_FILE = 'zkinfer.lock';

/**
 * Takes the data directory's lock; returns its release. Throws CONFLICT when another process holds
 * it (message for the operator: it names the directory), STORAGE_FAILED when the file cannot be made.
 */
export function lockDataDir(dataDir: string): () => void {
  let db: Database;
  try {
    db = new BetterSqlite3(join(dataDir, LOCK_FILE), { timeout: 0 }) as Database;
    db.pragma('locking_mode = EXCLUSIVE');
  } catch (e) {
    throw new ZkError('STORAGE_FAILED', `cannot create the lock file in ${dataDir}: ${(e as Error).message}`);
  }
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') {
      throw new ZkError('CONFLICT', `another zkinfer server is using the data directory ${dataDir}; stop it first, or give this one its own ZKINFER_DATA_DIR`);
    }
    throw new ZkError('STORAGE_FAILED', `cannot lock the data directory ${dataDir}: ${(e as Error).message}`);
  }
  return () => db.close();
}
