/**
 * The API's side of the Redis queue: jobs are recorded in the API's store (the source of truth
 * clients read), then added to BullMQ with the job id as BullMQ's id and the job's fairness
 * priority. Prover nodes (prover.ts) take them; their results come back through BullMQ's event
 * stream (QueueEvents), and a reconciliation at start and every `SWEEP_MS` reads the final state of
 * any job whose event was missed (the API down or cut off from Redis). Every result goes through
 * JobLedger.record, where the first outcome for a job wins: at-least-once execution, one stored
 * result.
 */
import { randomUUID } from 'node:crypto';
import { Gauge } from 'prom-client';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { ZkError, type ErrorBody, type ZkErrorCode } from '../core/errors.js';
import { isKeyless, JobLedger, type ProofJobQueue } from '../jobs/ledger.js';
import type { ModelLookup } from '../jobs/proofs.js';
import { keylessLimit, type ServiceConfig } from '../service/config.js';
import type { Metrics } from '../service/metrics.js';
import type { JobOutcome, JobRecord, JobStore, SubmittedInput } from '../store/jobs.js';
import { manifestOf, type ArtifactManifest, type ArtifactSource } from './artifacts.js';
import { PROOF_QUEUE, redisConnection, type ClusterJob, type ClusterProgress, type ClusterResult } from './jobs.js';

/** How often unfinished jobs are checked against Redis for a result whose event was missed. */
const SWEEP_MS = 15_000;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2 ** 21;
/** Finished BullMQ jobs stay this long, so a reconciliation after a long outage still finds them. */
const KEEP_FINISHED = { age: 7 * 24 * 3600 };

export class RedisProofQueue implements ProofJobQueue {
  private readonly queue: Queue<ClusterJob, ClusterResult>;
  private readonly events: QueueEvents;
  private readonly ledger: JobLedger;
  /**
   * Per model build (artifact key and verifying key: a model deleted and built again under the same
   * key has new keys, so new files): its manifest, once published to the artifact source.
   */
  private readonly published = new Map<string, Promise<ArtifactManifest>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly queueLimit: number;
  private readonly keylessLimit: number;
  private accepting = true;

