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
  timeoutMs: number;
}

interface Waiting {
  id: string;
  modelId: string;
  priority: number;
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
    const job = this.jobs.insert({ id: randomUUID(), modelId, ...input, createdAt: Date.now(), client });
    this.enqueue(job);
    this.pump();
    return this.jobs.get(job.id)!;
  }

  async cancel(id: string, reason = 'cancelled by request'): Promise<void> {
    const at = this.waiting.findIndex((w) => w.id === id);
    if (at >= 0) {
      const [{ modelId }] = this.waiting.splice(at, 1);
      this.ledger.record({ id, modelId }, { status: 'cancelled', error: { code: 'CANCELLED', message: reason } });
      this.updateGauges();
      return;
    }
    const run = this.running.get(id);
    if (!run) throw new ZkError('CONFLICT', `proof job ${id} has already finished`, { id });
    run.controller.abort(new ZkError('CANCELLED', reason));
    await run.done;
  }

  async cancelModel(modelId: string): Promise<void> {
    const ids = [...this.waiting.filter((w) => w.modelId === modelId).map((w) => w.id), ...[...this.running].filter(([, r]) => r.modelId === modelId).map(([id]) => id)];
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
  private enqueue({ id, modelId, priority }: Pick<JobRecord, 'id' | 'modelId' | 'priority'>): void {
    const at = this.waiting.findIndex((w) => w.priority > priority);
    this.waiting.splice(at < 0 ? this.waiting.length : at, 0, { id, modelId, priority });
  }

  private pump(): void {
    while (this.accepting && this.running.size < this.options.poolSize && this.waiting.length > 0) {
      const { id, modelId } = this.waiting.shift()!;
      const controller = new AbortController();
      const run: Running = { modelId, controller, done: Promise.resolve() };
      this.running.set(id, run);
      run.done = this.run(id, controller).finally(() => {
        this.running.delete(id);
        this.pump();
      });
    }
    this.updateGauges();
  }

  private async run(id: string, controller: AbortController): Promise<void> {
    const job = this.jobs.get(id)!;
    const startedAt = Date.now();
    this.jobs.markRunning(id, startedAt);
    const timings = () => ({ queuedMs: startedAt - job.createdAt, runMs: Date.now() - startedAt });
    let outcome: JobOutcome;
    try {
      const model = this.lookup(job.modelId);
      if (!model) throw new ZkError('NOT_FOUND', `model ${job.modelId} no longer exists`);
      const { bundle, loadMs } = await proveOnPool(this.pool, { dir: model.dir, vkeyHash: model.vkeyHash, values: job.values, salt: job.salt }, controller, this.options.timeoutMs);
      outcome = { status: 'done', result: bundle, timings: { ...timings(), loadMs, ...bundle.timings } };
    } catch (e) {
      if (this.abandoned) return;
      const error = isZkError(e) ? e : new ZkError('INTERNAL', String(e));
      outcome = { status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: errorBody(error), timings: timings() };
    }
    this.ledger.record(job, outcome);
  }

  private updateGauges(): void {
    this.metrics.queueDepth.set(this.waiting.length);
    this.metrics.running.set(this.running.size);
    this.metrics.poolUtilization.set(this.running.size / this.options.poolSize);
  }
}

export const isFinished = (job: JobRecord): boolean => FINISHED.includes(job.status);
