import type { ErrorBody } from '../core/errors.js';
import type { ProofBundle } from '../prove/bundle.js';
import type { Database } from './db.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export const FINISHED: readonly JobStatus[] = ['done', 'failed', 'cancelled'];

export interface JobTimings {
  /** From submission to a worker taking the job. */
  queuedMs: number;
  /** Loading the model into the worker (0 when it was cached). */
  loadMs?: number;
  witnessMs?: number;
  proveMs?: number;
  /** From a worker taking the job to its end. */
  runMs: number;
}

export interface JobRecord {
  id: string;
  modelId: string;
  status: JobStatus;
  /** The parsed input: one flat array per graph input. */
  values: number[][];
  result?: ProofBundle;
  error?: ErrorBody;
  timings?: JobTimings;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

interface Row {
  id: string;
  model_id: string;
  status: JobStatus;
  input: string;
  result: string | null;
  error: string | null;
  timings: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

const toRecord = (r: Row): JobRecord => ({
  id: r.id,
  modelId: r.model_id,
  status: r.status,
  values: JSON.parse(r.input),
  ...(r.result ? { result: JSON.parse(r.result) } : {}),
  ...(r.error ? { error: JSON.parse(r.error) } : {}),
  ...(r.timings ? { timings: JSON.parse(r.timings) } : {}),
  createdAt: r.created_at,
  ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
  ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
});

export interface JobOutcome {
  status: 'done' | 'failed' | 'cancelled';
  result?: ProofBundle;
  error?: ErrorBody;
  timings?: JobTimings;
}

export class JobStore {
  constructor(private readonly db: Database) {}

  insert(j: Pick<JobRecord, 'id' | 'modelId' | 'values' | 'createdAt'>): void {
    this.db.prepare("INSERT INTO jobs (id, model_id, status, input, created_at) VALUES (?, ?, 'queued', ?, ?)").run(j.id, j.modelId, JSON.stringify(j.values), j.createdAt);
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row && toRecord(row);
  }

  markRunning(id: string, at: number): void {
    this.db.prepare("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?").run(at, id);
  }

  finish(id: string, o: JobOutcome, at: number): void {
    this.db
      .prepare('UPDATE jobs SET status = ?, result = ?, error = ?, timings = ?, finished_at = ? WHERE id = ?')
      .run(o.status, o.result ? JSON.stringify(o.result) : null, o.error ? JSON.stringify(o.error) : null, o.timings ? JSON.stringify(o.timings) : null, at, id);
  }

  /**
   * Jobs a previous process accepted but did not finish, oldest first, all back to `queued`: a
   * running job lost its worker with the process, so it starts again.
   */
  requeueUnfinished(): JobRecord[] {
    return this.db.transaction(() => {
      this.db.prepare("UPDATE jobs SET status = 'queued', started_at = NULL WHERE status = 'running'").run();
      return (this.db.prepare("SELECT * FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid").all() as Row[]).map(toRecord);
    })();
  }
}
