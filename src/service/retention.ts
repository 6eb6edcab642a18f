/**
 * Retention of private data at rest: a finished proof job's input and opening (private values and
 * salt) are purged ZKINFER_RETENTION after it finished, by a sweep at start and then every quarter
 * of the retention (between 1 s and 10 min), so nothing private stays longer than retention + one
 * sweep. README "Security" says what is kept.
 */
import type { Logger } from 'pino';
import type { JobStore } from '../store/jobs.js';

/** Starts the sweeps; returns their stop. A sweep the store refuses (disk full, locked) waits for the next. */
export function startRetention(jobs: JobStore, retentionMs: number, log: Logger): () => void {
  const sweep = () => {
    try {
      const now = Date.now();
      const purged = jobs.purgeFinished(now - retentionMs, now);
      if (purged > 0) log.info({ jobs: purged, retentionSeconds: retentionMs / 1000 }, 'retention: purged the inputs and openings of finished jobs');
    } catch (err) {
      log.warn({ err }, 'retention: purge failed; the next sweep tries again');
    }
  };
  sweep();
  const timer = setInterval(sweep, Math.min(Math.max(retentionMs / 4, 1000), 600_000)).unref();
  return () => clearInterval(timer);
}
