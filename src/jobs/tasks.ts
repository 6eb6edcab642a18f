/**
 * What crosses the thread boundary between the service and its piscina workers (workers/). Errors
 * travel as data: structured cloning keeps only an Error's message, so a ZkError's code would be
 * lost if workers simply threw.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { errorBody, fromErrorBody, isZkError, ZkError, type ErrorBody } from '../core/errors.js';
import type { ProofBundle } from '../prove/bundle.js';
import type { CompileSettings } from '../store/models.js';

export type WorkerResult<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Runs `work`, turning a thrown error into a `{ ok: false }` result. */
export async function settle<T>(work: () => Promise<T>): Promise<WorkerResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    return { ok: false, error: errorBody(e) };
  }
}

/** workerData of the prover pool (an object without `mod`, which web-worker would take for its own). */
export interface ProverWorkerData {
  singleThread: boolean;
  cacheSize: number;
}

/** What a proof job proves: the checked input, and the salt of its commitments when the client chose one. */
export interface ProofInput {
  values: number[][];
  /** Decimal field element; absent: the prover draws one (hashed input or output only). */
  salt?: string;
}

export interface ProveTask extends ProofInput {
  /** The compiled model directory. */
  dir: string;
  /** Part of the cache key: a directory deleted and compiled again has new keys. */
  vkeyHash: string;
}

export interface ProveOutcome {
  bundle: ProofBundle;
  loadMs: number;
}

export interface CompileTask {
  upload: string;
  /** Where the build happens; renamed to `dir` once compile and setup are done. */
  buildDir: string;
  dir: string;
  name: string;
  settings: CompileSettings;
  dataDir: string;
  maxConstraints: number;
  /** The largest development ptau to generate (a ceremony file in settings.ptau sets its own). */
  maxPtauPower: number;
  /** Receives CompileProgress messages. */
  port: MessagePort;
}

/**
 * Progress, a log line, or the pid of a process the build started (circom), to kill if it is
 * cancelled. `fraction`: of the whole build; `stageFraction`: of the current stage; `constraints`
 * and `ptauPower` are known once compile ends.
 */
export type CompileProgress =
  | { stage: string; fraction: number; stageFraction?: number; constraints?: number; ptauPower?: number }
  | { log: string }
  | { pid: number };

export interface CompileOutcome {
  compileSeconds: number;
  setupSeconds: number;
}

/**
 * Proves one task on the prover pool, stopping its worker when `controller` aborts (cancel) or
 * after `timeoutMs` (TIMEOUT). Rejects with a ZkError: the worker's own, the abort's reason, or
 * WORKER_CRASHED when the worker died under the job.
 */
export async function proveOnPool(pool: Piscina, task: ProveTask, controller: AbortController, timeoutMs: number): Promise<ProveOutcome> {
  const timer = setTimeout(() => controller.abort(new ZkError('TIMEOUT', `the job ran longer than its limit of ${timeoutMs / 1000} s`)), timeoutMs);
  try {
    const result = (await pool.run(task, { signal: controller.signal })) as WorkerResult<ProveOutcome>;
    if (!result.ok) throw fromErrorBody(result.error);
    return result.value;
  } catch (e) {
    throw failureOf(e, controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

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
