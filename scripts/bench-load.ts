/**
 * `npm run bench:load`: the proof service under load, on loopback. For each model and each prover
 * pool layout it starts the service, then measures sequential requests (API latency, compared with
 * a bare in-process prove of the same model) and N concurrent clients (throughput, p50/p95), in
 * rounds over the layouts. Writes bench/load.json and prints a table.
 *
 * BENCH_MODELS (tiny_mlp,mnist_mlp: directories of examples/), BENCH_ROUNDS (3), and per round and
 * layout BENCH_SEQUENTIAL (10) sequential requests, then BENCH_REQUESTS (24, at most 1000) from
 * BENCH_CONCURRENCY (8, at most 64) clients. The service's data lives in
 * $ZKINFER_DATA_DIR/bench-load, sharing the development ptau cache of $ZKINFER_DATA_DIR/ptau.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { releaseCurve } from '../src/core/snarkjs.js';
import { parseInputs } from '../src/io/input.js';
import { DEFAULT_HEADROOM } from '../src/model/compile.js';
import { ModelProver } from '../src/prove/prover.js';
import { configWith, type ProverThreads } from '../src/service/config.js';
import { startService } from '../src/service/service.js';
import { ArtifactStore } from '../src/store/artifacts.js';
import { REPO_ROOT } from '../test/support/env.js';
import { markdownTable } from './table.js';

const bounded = (name: string, fallback: number, max: number): number =>
  Math.max(1, Math.min(max, Math.floor(Number(process.env[name] ?? fallback)) || fallback));
const concurrency = bounded('BENCH_CONCURRENCY', 8, 64);
const requests = bounded('BENCH_REQUESTS', 24, 1000);
const sequential = bounded('BENCH_SEQUENTIAL', 10, 200);
const rounds = bounded('BENCH_ROUNDS', 3, 10);
const modelNames = (process.env.BENCH_MODELS ?? 'tiny_mlp,mnist_mlp').split(',').filter(Boolean);

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const benchDir = join(dataDir, 'bench-load');
mkdirSync(join(dataDir, 'ptau'), { recursive: true });
mkdirSync(benchDir, { recursive: true });
if (!existsSync(join(benchDir, 'ptau'))) symlinkSync(join(dataDir, 'ptau'), join(benchDir, 'ptau'));

interface Layout {
  label: string;
  poolSize: number;
  proverThreads: ProverThreads;
}
const n = availableParallelism();
const layouts: Layout[] = [
  { label: `${n} workers × 1 thread`, poolSize: n, proverThreads: 'single' },
  { label: '1 worker × snarkjs threads', poolSize: 1, proverThreads: 'multi' },
  { label: `${n} workers × snarkjs threads`, poolSize: n, proverThreads: 'multi' },
];
const defaults = configWith({});
const isDefault = (l: Layout) => l.poolSize === defaults.poolSize && l.proverThreads === defaults.proverThreads;

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x: number, digits = 1): number => +x.toFixed(digits);

async function http(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** One proof through the API, waiting inline: the client's latency and the job's own run time, in ms. */
async function proveOnce(url: string, model: string, input: string): Promise<{ ms: number; runMs: number }> {
  const started = performance.now();
  for (;;) {
    const res = await fetch(`${url}/v1/models/${model}/proofs?wait=60`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: input });
    const job = (await res.json()) as { status: string; timings?: { runMs: number } };
    if (res.status === 429) await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
    else if (res.status === 200 && job.status === 'done') return { ms: performance.now() - started, runMs: job.timings!.runMs };
    else throw new Error(`proof request answered ${res.status}: ${JSON.stringify(job).slice(0, 300)}`);
  }
}

