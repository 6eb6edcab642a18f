import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../core/errors.js';
import type { LogFormat } from './logger.js';

/**
 * How the prover pool uses the cores: `multi` gives each worker snarkjs' own thread pool (one
 * proof uses every core), `single` proves on the worker thread alone (snarkjs `singleThread`,
 * which builds a fresh curve on every proof). README "Service" has the measurements behind the
 * default.
 */
export type ProverThreads = 'multi' | 'single';

export interface ServiceConfig {
  port: number;
  /** Interface to listen on; undefined = all of them. */
  host?: string;
  dataDir: string;
  poolSize: number;
  proverThreads: ProverThreads;
  /** Provers (witness calculator + zkey) each worker keeps in memory. */
  proverCacheSize: number;
  /** Jobs waiting for a worker before new ones get 429. */
  queueLimit: number;
  /**
   * With API keys configured: the share (0..1) of `queueLimit` that requests without a valid key
   * may hold together, so a keyless flood cannot starve keyed clients. No keys: unused.
   */
  keylessShare: number;
  jobTimeoutMs: number;
  /**
   * How long a finished proof job keeps its input and opening (private values, salt); then both
   * are purged and the job keeps its status, timings and shareable proof. README "Security".
   */
  retentionMs: number;
  /** How long shutdown waits for running jobs before leaving them to the next start. */
  drainTimeoutMs: number;
  bodyLimitBytes: number;
  modelSizeLimitBytes: number;
  maxConstraints: number;
  /** The largest development ptau a build may generate; circuits needing more are refused before circom. */
  maxPtauPower: number;
  /** A ceremony ptau file; undefined = development ptau generated under dataDir/ptau. */
  ptau?: string;
  apiKeys: string[];
  /** V8 heap limit of each prover worker; undefined = V8's default. */
  workerHeapMb?: number;
  compileConcurrency: number;
  logLevel: string;
  /** JSON lines, pino-pretty's lines, or pretty on a terminal and JSON otherwise (`auto`). */
  logFormat: LogFormat;
  /** Register examples/tiny_mlp at startup when no model of that name exists. */
  registerExample: boolean;
  /** Set: proof jobs go through this Redis (BullMQ) to `zkinfer prover` nodes; unset: the in-process pool. */
  redisUrl?: string;
  /** BullMQ key prefix in Redis: deployments (or test runs) sharing one Redis keep apart by it. */
  queuePrefix: string;
  /** This node's name in metrics, logs and job records. */
  nodeName: string;
  /** Port of a prover node's /metrics (`0`: any free one). */
  proverMetricsPort: number;
  /** How long a prover's hold on a job lasts unrenewed: a prover gone this long has its job retried. */
  lockMs: number;
  /** Times a job may start on a prover (retries after a failure or a lost prover included). */
  maxAttempts: number;
  /** Where provers fetch model artifacts from. */
  artifactSource: ArtifactSourceConfig;
}

/**
 * A shared directory (default: the API's `dataDir/artifacts`, which provers on one machine or one
 * volume read directly), or an S3-compatible bucket the API publishes to.
 */
export type ArtifactSourceConfig = { kind: 'directory'; dir: string } | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region: string };

/** `10mb`, `512kb`, `1048576` → bytes. */
const byteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'a size such as 1048576, 512kb, 10mb')
  .transform((s) => {
    const [, n, unit = 'b'] = /^([\d.]+)\s*([a-z]*)$/i.exec(s)!;
    return Math.floor(Number(n) * { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30 }[unit.toLowerCase() as 'b']);
  });
const positiveInt = z.coerce.number().int().positive();
const seconds = z.coerce
  .number()
  .positive()
  .transform((s) => Math.round(s * 1000));

