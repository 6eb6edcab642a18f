/**
 * Assembles the proof service: store, pools, build and proof queues, HTTP server. Starting recovers
 * what a previous process left: models that were compiling build again, and unfinished proof jobs
 * run again in their original order. With REDIS_URL, proofs go to prover nodes through Redis
 * (src/cluster/) instead of the in-process pool.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createApp } from '../api/app.js';
import { ModelBuilder } from '../jobs/compiles.js';
import { createCompilePool, createProverPool } from '../jobs/pools.js';
import { artifactSourceOf } from '../cluster/artifacts.js';
import { RedisProofQueue } from '../cluster/redis-queue.js';
import type { ProofJobQueue } from '../jobs/ledger.js';
import { ProofQueue } from '../jobs/proofs.js';
import { ArtifactStore } from '../store/artifacts.js';
import { openDatabase } from '../store/db.js';
import { JobStore } from '../store/jobs.js';
import { ModelStore } from '../store/models.js';
import type { ServiceConfig } from './config.js';
import { registerExample } from './example.js';
import { createMetrics } from './metrics.js';
import { ModelService } from './models.js';

export interface Service {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /**
   * Graceful stop: refuses new work, waits up to `drainMs` (default: the configured drain
   * timeout) for running proofs, then stops the workers. Unfinished work resumes at the next start.
   */
  close(drainMs?: number): Promise<void>;
}

export async function startService(config: ServiceConfig, logger: Logger = pino({ level: config.logLevel })): Promise<Service> {
  const db = openDatabase(config.dataDir);
  const modelStore = new ModelStore(db);
  const jobs = new JobStore(db);
  const artifacts = new ArtifactStore(config.dataDir);
  const metrics = createMetrics(config.redisUrl ? config.nodeName : undefined);
  const builder = new ModelBuilder(createCompilePool(config), modelStore, artifacts, { dataDir: config.dataDir, maxConstraints: config.maxConstraints }, metrics, logger);
  const models = new ModelService(modelStore, artifacts, builder, config.ptau, jobs);
  const lookup = (id: string) => {
    const record = modelStore.get(id);
    const info = record && models.infoOf(record);
    return info && { dir: artifacts.dir(record.key), key: record.key, vkeyHash: info.setup!.vkeyHash };
  };
  const queue: ProofJobQueue = config.redisUrl
    ? new RedisProofQueue(config, jobs, lookup, await artifactSourceOf(config.artifactSource), metrics, logger)
    : new ProofQueue(createProverPool(config), jobs, lookup, { poolSize: config.poolSize, queueLimit: config.queueLimit, timeoutMs: config.jobTimeoutMs }, metrics);

  artifacts.sweepBuilds();
  const rebuilding = modelStore.compiling();
  rebuilding.forEach((m) => void builder.build(m));
  const requeued = await queue.recover();

  let ready = false;
  const app = createApp({ config, models, builder, queue, jobs, metrics, logger, isReady: () => ready });
  const server = await listen(config.host === undefined ? app.listen(config.port) : app.listen(config.port, config.host));
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host ?? 'localhost'}:${port}`;
  ready = true;
  const provers = config.redisUrl ? { queue: 'redis', node: config.nodeName } : { poolSize: config.poolSize, proverThreads: config.proverThreads };
  logger.info({ url, ...provers, requeuedJobs: requeued, rebuildingModels: rebuilding.length }, `zkinfer listening on ${url}`);
  if (config.registerExample) registerExample(models, logger);

  return {
    url,
    async close(drainMs = config.drainTimeoutMs) {
      ready = false;
      logger.info({ drainMs }, 'shutting down: draining running proof jobs');
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      await Promise.all([queue.close(drainMs), builder.close()]);
      // Requests still open (a long ?wait=) answered nothing useful from here on.
      server.closeAllConnections();
      await closed;
      db.close();
      logger.info('stopped');
    },
  };
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
