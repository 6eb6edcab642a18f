/**
 * What every proof queue does with a finished job, in one place: the job table records the first
 * outcome (later ones are ignored), metrics count it once, and `?wait=` waiters wake up. The
 * in-process queue (proofs.ts) and the Redis one (src/cluster/redis-queue.ts) share it, so both
 * answer clients alike.
 */
import { EventEmitter } from 'node:events';
import { isZkError, ZkError } from '../core/errors.js';
import { retryWrite } from '../store/faults.js';
import { observeOutcome, type Metrics } from '../service/metrics.js';
import type { JobOutcome, JobRecord, JobStore, SubmittedInput } from '../store/jobs.js';

/** The proof queue as the API sees it. */
export interface ProofJobQueue {
  /** Takes up what a previous process left unfinished; resolves to how many jobs that was. */
  recover(): Promise<number>;
  /** Queues a checked input for `client` (see src/api/auth.ts clientOf). */
  submit(modelId: string, input: SubmittedInput, client: string): Promise<JobRecord>;
  /** Cancels a waiting or running job; resolves once it is recorded as cancelled. */
  cancel(id: string, reason?: string): Promise<void>;
  /** Cancels every unfinished job of a model (it is being deleted). */
  cancelModel(modelId: string): Promise<void>;
  /** Resolves when the job finishes or after `ms`, whichever is first. */
  waitFor(id: string, ms: number): Promise<void>;
  /** Jobs waiting to start. */
  readonly depth: number;
  /** Stops taking jobs and waits up to `drainMs` for running ones; unfinished ones resume at the next start. */
  close(drainMs: number): Promise<void>;
}

/** How clientOf (src/api/auth.ts) names a client that presented a configured API key. */
export const KEYED_CLIENT = 'key:';
export const isKeyless = (client: string): boolean => !client.startsWith(KEYED_CLIENT);

export class JobLedger {
  private readonly finished = new EventEmitter().setMaxListeners(0);
  /** Mean run time of recent jobs, for Retry-After. */
  private meanRunSeconds = 1;

  constructor(
    readonly jobs: JobStore,
    private readonly metrics: Metrics,
  ) {}

  /** The 429 for a full queue, with a Retry-After from recent run times; counted as a rejection. */
  queueFull(waiting: number, parallel: number): ZkError {
    this.metrics.failures.inc({ kind: 'proof', reason: 'QUEUE_FULL' });
    const retryAfterSeconds = Math.min(3600, Math.ceil((this.meanRunSeconds * (waiting + 1)) / parallel));
    return new ZkError('QUEUE_FULL', `the proof queue is full (${waiting} waiting); retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  /**
   * The 429 for a keyless request when keyless clients already hold `keylessLimit` waiting jobs
   * (their share of the queue, see ServiceConfig.keylessShare); undefined when it may queue.
   */
  keylessFull(client: string, keylessWaiting: number, keylessLimit: number, parallel: number): ZkError | undefined {
    if (!isKeyless(client) || keylessWaiting < keylessLimit) return undefined;
    const full = this.queueFull(keylessWaiting, parallel);
    return new ZkError('QUEUE_FULL', `${full.message} (requests without an API key share ${keylessLimit} places)`, full.details);
  }

  /** Records a job's end; false (and nothing counted) when it had ended already. */
  record(job: Pick<JobRecord, 'id' | 'modelId'>, outcome: JobOutcome): boolean {
    if (!this.jobs.finish(job.id, outcome, Date.now())) return false;
    observeOutcome(this.metrics, job.modelId, outcome);
    if (outcome.status === 'done' && outcome.timings) this.meanRunSeconds = 0.8 * this.meanRunSeconds + 0.2 * (outcome.timings.runMs / 1000);
    this.finished.emit(job.id);
    return true;
  }

  /**
   * Records a job's end like `record`, retried while the store cannot write (retryWrite). Never
   * rejects: an outcome that still cannot be written is dropped, the job stays unfinished in the
   * store and the next start runs it again. True when the outcome was recorded.
   */
  async settle(job: Pick<JobRecord, 'id' | 'modelId'>, outcome: JobOutcome): Promise<boolean> {
    const failed = await retryWrite(
      () => this.record(job, outcome),
      (e) => this.metrics.failures.inc({ kind: 'store', reason: isZkError(e) ? e.code : 'INTERNAL' }),
    );
    if (failed !== undefined) this.finished.emit(job.id);
    return failed === undefined;
  }

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
}
