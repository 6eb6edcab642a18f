/**
 * Store faults as one error: a locked database, a full disk or a read-only data directory is
 * STORAGE_FAILED (HTTP 503), whether SQLite or the filesystem reports it. What calls the store
 * decides what that means: a request answers it, a proof job fails (or retries its record), the
 * process never dies of it. Messages name the fault, never a path or a size.
 */
import { ZkError } from '../core/errors.js';

/** SQLite primary result codes (extended codes start with them) and errno values that are store faults. */
const LOCKED = /^SQLITE_(BUSY|LOCKED)/;
const FULL = /^(SQLITE_FULL|ENOSPC|EDQUOT)$/;
const UNWRITABLE = /^(SQLITE_(IOERR|READONLY|CANTOPEN|PERM|CORRUPT|NOTADB)|EROFS|EIO|EACCES|EPERM|EMFILE|ENFILE)/;

/** The STORAGE_FAILED error for a SQLite or filesystem fault; undefined for anything else. */
export function storageFault(e: unknown): ZkError | undefined {
  if (e instanceof ZkError) return e.code === 'STORAGE_FAILED' ? e : undefined;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const why = LOCKED.test(code)
    ? 'the database is locked by another process'
    : FULL.test(code)
      ? 'the disk is full'
      : UNWRITABLE.test(code)
        ? 'the data directory cannot be read or written'
        : undefined;
  return why && new ZkError('STORAGE_FAILED', `storage unavailable: ${why} (${code}); retry later`, { cause: code });
}

/** Runs a store operation; a store fault comes out as STORAGE_FAILED, anything else as it was. */
export function guarded<T>(op: () => T): T {
  try {
    return op();
  } catch (e) {
    throw storageFault(e) ?? e;
  }
}

export const isStorageFault = (e: unknown): boolean => e instanceof ZkError && e.code === 'STORAGE_FAILED';

/** How long a job's or build's ending record is retried while the store cannot write. */
export const RECORD_RETRY_MS = 30_000;

/**
 * Runs a store write, retried while the store cannot write (STORAGE_FAILED: a locked database, a
 * full disk) for up to `retryMs`, with pauses doubling from 250 ms; `onError` sees every failure.
 * Never rejects: resolves to undefined once written, or to the error that stopped it (any other
 * error at once, a store fault that outlasted `retryMs`).
 */
export async function retryWrite(write: () => void, onError: (e: unknown) => void = () => {}, retryMs = RECORD_RETRY_MS): Promise<unknown> {
  for (let pause = 250, waited = 0; ; waited += pause, pause *= 2) {
    try {
      write();
      return undefined;
    } catch (e) {
      onError(e);
      if (!isStorageFault(e) || waited >= retryMs) return e;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
