/**
 * `npm run bench:scale` (also part of `npm run bench`): proof throughput through the Redis queue
 * with one and with two `zkinfer prover` processes, in the same run, and their ratio. The API runs
 * in this process (REDIS_URL mode); each round starts fresh prover processes (default settings:
 * one worker per core, each with snarkjs' threads), warms them, then sends a burst of
 * BENCH_SCALE_JOBS (48) concurrent proof requests of examples/tiny_mlp and times the burst until
 * the last proof is done. BENCH_ROUNDS (3) rounds alternate the layouts; the table has medians.
 *
 * Redis: BENCH_REDIS_URL, else a redis-server this script starts on a free loopback port. On one
 * machine two provers share its cores, so the ratio measures the overhead and contention of a
 * second node, not the scale-out of adding a machine. Writes bench/scale.json and prints a table.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { releaseCurve } from '../src/core/snarkjs.js';
import { configWith } from '../src/service/config.js';
import { startService } from '../src/service/service.js';
import { dropQueue, startLoopbackRedis, startNode, uniquePrefix, type NodeProcess } from '../test/support/cluster.js';
import { REPO_ROOT, tempDir } from '../test/support/env.js';

const bounded = (name: string, fallback: number, max: number): number =>
  Math.max(1, Math.min(max, Math.floor(Number(process.env[name] ?? fallback)) || fallback));
const burst = bounded('BENCH_SCALE_JOBS', 48, 1000);
const rounds = bounded('BENCH_ROUNDS', 3, 10);
const LAYOUTS = [1, 2];

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const benchDir = join(dataDir, 'bench-scale');
mkdirSync(join(dataDir, 'ptau'), { recursive: true });
mkdirSync(benchDir, { recursive: true });
if (!existsSync(join(benchDir, 'ptau'))) symlinkSync(join(dataDir, 'ptau'), join(benchDir, 'ptau'));

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x: number, digits = 2): number => +x.toFixed(digits);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(url: string, body: BodyInit, type: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
  return { status: res.status, body: await res.json() };
}

async function uploadAndWait(url: string, name: string, onnx: Uint8Array): Promise<string> {
  const { body } = await post(`${url}/v1/models?name=${name}`, new Uint8Array(onnx), 'application/octet-stream');
  for (;;) {
    const m = await (await fetch(`${url}/v1/models/${body.id}`)).json();
    if (m.status === 'ready') return m.id;
    if (m.status === 'failed') throw new Error(`${name} failed to build: ${JSON.stringify(m.error)}`);
    await sleep(250);
  }
}

/** `n` concurrent proofs, each waited for inline; resolves with the nodes that ran them. */
async function proofs(url: string, model: string, input: string, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const { status, body } = await post(`${url}/v1/models/${model}/proofs?wait=60`, input, 'application/json');
      if (status !== 200 || body.status !== 'done') throw new Error(`proof answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
      return body.node as string;
    }),
  );
}

const own = process.env.BENCH_REDIS_URL ? undefined : await startLoopbackRedis();
if (!process.env.BENCH_REDIS_URL && !own) throw new Error('redis-server is not installed: install it, or set BENCH_REDIS_URL');
const redisUrl = process.env.BENCH_REDIS_URL ?? own!.url;
const redisProc = own?.proc;
const prefix = uniquePrefix('bench');
const api = await startService(
  configWith({
    dataDir: benchDir,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'warn',
    registerExample: false,
    queueLimit: burst + 16,
    redisUrl,
    queuePrefix: prefix,
    nodeName: 'api',
  }),
);
const onnx = readFileSync(join(REPO_ROOT, 'examples', 'tiny_mlp', 'network.onnx'));
const input = readFileSync(join(REPO_ROOT, 'examples', 'tiny_mlp', 'input.json'), 'utf8');
const model = await uploadAndWait(api.url, 'tiny_mlp', onnx);

const env = {
  REDIS_URL: redisUrl,
  ZKINFER_QUEUE_PREFIX: prefix,
  ZKINFER_HOST: '127.0.0.1',
  ZKINFER_PROVER_METRICS_PORT: '0',
  ZKINFER_ARTIFACTS_DIR: join(benchDir, 'artifacts'),
  ZKINFER_LOG_LEVEL: 'warn',
};
const samples = new Map<number, { throughput: number[]; perNode: number[][] }>(LAYOUTS.map((n) => [n, { throughput: [], perNode: [] }]));
const loadBefore = loadavg()[0];

async function measure(n: number): Promise<void> {
  const dirs = Array.from({ length: n }, (_, i) => tempDir(`bench-prover-${i + 1}`));
  const provers: NodeProcess[] = await Promise.all(
    dirs.map((dir, i) =>
      startNode('prover', { ...env, ZKINFER_NODE_NAME: `prover-${i + 1}`, ZKINFER_DATA_DIR: dir, ZKINFER_LOG_LEVEL: 'info' }, 'zkinfer prover '),
    ),
  );
  // Warm-up: every prover fetches the model and loads it into its workers.
  await proofs(api.url, model, input, 4 * n * availableParallelism());
  const started = performance.now();
  const nodes = await proofs(api.url, model, input, burst);
  const seconds = (performance.now() - started) / 1000;
  const s = samples.get(n)!;
  s.throughput.push(burst / seconds);
  s.perNode.push(Array.from({ length: n }, (_, i) => nodes.filter((x) => x === `prover-${i + 1}`).length));
  console.error(JSON.stringify({ provers: n, jobs: burst, seconds: round(seconds), throughput: round(burst / seconds), perNode: s.perNode.at(-1) }));
  for (const p of provers) p.proc.kill('SIGTERM');
  await Promise.all(provers.map((p) => p.exit));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
}

try {
  for (let r = 0; r < rounds; r++) for (const n of LAYOUTS) await measure(n);
} finally {
  await api.close();
  await dropQueue(redisUrl, prefix);
  redisProc?.kill();
  await releaseCurve();
}

const rows = LAYOUTS.map((n) => {
  const s = samples.get(n)!;
  return { provers: n, throughputPerSecond: round(percentile(s.throughput, 50)), runs: s.throughput.map((t) => round(t)), jobsPerNode: s.perNode };
});
const ratio = round(rows[1].throughputPerSecond / rows[0].throughputPerSecond, 3);
mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
const loadAverage = { before: round(loadBefore), after: round(loadavg()[0]) };
const doc = {
  date: new Date().toISOString(),
  node: process.version,
  cores: availableParallelism(),
  loadAverage,
  model: 'tiny_mlp',
  burst,
  rounds,
  rows,
  twoToOneRatio: ratio,
};
writeFileSync(join(REPO_ROOT, 'bench/scale.json'), `${JSON.stringify(doc, null, 2)}\n`);
console.log(
  [
    `| prover processes | proofs/s (burst of ${burst}, median of ${rounds}) | runs | jobs per prover |`,
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.provers} | ${r.throughputPerSecond} | ${r.runs.join(', ')} | ${r.jobsPerNode.map((x) => x.join('/')).join(', ')} |`),
    '',
    `two / one: ${ratio} (${availableParallelism()} cores; load average ${loadAverage.before} → ${loadAverage.after})`,
  ].join('\n'),
);
