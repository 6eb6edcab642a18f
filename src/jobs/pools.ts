import { Piscina } from 'piscina';
import type { ServiceConfig } from '../service/config.js';
import type { ProverWorkerData } from './tasks.js';

/** dist/src/jobs/ → dist/workers/ (tsc keeps the source layout under dist/). */
const workerFile = (name: string): string => new URL(`../../workers/${name}.js`, import.meta.url).href;

/**
 * The prover pool: a fixed set of workers, started with the service so each builds its curve
 * before the first job. The queue (proofs.ts) never gives it more tasks than workers, so a task
 * handed to piscina is running, and piscina's own queue only holds tasks while a crashed worker is
 * being replaced.
 */
export function createProverPool(config: ServiceConfig): Piscina {
  const workerData: ProverWorkerData = { singleThread: config.proverThreads === 'single', cacheSize: config.proverCacheSize };
  return new Piscina({
    filename: workerFile('prove'),
    workerData,
    minThreads: config.poolSize,
    maxThreads: config.poolSize,
    concurrentTasksPerWorker: 1,
    // piscina's default ('sync') parks an idle worker in Atomics.wait, blocking the event loop that
    // snarkjs' curve threads report through; measured, a tiny proof took ~12 ms (15%) longer.
    atomics: 'disabled',
    idleTimeout: Number.MAX_SAFE_INTEGER,
    resourceLimits: config.workerHeapMb ? { maxOldGenerationSizeMb: config.workerHeapMb } : undefined,
  });
}

/** Compiles are rare and long; their workers go away when idle. */
export function createCompilePool(config: ServiceConfig): Piscina {
  return new Piscina({
    filename: workerFile('compile'),
    workerData: {},
    minThreads: 0,
    maxThreads: config.compileConcurrency,
    concurrentTasksPerWorker: 1,
    atomics: 'disabled', // as for the provers: setup runs on the curve's threads too
    idleTimeout: 30_000,
  });
}
