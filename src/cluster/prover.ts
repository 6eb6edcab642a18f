/**
 * `zkinfer prover`: a node that takes proof jobs from the Redis queue and proves them on its own
 * piscina pool (the same pool and worker as the in-process service). BullMQ gives each node a lock
 * per job that it renews while the job runs; a node killed mid-proof stops renewing, and after
 * `lockMs` another node's stalled-job check puts the job back in the queue. `maxAttempts` bounds
 * how often a job may start, whatever ended its earlier attempts. Errors that say something about
 * the job (a witness the input cannot satisfy, a timeout) end it; errors of the node (a worker that
 * died, artifacts it could not fetch) throw, and BullMQ retries the job, on any node.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { errorBody, isZkError, ZkError, type ZkErrorCode } from '../core/errors.js';
import { createProverPool } from '../jobs/pools.js';
import { proveOnPool } from '../jobs/tasks.js';
import type { ServiceConfig } from '../service/config.js';
import { createMetrics, observeOutcome } from '../service/metrics.js';
import type { JobOutcome } from '../store/jobs.js';
import { ArtifactCache, artifactSourceOf } from './artifacts.js';
import { failureReason, PROOF_QUEUE, redisConnection, type ClusterJob, type ClusterProgress, type ClusterResult } from './jobs.js';

/** Failures of the node rather than of the job: worth another attempt, maybe elsewhere. */
const RETRYABLE: readonly ZkErrorCode[] = ['WORKER_CRASHED', 'ARTIFACT_MISSING', 'INTERNAL', 'UNAVAILABLE'];

export interface ProverNode {
  /** Where this node serves /metrics. */
  metricsUrl: string;
  /** Takes no new jobs, waits up to `drainMs` for running ones, then stops (unfinished jobs return to the queue). */
  close(drainMs?: number): Promise<void>;
}

export async function startProverNode(config: ServiceConfig, logger: Logger): Promise<ProverNode> {
  if (!config.redisUrl) throw new ZkError('INPUT_INVALID', 'zkinfer prover takes its jobs from Redis: set REDIS_URL');
  const node = config.nodeName;
  const metrics = createMetrics(node);
  const pool = createProverPool(config);
  const cache = new ArtifactCache(await artifactSourceOf(config.artifactSource), join(config.dataDir, 'prover-cache'));
  let busy = 0;
  const setBusy = (delta: number) => {
    busy += delta;
    metrics.running.set(busy);
    metrics.poolUtilization.set(busy / config.poolSize);
  };

  async function prove(job: Job<ClusterJob, ClusterResult>, signal?: AbortSignal): Promise<ClusterResult> {
    const { data } = job;
    const startedAt = Date.now();
    const attempt = job.attemptsStarted;
    if (attempt > 1) metrics.retries.inc();
    const progress: ClusterProgress = { node, attempt, startedAt };
    await job.updateProgress(progress);
    const timings = () => ({ queuedMs: startedAt - data.createdAt, runMs: Date.now() - startedAt });
    let outcome: JobOutcome;
    setBusy(1);
    try {
      const dir = await cache.ensure(data.key, data.manifest);
      const controller = new AbortController();
      // BullMQ aborts on a forced close: the job goes back to the queue as a node failure.
      signal?.addEventListener('abort', () => controller.abort(new ZkError('UNAVAILABLE', `prover ${node} stopped`)), { once: true });
      const { bundle, loadMs } = await proveOnPool(
        pool,
        { dir, vkeyHash: data.vkeyHash, values: data.values, salt: data.salt },
        controller,
        config.jobTimeoutMs,
      );
      outcome = { status: 'done', result: bundle, timings: { ...timings(), loadMs, ...bundle.timings } };
    } catch (e) {
      const error = isZkError(e) ? e : new ZkError('INTERNAL', (e as Error).message ?? String(e));
      if (RETRYABLE.includes(error.code)) {
        metrics.failures.inc({ kind: 'attempt', reason: error.code });
        logger.warn({ job: job.id, attempt, err: error }, 'proof attempt failed; the queue retries it');
        throw new Error(failureReason(error.code, error.message));
      }
      outcome = { status: 'failed', error: errorBody(error), timings: timings() };
    } finally {
      setBusy(-1);
    }
    observeOutcome(metrics, data.modelId, outcome);
    logger.info({ job: job.id, attempt, status: outcome.status, runMs: outcome.timings?.runMs }, 'proof job finished');
    return { ...outcome, node, attempts: attempt };
  }

  const worker = new Worker<ClusterJob, ClusterResult>(PROOF_QUEUE, (job, _token, signal) => prove(job, signal), {
    prefix: config.queuePrefix,
    connection: redisConnection(config.redisUrl),
    concurrency: config.poolSize,
    lockDuration: config.lockMs,
    stalledInterval: config.lockMs,
    // Starts bound every attempt, failed or lost; the stall limit is only a backstop for it.
    maxStartedAttempts: config.maxAttempts,
    maxStalledCount: config.maxAttempts,
    autorun: false,
  });
  worker.on('error', (err) => logger.warn({ err }, 'prover: redis error'));
  worker.on('stalled', (jobId) => logger.warn({ job: jobId }, 'a job lost its prover; it is queued again'));

  const server = await serveMetrics(metrics.registry, config);
  const { port } = server.address() as AddressInfo;
  const metricsUrl = `http://${config.host ?? 'localhost'}:${port}/metrics`;
  await worker.waitUntilReady();
  void worker.run();
  // `node` is already bound to the logger (zkinfer prover's child logger).
  logger.info(
    { metricsUrl, poolSize: config.poolSize, proverThreads: config.proverThreads, artifacts: config.artifactSource.kind },
    `zkinfer prover ${node} taking jobs`,
  );

  return {
    metricsUrl,
    async close(drainMs = config.drainTimeoutMs) {
      logger.info({ drainMs }, 'prover shutting down: finishing running jobs');
      let timer: NodeJS.Timeout | undefined;
      const drained = worker.close();
      // Past the deadline, force: running jobs are aborted and go back to the queue.
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
      await worker.close(true);
      await pool.destroy();
      await new Promise((resolve) => server.close(resolve));
      logger.info('stopped');
    },
  };
}

/** /metrics and /healthz on the prover's own port. */
function serveMetrics(registry: ReturnType<typeof createMetrics>['registry'], config: ServiceConfig): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.proverMetricsPort, config.host, () => resolve(server));
  });
}
