/**
 * Assembles the proof service: store, pools, build and proof queues, HTTP server. Starting recovers
 * what a previous process left: models that were compiling build again, and unfinished proof jobs
 * run again in their original order. With REDIS_URL, proofs go to prover nodes through Redis
 * (src/cluster/) instead of the in-process pool.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from '../api/app.js';
import { ZkError } from '../core/errors.js';
import { ModelBuilder } from '../jobs/compiles.js';
import { createCompilePool, createProverPool } from '../jobs/pools.js';
import { artifactSourceOf } from '../cluster/artifacts.js';
import { RedisProofQueue } from '../cluster/redis-queue.js';
import type { ProofJobQueue } from '../jobs/ledger.js';
import { ProofQueue } from '../jobs/proofs.js';
import { sweepDevPtauTemps } from '../setup/dev-ptau-cache.js';
import { ArtifactStore } from '../store/artifacts.js';
import { openDatabase } from '../store/db.js';
import { JobStore } from '../store/jobs.js';
import { lockDataDir } from '../store/lock.js';
import { ModelStore } from '../store/models.js';
import { keylessLimit, type ServiceConfig } from './config.js';
import { registerExample } from './example.js';
import { startRetention } from './retention.js';
import { createLogger } from './logger.js';
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

/**
 * Starts the service on its data directory. Refuses (CONFLICT) when another server holds the
 * directory's lock, and fails with STORAGE_FAILED, having released everything it took, when the
 * store cannot be opened or written at start (a full disk): the CLI prints the reason and exits 1.
 */
export async function startService(
  config: ServiceConfig,
  logger: Logger = createLogger({ level: config.logLevel, format: config.logFormat }),
): Promise<Service> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(config.dataDir);
  const stops: (() => Promise<unknown> | void)[] = [unlock];
  try {
    return await start(config, logger, stops, unlock);
  } catch (e) {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    throw e;
  }
}

/** The start proper; `stops` collects, in order, what a failed start must undo. */
async function start(config: ServiceConfig, logger: Logger, stops: (() => Promise<unknown> | void)[], unlock: () => void): Promise<Service> {
  const db = openDatabase(config.dataDir);
  stops.push(() => db.close());
  const modelStore = new ModelStore(db);
  const jobs = new JobStore(db);
  const artifacts = new ArtifactStore(config.dataDir);
  // Builds cut short and temp files of interrupted writes, left by a previous process (the lock
  // says none runs now).
  artifacts.sweepBuilds();
  await sweepDevPtauTemps(config.dataDir);
  const metrics = createMetrics(config.redisUrl ? config.nodeName : undefined);
  const builder = new ModelBuilder(
    createCompilePool(config),
    modelStore,
    artifacts,
    { dataDir: config.dataDir, maxConstraints: config.maxConstraints, maxPtauPower: config.maxPtauPower },
    metrics,
    logger,
  );
  stops.push(() => builder.close());
  const models = new ModelService(modelStore, artifacts, builder, config.ptau, jobs);
  const lookup = (id: string) => {
    const record = modelStore.get(id);
    const info = record && models.infoOf(record);
    return info && { dir: artifacts.dir(record.key), key: record.key, vkeyHash: info.setup!.vkeyHash };
  };
  const queue: ProofJobQueue = config.redisUrl
    ? new RedisProofQueue(config, jobs, lookup, await artifactSourceOf(config.artifactSource), metrics, logger)
    : new ProofQueue(
        createProverPool(config),
        jobs,
        lookup,
        { poolSize: config.poolSize, queueLimit: config.queueLimit, keylessLimit: keylessLimit(config), timeoutMs: config.jobTimeoutMs },
        metrics,
      );
  stops.push(() => queue.close(0));

  const requeued = await queue.recover();
  const stopRetention = startRetention(jobs, config.retentionMs, logger);
  stops.push(stopRetention);
  const rebuilding = modelStore.compiling();
  rebuilding.forEach((m) => void builder.build(m));

  let ready = false;
  const app = createApp({ config, models, builder, queue, jobs, metrics, logger, isReady: () => ready });
  const server = await listen(config.host === undefined ? app.listen(config.port) : app.listen(config.port, config.host), config);
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host ?? 'localhost'}:${port}`;
  ready = true;
  const provers = config.redisUrl ? { queue: 'redis', node: config.nodeName } : { poolSize: config.poolSize, proverThreads: config.proverThreads };
  logger.info({ url, ...provers, requeuedJobs: requeued, rebuildingModels: rebuilding.length }, `zkinfer listening on ${url}`);
  if (config.registerExample) {
    try {
      await registerExample(models, logger);
    } catch (err) {
      logger.warn({ err }, 'could not register the example model');
    }
  }

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
      stopRetention();
      db.close();
      unlock();
      logger.info('stopped');
    },
  };
}

/** Resolves once `server` listens; a port another program holds (the default 8080 often is) is CONFLICT naming PORT. */
function listen(server: Server, config: Pick<ServiceConfig, 'port' | 'host'>): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('listening', () => resolve(server));
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EADDRINUSE') return reject(e);
      const where = `port ${config.port} on ${config.host ?? 'all interfaces'}`;
      reject(new ZkError('CONFLICT', `${where} is in use by another program; stop it, or choose another port with PORT (0: any free one)`, {}, { cause: e }));
    });
  });
}
