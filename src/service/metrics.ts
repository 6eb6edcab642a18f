import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobOutcome } from '../store/jobs.js';

/** Proofs take from milliseconds (tiny models, warm) to minutes (large ones). */
const PROOF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const COMPILE_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * The service's Prometheus metrics, in a registry of its own (several services can share a process).
 * With a `node` name (scaled out: the API and each prover), every series carries `node="<name>"`,
 * so one dashboard query can split throughput by node.
 */
export function createMetrics(node?: string) {
  const registry = new Registry();
  if (node !== undefined) registry.setDefaultLabels({ node });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    proofDuration: new Histogram({
      name: 'zkinfer_proof_duration_seconds',
      help: 'Proof job time by model and stage: witness, prove, and run (the whole job in its worker, loading included)',
      labelNames: ['model', 'stage'] as const,
      buckets: PROOF_BUCKETS,
      registers,
    }),
    jobs: new Counter({ name: 'zkinfer_proof_jobs_total', help: 'Finished proof jobs by final status', labelNames: ['status'] as const, registers }),
    queueDepth: new Gauge({ name: 'zkinfer_queue_depth', help: 'Proof jobs waiting for a worker', registers }),
    running: new Gauge({ name: 'zkinfer_jobs_running', help: 'Proof jobs running on a worker', registers }),
    poolUtilization: new Gauge({ name: 'zkinfer_pool_utilization', help: 'Busy prover workers / pool size (0..1)', registers }),
    compileDuration: new Histogram({
      name: 'zkinfer_compile_duration_seconds',
      help: 'Model build time by stage: compile (ONNX to circuit) and setup (Groth16 keys)',
      labelNames: ['stage'] as const,
      buckets: COMPILE_BUCKETS,
      registers,
    }),
    retries: new Counter({
      name: 'zkinfer_proof_retries_total',
      help: 'Proof jobs a prover started again, after a failed attempt or a prover lost mid-job',
      registers,
    }),
    failures: new Counter({
      name: 'zkinfer_failures_total',
      help: 'Failed proof jobs, model builds and rejected proof requests, by kind and error code',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Counts a finished proof job, and its stage times when it is done. */
export function observeOutcome(metrics: Metrics, model: string, outcome: JobOutcome): void {
  metrics.jobs.inc({ status: outcome.status });
  const t = outcome.timings;
  if (outcome.status === 'done' && t) {
    metrics.proofDuration.observe({ model, stage: 'witness' }, (t.witnessMs ?? 0) / 1000);
    metrics.proofDuration.observe({ model, stage: 'prove' }, (t.proveMs ?? 0) / 1000);
    metrics.proofDuration.observe({ model, stage: 'run' }, t.runMs / 1000);
  }
  if (outcome.status === 'failed') metrics.failures.inc({ kind: 'proof', reason: outcome.error!.code });
}
