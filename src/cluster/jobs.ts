/**
 * What travels through Redis between the API and prover nodes: one BullMQ queue, `proofs`, under
 * the configured key prefix. The BullMQ job id is the job's id in the API's store, so adding a job
 * twice (a retried request, a recovery) enqueues it once.
 */
import type { ConnectionOptions } from 'bullmq';
import type { JobOutcome } from '../store/jobs.js';
import type { ArtifactManifest } from './artifacts.js';

export const PROOF_QUEUE = 'proofs';

export interface ClusterJob {
  modelId: string;
  /** The model's artifact key: where provers fetch it from, and their cache entry. */
  key: string;
  vkeyHash: string;
  /** The files a prover must fetch and the sha256 each must have. */
  manifest: ArtifactManifest;
  values: number[][];
  salt?: string;
  /** When the API accepted the job (ms since the epoch, the API's clock). */
  createdAt: number;
}

/** What a prover reports (as BullMQ progress) when it starts an attempt. */
export interface ClusterProgress {
  node: string;
  attempt: number;
  startedAt: number;
}

/** A prover's result: the job's outcome, from which node and on which attempt. */
export type ClusterResult = JobOutcome & { node: string; attempts: number };

/**
 * ioredis settings BullMQ wants: workers and event readers block on Redis and must retry forever
 * (`maxRetriesPerRequest: null`); the API's producer instead fails fast when Redis is down
 * (`failFast`), so a request gets a 503 rather than hanging.
 */
export const redisConnection = (url: string, failFast = false): ConnectionOptions =>
  failFast ? { url, maxRetriesPerRequest: 1, enableOfflineQueue: false } : { url, maxRetriesPerRequest: null };

/**
 * A prover's failure message carries its error code first (`CODE: message`), because BullMQ keeps
 * only the message of what a processor throws.
 */
export const failureReason = (code: string, message: string): string => `${code}: ${message}`;
