import type { ErrorBody } from '../core/errors.js';
import { KEYED_CLIENT } from '../jobs/ledger.js';
import type { ProofInput } from '../jobs/tasks.js';
import type { ProofBundle } from '../prove/bundle.js';
import type { OutputAccuracy } from '../reference/onnxruntime.js';
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

/**
 * What the request already computed to check the input: the quantized model's output (exactly what
 * the proof will show, not yet proven) and its accuracy against onnxruntime's float run.
 */
export interface JobPreview {
  output: { name: string; dims: number[]; values: number[] }[];
  accuracy: OutputAccuracy[];
}

/** A checked input as a job is submitted with it. */
export type SubmittedInput = ProofInput & { preview?: JobPreview };

export interface JobRecord {
  id: string;
  modelId: string;
  status: JobStatus;
  /** Who asked (see src/api/auth.ts clientOf); fairness ranks jobs per client. */
  client: string;
  /**
   * 1 + the client's unfinished jobs when this one was submitted: lower runs first, FIFO among
   * equals, so a client's burst queues behind other clients' first jobs.
   */
  priority: number;
  /** Times the job started on a prover (more than 1: it was retried). */
  attempts: number;
  /** The node that ran (or runs) it last. */
  node?: string;
  /** The parsed input: one flat array per graph input. */
  values: number[][];
  /** The salt the client chose for the commitments (hashed input or output). */
  salt?: string;
  preview?: JobPreview;
  result?: ProofBundle;
  error?: ErrorBody;
  timings?: JobTimings;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When retention purged its input and opening (values are then empty, salt and opening gone). */
  purgedAt?: number;
}

/**
 * The input column: the values, or with a client-chosen salt or a preview `{values, salt?, preview?}`;
 * `null` once purged.
 */
const readInput = (text: string): SubmittedInput => {
  const parsed = JSON.parse(text) as number[][] | SubmittedInput | null;
  return parsed === null ? { values: [] } : Array.isArray(parsed) ? { values: parsed } : parsed;
};
const writeInput = ({ values, salt, preview }: SubmittedInput): string =>
  JSON.stringify(salt === undefined && preview === undefined ? values : { values, salt, preview });

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
  client: string;
  priority: number;
  attempts: number;
  node: string | null;
  purged_at: number | null;
}

const toRecord = (r: Row): JobRecord => ({
  id: r.id,
  modelId: r.model_id,
  status: r.status,
  client: r.client,
  priority: r.priority,
  attempts: r.attempts,
  ...(r.node !== null ? { node: r.node } : {}),
  ...readInput(r.input),
  ...(r.result ? { result: JSON.parse(r.result) } : {}),
  ...(r.error ? { error: JSON.parse(r.error) } : {}),
  ...(r.timings ? { timings: JSON.parse(r.timings) } : {}),
  createdAt: r.created_at,
  ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
  ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
  ...(r.purged_at !== null ? { purgedAt: r.purged_at } : {}),
});

export interface JobOutcome {
  status: 'done' | 'failed' | 'cancelled';
  result?: ProofBundle;
  error?: ErrorBody;
  timings?: JobTimings;
  /** Where it ran and on which attempt (a remote prover reports both with its result). */
  node?: string;
  attempts?: number;
}

export class JobStore {
  constructor(private readonly db: Database) {}

  /** Inserts a queued job, its priority ranked among its client's unfinished jobs (one transaction). */
  insert(j: Pick<JobRecord, 'id' | 'modelId' | 'values' | 'salt' | 'preview' | 'createdAt' | 'client'>): JobRecord {
    this.db.transaction(() => {
      const { n } = this.db.prepare("SELECT count(*) AS n FROM jobs WHERE client = ? AND status IN ('queued', 'running')").get(j.client) as { n: number };
      this.db
        .prepare("INSERT INTO jobs (id, model_id, status, input, created_at, client, priority) VALUES (?, ?, 'queued', ?, ?, ?, ?)")
        .run(j.id, j.modelId, writeInput(j), j.createdAt, j.client, n + 1);
    })();
    return this.get(j.id)!;
  }

