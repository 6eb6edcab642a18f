/**
 * The in-process proof job queue: a bounded queue in front of the prover pool, in priority order
 * (see JobStore.insert: a client's burst waits behind other clients' first jobs), first come first
 * served among equals. The job table is the record (it survives restarts); this class holds what
 * only a live process has — the order of waiting jobs and the abort controllers of running ones.
 */
import { randomUUID } from 'node:crypto';
import type { Piscina } from 'piscina';
import { errorBody, isZkError, ZkError } from '../core/errors.js';
import type { Metrics } from '../service/metrics.js';
import { FINISHED, type JobOutcome, type JobRecord, type JobStore, type SubmittedInput } from '../store/jobs.js';
import { JobLedger, type ProofJobQueue } from './ledger.js';
import { proveOnPool } from './tasks.js';

/** What the queue needs of a model to prove it; undefined when the model is gone. */
export type ModelLookup = (modelId: string) => { dir: string; key: string; vkeyHash: string } | undefined;

export interface QueueOptions {
  poolSize: number;
  queueLimit: number;
  /** Waiting jobs keyless clients may hold together (see keylessLimit in src/service/config.ts). */
  keylessLimit: number;
  timeoutMs: number;
}

interface Waiting {
  id: string;
  modelId: string;
  priority: number;
  client: string;
}

interface Running {
  modelId: string;
  controller: AbortController;
  done: Promise<void>;
}

export class ProofQueue implements ProofJobQueue {
  private readonly waiting: Waiting[] = [];
  private readonly running = new Map<string, Running>();
  private readonly ledger: JobLedger;
  private accepting = true;
  /** Set when the pool is torn down under running jobs: they stay `running` for the next start. */
  private abandoned = false;

  constructor(
    private readonly pool: Piscina,
    private readonly jobs: JobStore,
    private readonly lookup: ModelLookup,
    private readonly options: QueueOptions,
    private readonly metrics: Metrics,
  ) {
    this.ledger = new JobLedger(jobs, metrics);
  }

  /** Requeues what a previous process left unfinished (beyond the limit: those were accepted). */
  async recover(): Promise<number> {
    const pending = this.jobs.requeueUnfinished();
    pending.forEach((j) => this.enqueue(j));
    this.pump();
    return pending.length;
  }

  async submit(modelId: string, input: SubmittedInput, client: string): Promise<JobRecord> {
    if (!this.accepting) throw new ZkError('UNAVAILABLE', 'the service is shutting down');
    const { poolSize, queueLimit } = this.options;
    if (this.running.size + this.waiting.length >= poolSize + queueLimit) throw this.ledger.queueFull(this.waiting.length, poolSize);
    // Counted where the Redis queue counts them (the store), so both hold keyless clients to one share.
    const keyless = this.ledger.keylessFull(client, this.jobs.queuedCount(true), this.options.keylessLimit, poolSize);
    if (keyless) throw keyless;
    const job = this.jobs.insert({ id: randomUUID(), modelId, ...input, createdAt: Date.now(), client });
    this.enqueue(job);
    this.pump();
    return this.jobs.get(job.id)!;
  }

  async cancel(id: string, reason = 'cancelled by request'): Promise<void> {
    const at = this.waiting.findIndex((w) => w.id === id);
    if (at >= 0) {
      // Recorded first: when the store cannot write, the job stays queued as it was.
      this.ledger.record(this.waiting[at], { status: 'cancelled', error: { code: 'CANCELLED', message: reason } });
      this.waiting.splice(at, 1);
      this.updateGauges();
      return;
    }
    const run = this.running.get(id);
    if (!run) throw new ZkError('CONFLICT', `proof job ${id} has already finished`, { id });
    run.controller.abort(new ZkError('CANCELLED', reason));
    await run.done;
  }

  async cancelModel(modelId: string): Promise<void> {
    const ids = [
      ...this.waiting.filter((w) => w.modelId === modelId).map((w) => w.id),
      ...[...this.running].filter(([, r]) => r.modelId === modelId).map(([id]) => id),
    ];
    await Promise.all(ids.map((id) => this.cancel(id, 'its model was deleted')));
  }

  waitFor(id: string, ms: number): Promise<void> {
    return this.ledger.waitFor(id, ms);
  }

  get depth(): number {
    return this.waiting.length;
  }

  /**
   * Stops taking and starting jobs, then waits up to `drainMs` for the running ones. Waiting jobs
   * stay queued in the store, and jobs still running at the deadline stay `running`: the next
   * start requeues both.
   */
  async close(drainMs: number): Promise<void> {
    this.accepting = false;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    this.abandoned = true;
    await this.pool.destroy();
    await all();
  }

  /** Behind every waiting job of the same or a better (lower) priority. */
  private enqueue({ id, modelId, priority, client }: Pick<JobRecord, 'id' | 'modelId' | 'priority' | 'client'>): void {
    const at = this.waiting.findIndex((w) => w.priority > priority);
    this.waiting.splice(at < 0 ? this.waiting.length : at, 0, { id, modelId, priority, client });
  }

  private pump(): void {
    while (this.accepting && this.running.size < this.options.poolSize && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      const controller = new AbortController();
      const run: Running = { modelId: next.modelId, controller, done: Promise.resolve() };
      this.running.set(next.id, run);
      run.done = this.run(next, controller).finally(() => this.release(next.id));
    }
    this.updateGauges();
  }

  /** The job no longer holds a worker: the next one may start. */
  private release(id: string): void {
    if (this.running.delete(id)) this.pump();
  }

  /**
   * Runs one job to its recorded end. Never rejects: a store fault while starting fails the job
   * (STORAGE_FAILED), and its outcome's record is retried while the store cannot write.
   */
  private async run({ id, modelId }: Waiting, controller: AbortController): Promise<void> {
    const startedAt = Date.now();
    let createdAt = startedAt;
    const timings = () => ({ queuedMs: startedAt - createdAt, runMs: Date.now() - startedAt });
    let outcome: JobOutcome;
    try {
      const job = this.jobs.get(id)!;
      createdAt = job.createdAt;
      this.jobs.markRunning(id, startedAt);
      const model = this.lookup(modelId);
      if (!model) throw new ZkError('NOT_FOUND', `model ${modelId} no longer exists`);
      const { bundle, loadMs } = await proveOnPool(
        this.pool,
        { dir: model.dir, vkeyHash: model.vkeyHash, values: job.values, salt: job.salt },
        controller,
        this.options.timeoutMs,
      );
      outcome = { status: 'done', result: bundle, timings: { ...timings(), loadMs, ...bundle.timings } };
    } catch (e) {
      if (this.abandoned) return;
      const error = isZkError(e) ? e : new ZkError('INTERNAL', String(e));
      outcome = { status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: errorBody(error), timings: timings() };
    }
    // The worker is free: the next job starts while this outcome's record is retried, if it must be.
    this.release(id);
    await this.ledger.settle({ id, modelId }, outcome);
  }

  private updateGauges(): void {
    this.metrics.queueDepth.set(this.waiting.length);
    this.metrics.running.set(this.running.size);
    this.metrics.poolUtilization.set(this.running.size / this.options.poolSize);
  }
}

export const isFinished = (job: JobRecord): boolean => FINISHED.includes(job.status);