/** Each env var, its parser and its default (as the env string), in the README's order. */
const ENV = {
  PORT: [z.coerce.number().int().min(0).max(65535), '8080'],
  ZKINFER_HOST: [z.string().min(1).optional(), undefined],
  ZKINFER_DATA_DIR: [
    z
      .string()
      .min(1)
      .transform((d) => resolve(d)),
    './data',
  ],
  // Measured (README "Service"): one worker per core, each with snarkjs' threads, beat one worker
  // with threads and one single-threaded worker per core, in throughput and latency.
  ZKINFER_POOL_SIZE: [positiveInt, String(availableParallelism())],
  ZKINFER_PROVER_THREADS: [z.enum(['multi', 'single']), 'multi'],
  ZKINFER_PROVER_CACHE: [positiveInt, '4'],
  ZKINFER_QUEUE_LIMIT: [z.coerce.number().int().min(0), '64'],
  ZKINFER_KEYLESS_SHARE: [z.coerce.number().min(0).max(1), '0.5'],
  ZKINFER_JOB_TIMEOUT: [seconds, '300'],
  ZKINFER_DRAIN_TIMEOUT: [seconds, '60'],
  ZKINFER_RETENTION: [
    z.coerce
      .number()
      .min(0)
      .transform((s) => Math.round(s * 1000)),
    '86400',
  ],
  ZKINFER_BODY_LIMIT: [byteSize, '1mb'],
  ZKINFER_MODEL_SIZE_LIMIT: [byteSize, '100mb'],
  ZKINFER_MAX_CONSTRAINTS: [positiveInt, '1000000'],
  ZKINFER_MAX_PTAU_POWER: [z.coerce.number().int().min(8).max(28), '16'],
  ZKINFER_PTAU: [
    z
      .string()
      .min(1)
      .transform((p) => resolve(p))
      .optional(),
    undefined,
  ],
  ZKINFER_API_KEYS: [
    z.string().transform((s) =>
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    ),
    '',
  ],
  ZKINFER_WORKER_HEAP_MB: [positiveInt.optional(), undefined],
  ZKINFER_COMPILE_CONCURRENCY: [positiveInt, '1'],
  ZKINFER_LOG_LEVEL: [z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'],
  ZKINFER_LOG_FORMAT: [z.enum(['auto', 'json', 'pretty']), 'auto'],
  ZKINFER_EXAMPLE: [z.enum(['0', '1']).transform((v) => v === '1'), '1'],
  REDIS_URL: [
    z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .optional(),
    undefined,
  ],
  ZKINFER_QUEUE_PREFIX: [z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, _ . -'), 'zkinfer'],
  ZKINFER_NODE_NAME: [
    z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, _ . -'),
    hostname()
      .replace(/[^\w.-]/g, '_')
      .slice(0, 64) || 'node',
  ],
  ZKINFER_PROVER_METRICS_PORT: [z.coerce.number().int().min(0).max(65535), '9464'],
  ZKINFER_LOCK_TIMEOUT: [seconds, '30'],
  ZKINFER_MAX_ATTEMPTS: [positiveInt, '3'],
  ZKINFER_ARTIFACTS_DIR: [
    z
      .string()
      .min(1)
      .transform((d) => resolve(d))
      .optional(),
    undefined,
  ],
  ZKINFER_S3_BUCKET: [z.string().min(1).optional(), undefined],
  ZKINFER_S3_PREFIX: [z.string().transform((s) => s.replace(/^\/+|\/+$/g, '')), 'zkinfer/artifacts'],
  ZKINFER_S3_ENDPOINT: [z.url().optional(), undefined],
  ZKINFER_S3_REGION: [z.string().min(1), 'us-east-1'],
} as const satisfies Record<string, readonly [z.ZodType, string | undefined]>;

type EnvName = keyof typeof ENV;
/** Every variable the configuration reads (deployment files are checked against it). */
export const ENV_NAMES = Object.keys(ENV) as EnvName[];
type Parsed = { [K in EnvName]: z.output<(typeof ENV)[K][0]> };

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const v = {} as Record<EnvName, unknown>;
  for (const [name, [schema, fallback]] of Object.entries(ENV) as [EnvName, (typeof ENV)[EnvName]][]) {
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    v[name] = parseOrThrow(schema as z.ZodType, raw, `${name}=${raw}`, { variable: name });
  }
  const p = v as Parsed;
  return {
    port: p.PORT,
    host: p.ZKINFER_HOST,
    dataDir: p.ZKINFER_DATA_DIR,
    poolSize: p.ZKINFER_POOL_SIZE,
    proverThreads: p.ZKINFER_PROVER_THREADS,
    proverCacheSize: p.ZKINFER_PROVER_CACHE,
    queueLimit: p.ZKINFER_QUEUE_LIMIT,
    keylessShare: p.ZKINFER_KEYLESS_SHARE,
    jobTimeoutMs: p.ZKINFER_JOB_TIMEOUT,
    drainTimeoutMs: p.ZKINFER_DRAIN_TIMEOUT,
    retentionMs: p.ZKINFER_RETENTION,
    bodyLimitBytes: p.ZKINFER_BODY_LIMIT,
    modelSizeLimitBytes: p.ZKINFER_MODEL_SIZE_LIMIT,
    maxConstraints: p.ZKINFER_MAX_CONSTRAINTS,
    maxPtauPower: p.ZKINFER_MAX_PTAU_POWER,
    ptau: p.ZKINFER_PTAU,
    apiKeys: p.ZKINFER_API_KEYS,
    workerHeapMb: p.ZKINFER_WORKER_HEAP_MB,
    compileConcurrency: p.ZKINFER_COMPILE_CONCURRENCY,
    logLevel: p.ZKINFER_LOG_LEVEL,
    logFormat: p.ZKINFER_LOG_FORMAT,
    registerExample: p.ZKINFER_EXAMPLE,
    redisUrl: p.REDIS_URL,
    queuePrefix: p.ZKINFER_QUEUE_PREFIX,
    nodeName: p.ZKINFER_NODE_NAME,
    proverMetricsPort: p.ZKINFER_PROVER_METRICS_PORT,
    lockMs: p.ZKINFER_LOCK_TIMEOUT,
    maxAttempts: p.ZKINFER_MAX_ATTEMPTS,
    artifactSource: p.ZKINFER_S3_BUCKET
      ? { kind: 's3', bucket: p.ZKINFER_S3_BUCKET, prefix: p.ZKINFER_S3_PREFIX, endpoint: p.ZKINFER_S3_ENDPOINT, region: p.ZKINFER_S3_REGION }
      : { kind: 'directory', dir: p.ZKINFER_ARTIFACTS_DIR ?? join(p.ZKINFER_DATA_DIR, 'artifacts') },
  };
}

/** How many waiting jobs keyless requests may hold together (all of the queue when no keys are configured). */
export const keylessLimit = (c: Pick<ServiceConfig, 'apiKeys' | 'queueLimit' | 'keylessShare'>): number =>
  c.apiKeys.length === 0 ? c.queueLimit : Math.floor(c.queueLimit * c.keylessShare);

/** The defaults with some settings replaced (tests and the load benchmark). */
export const configWith = (overrides: Partial<ServiceConfig>): ServiceConfig => ({ ...configFromEnv({}), ...overrides });