  /**
   * Records a proof made elsewhere (a client proving on its own machine) as a job that is already
   * done: no input (the service never saw it), the verified bundle as its result. One job per model,
   * client and `statement` (a digest of the public signals): a statement the client already recorded
   * returns that job and `created: false`, so re-sending a bundle, or re-randomizing its Groth16 proof
   * (cheap, and as valid), cannot grow the database.
   */
  insertDone(j: Pick<JobRecord, 'id' | 'modelId' | 'createdAt' | 'client' | 'node'> & { result: ProofBundle; timings: JobTimings; statement: string }): {
    job: JobRecord;
    created: boolean;
  } {
    const { changes } = this.db
      .prepare(
        "INSERT INTO jobs (id, model_id, status, input, result, timings, created_at, started_at, finished_at, client, priority, attempts, node, statement) VALUES (?, ?, 'done', '[]', ?, ?, ?, ?, ?, ?, 0, 0, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(j.id, j.modelId, JSON.stringify(j.result), JSON.stringify(j.timings), j.createdAt, j.createdAt, j.createdAt, j.client, j.node ?? null, j.statement);
    if (changes) return { job: this.get(j.id)!, created: true };
    const { id } = this.db.prepare('SELECT id FROM jobs WHERE model_id = ? AND client = ? AND statement = ?').get(j.modelId, j.client, j.statement) as {
      id: string;
    };
    return { job: this.get(id)!, created: false };
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row && toRecord(row);
  }

  /** Jobs waiting to start; with `keyless`, only those of clients without an API key. */
  queuedCount(keyless = false): number {
    const sql = `SELECT count(*) AS n FROM jobs WHERE status = 'queued'${keyless ? ` AND client NOT LIKE '${KEYED_CLIENT}%'` : ''}`;
    return (this.db.prepare(sql).get() as { n: number }).n;
  }

  /**
   * A worker took the job: its `attempt` (by default one more than before) on `node`. Ignored once
   * the job has finished, so a late report cannot reopen it.
   */
  markRunning(id: string, at: number, run: { attempt?: number; node?: string } = {}): void {
    this.db
      .prepare(
        "UPDATE jobs SET status = 'running', started_at = ?, attempts = coalesce(?, attempts + 1), node = coalesce(?, node) WHERE id = ? AND status IN ('queued', 'running')",
      )
      .run(at, run.attempt ?? null, run.node ?? null, id);
  }

  /**
   * Records the job's end unless it has one already: the first outcome wins and later ones (a
   * second prover's, a retry's, a result after a cancel) change nothing. True when this one counted.
   */
  finish(id: string, o: JobOutcome, at: number): boolean {
    const { changes } = this.db
      .prepare(
        "UPDATE jobs SET status = ?, result = ?, error = ?, timings = ?, finished_at = ?, node = coalesce(?, node), attempts = max(attempts, coalesce(?, 0)) WHERE id = ? AND status IN ('queued', 'running')",
      )
      .run(
        o.status,
        o.result ? JSON.stringify(o.result) : null,
        o.error ? JSON.stringify(o.error) : null,
        o.timings ? JSON.stringify(o.timings) : null,
        at,
        o.node ?? null,
        o.attempts ?? null,
        id,
      );
    return changes === 1;
  }

  /** Unfinished jobs, in the order they should run (priority, then age). */
  unfinished(): JobRecord[] {
    return (this.db.prepare("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY priority, created_at, rowid").all() as Row[]).map(toRecord);
  }

  /**
   * Retention: forgets the input and the opening (private values and salt, inside the result) of
   * every job that finished before `before`, keeping its status, timings and shareable proof.
   * Returns how many jobs were purged.
   */
  purgeFinished(before: number, at: number): number {
    const { changes } = this.db
      .prepare("UPDATE jobs SET input = 'null', result = json_remove(result, '$.opening'), purged_at = ? WHERE purged_at IS NULL AND finished_at < ?")
      .run(at, before);
    // The WAL still holds the pages as they were: copy them back and empty it (secure_delete has
    // zeroed what the update freed in the database file).
    if (changes > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return changes;
  }

  /**
   * Jobs a previous process accepted but did not finish, oldest first, all back to `queued`: a
   * running job lost its worker with the process, so it starts again.
   */
  requeueUnfinished(): JobRecord[] {
    return this.db.transaction(() => {
      this.db.prepare("UPDATE jobs SET status = 'queued', started_at = NULL WHERE status = 'running'").run();
      return this.unfinished();
    })();
  }
}
