/**
 * Prover pool worker (piscina): proves one job at a time and keeps the provers of the models it
 * served last in memory, so a model's witness calculator and zkey load once per worker.
 */
import { workerData } from 'node:worker_threads';
import { Lru } from '../src/core/lru.js';
import { snarkjs } from '../src/core/snarkjs.js';
import type { ProveOutcome, ProveTask, ProverWorkerData, WorkerResult } from '../src/jobs/tasks.js';
import { settle } from '../src/jobs/tasks.js';
import { ModelProver } from '../src/prove/prover.js';

const { singleThread, cacheSize } = workerData as ProverWorkerData;
const provers = new Lru<string, Promise<ModelProver>>(cacheSize);

// The multi-threaded curve is built once per worker (about a second); doing it now keeps that
// cost out of the first job. Single-threaded snarkjs builds its own curve on every proof.
if (!singleThread) await snarkjs.curves.getCurveFromName('bn128');

export default function prove(task: ProveTask): Promise<WorkerResult<ProveOutcome>> {
  return settle(async () => {
    const started = performance.now();
    // The vkey hash is part of the key: a model directory deleted and built again has new keys.
    const key = `${task.dir}#${task.vkeyHash}`;
    const prover = await provers
      .get(key, () => ModelProver.load(task.dir))
      .catch((e) => {
        provers.delete(key);
        throw e;
      });
    const loadMs = performance.now() - started;
    return { bundle: await prover.prove(task.values, { singleThread, salt: task.salt === undefined ? undefined : BigInt(task.salt) }), loadMs };
  });
}