async function uploadAndWait(url: string, name: string, onnx: Uint8Array): Promise<string> {
  const { body } = await http(`${url}/v1/models?name=${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(onnx),
  });
  for (;;) {
    const { body: m } = await http(`${url}/v1/models/${body.id}`);
    if (m.status === 'ready') return m.id as string;
    if (m.status === 'failed') throw new Error(`${name} failed to build: ${JSON.stringify(m.error)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The same model proven in this process, without HTTP, queue or worker threads: one warm prove per
 * call, in ms. Calls alternate with API requests, so both see the same machine load.
 */
async function bareProver(name: string, onnx: Uint8Array, inputDoc: unknown): Promise<() => Promise<number>> {
  const key = ArtifactStore.key(createHash('sha256').update(onnx).digest('hex'), name, { headroomBits: DEFAULT_HEADROOM });
  const prover = await ModelProver.load(new ArtifactStore(benchDir).dir(key));
  const values = parseInputs(inputDoc, prover.info.inputs);
  await prover.prove(values);
  return async () => {
    const t = performance.now();
    await prover.prove(values);
    return performance.now() - t;
  };
}

const serviceWith = (layout: Partial<Layout>) =>
  startService(configWith({ dataDir: benchDir, port: 0, host: '127.0.0.1', logLevel: 'warn', registerExample: false, queueLimit: requests, ...layout }));

interface Samples {
  bareMs: number[];
  apiMs: number[];
  runMs: number[];
  latencies: number[];
  throughputs: number[];
}

/** One round of one layout: sequential requests alternating with bare proves, then N concurrent clients. */
async function measure(layout: Layout, name: string, onnx: Uint8Array, input: string, bare: () => Promise<number>, into: Samples): Promise<void> {
  const service = await serviceWith(layout);
  const model = await uploadAndWait(service.url, name, onnx);
  await Promise.all(Array.from({ length: layout.poolSize * 2 }, () => proveOnce(service.url, model, input)));
  for (let i = 0; i < sequential; i++) {
    into.bareMs.push(await bare());
    const api = await proveOnce(service.url, model, input);
    into.apiMs.push(api.ms);
    into.runMs.push(api.runMs);
  }
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued++ < requests) into.latencies.push((await proveOnce(service.url, model, input)).ms);
    }),
  );
  into.throughputs.push(requests / ((performance.now() - started) / 1000));
  await service.close();
}

const loadBefore = loadavg()[0];
const rows = [];
for (const name of modelNames) {
  const onnx = readFileSync(join(REPO_ROOT, 'examples', name, 'network.onnx'));
  const inputDoc: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', name, 'input.json'), 'utf8'));
  // Build once: artifacts are content-addressed, so later uploads of the same bytes are ready at once.
  const builder = await serviceWith({});
  await uploadAndWait(builder.url, name, onnx);
  await builder.close();
  const bare = await bareProver(name, onnx, inputDoc);
  const samples = layouts.map((): Samples => ({ bareMs: [], apiMs: [], runMs: [], latencies: [], throughputs: [] }));
  // Rounds go through every layout in turn, so a change in the machine's load hits them alike.
  for (let r = 0; r < rounds; r++) {
    for (const [i, layout] of layouts.entries()) await measure(layout, name, onnx, JSON.stringify(inputDoc), bare, samples[i]);
  }
  await releaseCurve();
  for (const [i, layout] of layouts.entries()) {
    const s = samples[i];
    const row = {
      model: name,
      layout: layout.label,
      default: isDefault(layout),
      bareProveMs: round(percentile(s.bareMs, 50)),
      sequentialP50Ms: round(percentile(s.apiMs, 50)),
      /** The job in its worker (load, witness, prove); the rest of the API time is HTTP, checks and queue. */
      workerRunP50Ms: round(percentile(s.runMs, 50)),
      apiToBareRatio: round(percentile(s.apiMs, 50) / percentile(s.bareMs, 50), 3),
      throughputPerSecond: round(percentile(s.throughputs, 50), 2),
      p50Ms: round(percentile(s.latencies, 50)),
      p95Ms: round(percentile(s.latencies, 95)),
    };
    console.error(JSON.stringify(row));
    rows.push(row);
  }
}

mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
/** Other processes' load: the figures only compare layouts measured under the same conditions. */
const loadAverage = { before: round(loadBefore, 2), after: round(loadavg()[0], 2) };
const doc = { date: new Date().toISOString(), node: process.version, cores: n, loadAverage, rounds, concurrency, requests, sequential, rows };
writeFileSync(join(REPO_ROOT, 'bench/load.json'), `${JSON.stringify(doc, null, 2)}\n`);
const head = [
  'model',
  'pool',
  'bare prove ms',
  'API ms (sequential p50)',
  'in worker ms',
  'API / bare',
  `proofs/s (${concurrency} clients)`,
  'p50 ms',
  'p95 ms',
];
console.log(
  markdownTable(
    head,
    rows.map((r) => [
      r.model,
      r.layout + (r.default ? ' (default)' : ''),
      r.bareProveMs,
      r.sequentialP50Ms,
      r.workerRunP50Ms,
      r.apiToBareRatio,
      r.throughputPerSecond,
      r.p50Ms,
      r.p95Ms,
    ]),
  ),
);
