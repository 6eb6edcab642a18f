/**
 * The proof job queue: a bounded FIFO in front of the prover pool. The job table is the record
 * (it survives restarts); this class holds what only a live process has — the order of waiting
 * jobs, the abort controllers of running ones, and the waiters of `?wait=`.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Piscina } from 'piscina';
import { errorBody, fromErrorBody, isZkError, ZkError } from '../core/errors.js';
import type { Metrics } from '../service/metrics.js';
import { FINISHED, type JobOutcome, type JobRecord, type JobStore } from '../store/jobs.js';
import type { ProveOutcome, ProveTask, WorkerResult } from './tasks.js';

/** What the queue needs of a model to prove it; undefined when the model is gone. */
export type ModelLookup = (modelId: string) => { dir: string; vkeyHash: string } | undefined;

export interface QueueOptions {
  poolSize: number;
  queueLimit: number;
  timeoutMs: number;
}

interface Running {
  modelId: string;
  controller: AbortController;
  done: Promise<void>;
}

export class ProofQueue {
  private readonly waiting: { id: string; modelId: string }[] = [];
  private readonly running = new Map<string, Running>();
  private readonly finished = new EventEmitter().setMaxListeners(0);
  /** Mean run time of recent jobs, for Retry-After. */
  private meanRunSeconds = 1;
  private accepting = true;
  /** Set when the pool is torn down under running jobs: they stay `running` for the next start. */
  private abandoned = false;

  constructor(
    private readonly pool: Piscina,
    private readonly jobs: JobStore,
    private readonly lookup: ModelLookup,
    private readonly options: QueueOptions,
    private readonly metrics: Metrics,
  ) {}

  /** Requeues what a previous process left unfinished (beyond the limit: those were accepted). */
  recover(): number {
    const pending = this.jobs.requeueUnfinished();
    this.waiting.push(...pending.map((j) => ({ id: j.id, modelId: j.modelId })));
    this.pump();
    return pending.length;
  }

  submit(modelId: string, values: number[][]): JobRecord {
    if (!this.accepting) throw new ZkError('UNAVAILABLE', 'the service is shutting down');
    const { poolSize, queueLimit } = this.options;
    if (this.running.size + this.waiting.length >= poolSize + queueLimit) {
      this.metrics.failures.inc({ kind: 'proof', reason: 'QUEUE_FULL' });
      const retryAfterSeconds = Math.min(3600, Math.ceil((this.meanRunSeconds * (this.waiting.length + 1)) / poolSize));
      throw new ZkError('QUEUE_FULL', `the proof queue is full (${this.waiting.length} waiting); retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    const job = { id: randomUUID(), modelId, values, createdAt: Date.now() };
    this.jobs.insert(job);
    this.waiting.push({ id: job.id, modelId });
    this.pump();
    return this.jobs.get(job.id)!;
  }

  /** Cancels a waiting or running job; resolves once it is recorded as cancelled. */
  async cancel(id: string, reason = 'cancelled by request'): Promise<void> {
    const at = this.waiting.findIndex((w) => w.id === id);
    if (at >= 0) {
      const [{ modelId }] = this.waiting.splice(at, 1);
      this.record(id, modelId, { status: 'cancelled', error: { code: 'CANCELLED', message: reason } });
      this.updateGauges();
      return;
    }
    const run = this.running.get(id);
    if (!run) throw new ZkError('CONFLICT', `proof job ${id} has already finished`, { id });
    run.controller.abort(new ZkError('CANCELLED', reason));
    await run.done;
  }

  /** Cancels every unfinished job of a model (it is being deleted). */
  async cancelModel(modelId: string): Promise<void> {
    const ids = [...this.waiting.filter((w) => w.modelId === modelId).map((w) => w.id), ...[...this.running].filter(([, r]) => r.modelId === modelId).map(([id]) => id)];
    await Promise.all(ids.map((id) => this.cancel(id, 'its model was deleted')));
  }

  /** Resolves when the job finishes or after `ms`, whichever is first. */
  waitFor(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.finished.off(id, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.finished.on(id, done);
    });
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

  private pump(): void {
    while (this.accepting && this.running.size < this.options.poolSize && this.waiting.length > 0) {
      const { id, modelId } = this.waiting.shift()!;
      const controller = new AbortController();
      const run: Running = { modelId, controller, done: Promise.resolve() };
      this.running.set(id, run);
      run.done = this.run(id, controller.signal).finally(() => {
        this.running.delete(id);
        this.pump();
      });
    }
    this.updateGauges();
  }

  private async run(id: string, signal: AbortSignal): Promise<void> {
    const job = this.jobs.get(id)!;
    const startedAt = Date.now();
    this.jobs.markRunning(id, startedAt);
    const timer = setTimeout(() => this.running.get(id)?.controller.abort(new ZkError('TIMEOUT', `the job ran longer than its limit of ${this.options.timeoutMs / 1000} s`)), this.options.timeoutMs);
    const timings = () => ({ queuedMs: startedAt - job.createdAt, runMs: Date.now() - startedAt });
    let outcome: JobOutcome;
    try {
      const model = this.lookup(job.modelId);
      if (!model) throw new ZkError('NOT_FOUND', `model ${job.modelId} no longer exists`);
      const task: ProveTask = { dir: model.dir, vkeyHash: model.vkeyHash, values: job.values };
      const result = (await this.pool.run(task, { signal })) as WorkerResult<ProveOutcome>;
      if (!result.ok) throw fromErrorBody(result.error);
      const { bundle, loadMs } = result.value;
      outcome = { status: 'done', result: bundle, timings: { ...timings(), loadMs, ...bundle.timings } };
    } catch (e) {
      if (this.abandoned) return;
      const error = failureOf(e, signal);
      outcome = { status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: errorBody(error), timings: timings() };
    } finally {
      clearTimeout(timer);
    }
    this.record(id, job.modelId, outcome);
  }

  private record(id: string, model: string, outcome: JobOutcome): void {
    this.jobs.finish(id, outcome, Date.now());
    this.metrics.jobs.inc({ status: outcome.status });
    const t = outcome.timings;
    if (outcome.status === 'done' && t) {
      this.metrics.proofDuration.observe({ model, stage: 'witness' }, (t.witnessMs ?? 0) / 1000);
      this.metrics.proofDuration.observe({ model, stage: 'prove' }, (t.proveMs ?? 0) / 1000);
      this.metrics.proofDuration.observe({ model, stage: 'run' }, t.runMs / 1000);
      this.meanRunSeconds = 0.8 * this.meanRunSeconds + 0.2 * (t.runMs / 1000);
    }
    if (outcome.status === 'failed') this.metrics.failures.inc({ kind: 'proof', reason: outcome.error!.code });
    this.finished.emit(id);
  }

  private updateGauges(): void {
    this.metrics.queueDepth.set(this.waiting.length);
    this.metrics.running.set(this.running.size);
    this.metrics.poolUtilization.set(this.running.size / this.options.poolSize);
  }
}

export const isFinished = (job: JobRecord): boolean => FINISHED.includes(job.status);

/**
 * Why a job failed. An abort carries its reason (TIMEOUT or CANCELLED). The worker returns its own
 * errors as data, so anything else that rejects means the worker thread died under the job.
 */
function failureOf(e: unknown, signal: AbortSignal): ZkError {
  if (signal.aborted && isZkError(signal.reason)) return signal.reason;
  if (isZkError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : `died (${err.message ?? String(e)})`;
  return new ZkError('WORKER_CRASHED', `the prover worker running this job ${why}; the pool replaced it`, { cause: err.code ?? err.message });
}