  constructor(
    config: ServiceConfig,
    private readonly jobs: JobStore,
    private readonly lookup: ModelLookup,
    private readonly source: ArtifactSource,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.queueLimit = config.queueLimit;
    this.keylessLimit = keylessLimit(config);
    const common = { prefix: config.queuePrefix };
    this.queue = new Queue(PROOF_QUEUE, {
      ...common,
      connection: redisConnection(config.redisUrl!, true),
      defaultJobOptions: { attempts: config.maxAttempts, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
    });
    this.events = new QueueEvents(PROOF_QUEUE, { ...common, connection: redisConnection(config.redisUrl!) });
    this.ledger = new JobLedger(jobs, metrics);
    this.queue.on('error', (err) => log.warn({ err }, 'proof queue: redis error'));
    this.events.on('error', (err) => log.warn({ err }, 'proof queue events: redis error'));
    // A store fault in these handlers must not escape the emitter (it would end the process): the
    // sweeper's reconciliation records what they could not.
    const storeFault = (err: unknown) => log.warn({ err }, 'proof queue: could not record a job event; reconciliation retries it');
    this.events.on('progress', ({ jobId, data }) => {
      const p = data as ClusterProgress;
      guardedEvent(() => jobs.markRunning(jobId, p.startedAt, { attempt: p.attempt, node: p.node }), storeFault);
    });
    this.events.on('completed', ({ jobId, returnvalue }) => guardedEvent(() => this.settle(jobId, returnvalue), storeFault));
    this.events.on('failed', ({ jobId }) => void this.settleFromRedis(jobId).catch(storeFault));
    this.sweeper = setInterval(() => void this.reconcile().catch((err) => log.warn({ err }, 'proof queue: reconciliation failed')), SWEEP_MS).unref();
    const queue = this.queue;
    new Gauge({
      name: 'zkinfer_queue_jobs',
      help: 'Proof jobs in the Redis queue by BullMQ state (waiting and prioritized: not yet taken by a prover)',
      labelNames: ['state'] as const,
      registers: [metrics.registry],
      async collect() {
        // Redis unreachable: the scrape still answers, with the last counts.
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed').catch(() => undefined);
        if (!counts) return;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        metrics.queueDepth.set(counts.waiting + counts.prioritized + counts.delayed);
        metrics.running.set(counts.active);
      },
    });
  }

  /** Catches up with Redis: what finished while this process was away is recorded, what Redis lost is added again. */
  async recover(): Promise<number> {
    await this.events.waitUntilReady();
    return this.reconcile();
  }

  async submit(modelId: string, input: SubmittedInput, client: string): Promise<JobRecord> {
    if (!this.accepting) throw new ZkError('UNAVAILABLE', 'the service is shutting down');
    const waiting = this.jobs.queuedCount();
    const parallel = async () => Math.max(1, await this.queue.getWorkersCount().catch(() => 1));
    if (waiting >= this.queueLimit) throw this.ledger.queueFull(waiting, await parallel());
    if (isKeyless(client)) {
      const full = this.ledger.keylessFull(client, this.jobs.queuedCount(true), this.keylessLimit, await parallel());
      if (full) throw full;
    }
    const model = this.lookup(modelId);
    if (!model) throw new ZkError('NOT_FOUND', `no model ${modelId}`);
    const manifest = await this.publish(model);
    const job = this.jobs.insert({ id: randomUUID(), modelId, ...input, createdAt: Date.now(), client });
    try {
      await this.enqueue(job, { ...model, manifest });
    } catch (e) {
      const error = new ZkError('UNAVAILABLE', `the proof queue (Redis) is unreachable: ${(e as Error).message}`);
      this.ledger.record(job, { status: 'failed', error: { code: error.code, message: error.message } });
      throw error;
    }
    return this.jobs.get(job.id)!;
  }

  /**
   * A waiting job leaves the queue; a running one is recorded cancelled at once, and its prover's
   * result, when it comes, is ignored (BullMQ cannot stop a job on another node).
   */
  async cancel(id: string, reason = 'cancelled by request'): Promise<void> {
    const job = this.jobs.get(id);
    if (!job || !['queued', 'running'].includes(job.status)) throw new ZkError('CONFLICT', `proof job ${id} has already finished`, { id });
    // remove() refuses a job a prover holds (it is locked); that one runs out and is ignored.
    await (await this.queue.getJob(id))?.remove().catch(() => undefined);
    this.ledger.record(job, { status: 'cancelled', error: { code: 'CANCELLED', message: reason } });
  }

  async cancelModel(modelId: string): Promise<void> {
    const ids = this.jobs
      .unfinished()
      .filter((j) => j.modelId === modelId)
      .map((j) => j.id);
    await Promise.all(ids.map((id) => this.cancel(id, 'its model was deleted').catch(() => undefined)));
  }

  waitFor(id: string, ms: number): Promise<void> {
    return this.ledger.waitFor(id, ms);
  }

  get depth(): number {
    return this.jobs.queuedCount();
  }

  /** Nothing runs here: closing stops accepting and disconnects; provers go on with queued jobs. */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.sweeper);
    await Promise.all([this.events.close(), this.queue.close()]);
  }

  private publish({ key, dir, vkeyHash }: { key: string; dir: string; vkeyHash: string }): Promise<ArtifactManifest> {
    const build = `${key}#${vkeyHash}`;
    let manifest = this.published.get(build);
    if (!manifest) {
      manifest = manifestOf(dir).then(async (m) => (await this.source.publish(key, dir, m), m));
      manifest.catch(() => this.published.delete(build));
      this.published.set(build, manifest);
    }
    return manifest;
  }

  private async enqueue(job: JobRecord, model: { key: string; vkeyHash: string; manifest: ArtifactManifest }): Promise<void> {
    const data: ClusterJob = {
      modelId: job.modelId,
      key: model.key,
      vkeyHash: model.vkeyHash,
      manifest: model.manifest,
      values: job.values,
      salt: job.salt,
      createdAt: job.createdAt,
    };
    await this.queue.add('prove', data, { jobId: job.id, priority: Math.min(job.priority, MAX_PRIORITY) });
  }

  private settle(id: string, outcome: JobOutcome): void {
    const job = this.jobs.get(id);
    if (job) this.ledger.record(job, outcome);
  }

  /** Records the final state of a BullMQ job, if it has one. */
  private async settleFromRedis(id: string, bull?: Job<ClusterJob, ClusterResult>): Promise<void> {
    bull ??= await this.queue.getJob(id);
    if (!bull) return;
    const state = await bull.getState();
    if (state === 'completed') this.settle(id, bull.returnvalue);
    if (state === 'failed') {
      const error = errorOfReason(bull.failedReason);
      this.settle(id, {
        status: 'failed',
        error: { ...error, message: `${error.message} (after ${bull.attemptsStarted} attempt(s))` },
        attempts: bull.attemptsStarted,
      });
    }
  }

  /**
   * Every unfinished job against Redis: a finished one is recorded, a missing one (Redis lost it,
   * or the API stopped between recording and adding it) is added again. Returns how many are
   * still under way.
   */
  private async reconcile(): Promise<number> {
    for (const job of this.jobs.unfinished()) {
      const bull = await this.queue.getJob(job.id);
      if (bull) await this.settleFromRedis(job.id, bull);
      else {
        const model = this.lookup(job.modelId);
        if (!model) {
          this.ledger.record(job, { status: 'failed', error: { code: 'NOT_FOUND', message: `model ${job.modelId} no longer exists` } });
          continue;
        }
        await this.enqueue(job, { ...model, manifest: await this.publish(model) });
        this.log.info({ job: job.id }, 'proof queue: job missing from Redis added again');
      }
    }
    return this.jobs.unfinished().length;
  }
}

function guardedEvent(handle: () => void, onError: (err: unknown) => void): void {
  try {
    handle();
  } catch (err) {
    onError(err);
  }
}

const CODE = /^([A-Z_]+): ([\s\S]*)$/;

/**
 * The error of a job BullMQ failed: a prover's `CODE: message` (see failureReason), or BullMQ's
 * own reason for giving up — too many starts or stalls, i.e. provers lost under it.
 */
export function errorOfReason(reason: string | undefined): ErrorBody {
  const m = CODE.exec(reason ?? '');
  if (m) return { code: m[1] as ZkErrorCode, message: m[2] };
  return { code: 'WORKER_CRASHED', message: `no prover finished the job: ${reason ?? 'unknown reason'}` };
}
