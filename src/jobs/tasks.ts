/**
 * What crosses the thread boundary between the service and its piscina workers (workers/). Errors
 * travel as data: structured cloning keeps only an Error's message, so a ZkError's code would be
 * lost if workers simply threw.
 */
import type { MessagePort } from 'node:worker_threads';
import { errorBody, type ErrorBody } from '../core/errors.js';
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

export interface ProveTask {
  /** The compiled model directory. */
  dir: string;
  /** Part of the cache key: a directory deleted and compiled again has new keys. */
  vkeyHash: string;
  values: number[][];
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
  /** Receives CompileProgress messages. */
  port: MessagePort;
}

export type CompileProgress = { stage: string; fraction: number } | { log: string };

export interface CompileOutcome {
  compileSeconds: number;
  setupSeconds: number;
}
