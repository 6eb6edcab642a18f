/**
 * `npm run bench`: compile → setup → warm prove → verify for the benchmark models, written to
 * bench/results.json and bench/results.md. Development ptau files are cached under ZKINFER_DATA_DIR
 * (./data by default) so a second run skips the slow phase-2 preparation.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { releaseCurve, toField } from '../src/core/snarkjs.js';
import { PROOF_SYSTEM } from '../src/systems/index.js';
import { parseInputs } from '../src/io/input.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles, readModelInfo } from '../src/model/layout.js';
import type { ProofBundle } from '../src/prove/bundle.js';
import { setupModel } from '../src/model/setup.js';
import { loadOnnx } from '../src/onnx/load.js';
import { ModelProver } from '../src/prove/prover.js';
import { loadVerificationKey } from '../src/setup/index.js';
import { lenet5, mnistMlp } from './example-models.js';
import { REPO_ROOT } from '../test/support/env.js';
import { markdownTable } from './table.js';

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const workDir = join(dataDir, 'bench');
const corpus = resolve(REPO_ROOT, '..', 'shared', 'conformance', 'ezkl');
const runs = Number(process.env.BENCH_RUNS ?? 5);

/**
 * `fresh`: set up from an empty data directory, so setup includes generating the development ptau;
 * `maxPower`: the largest development ptau it may generate (the CLI's --max-power).
 */
interface BenchModel {
  name: string;
  onnx: Uint8Array;
  input: unknown;
  fresh?: boolean;
  maxPower?: number;
}

const example = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, `examples/${name}/input.json`), 'utf8'));
const allModels: BenchModel[] = [
  { name: 'mnist_mlp', onnx: mnistMlp(), input: example('mnist_mlp') },
  // The "real model" row: a user's first proof of a LeNet-5, from nothing (issue 17). It needs a
  // power-18 ptau, above the default cap of 16 (ZKINFER_MAX_PTAU_POWER, --max-power).
  { name: 'lenet5', onnx: lenet5(), input: example('lenet5'), fresh: true, maxPower: 18 },
  ...['1l_mlp', '1l_conv'].map((name) => ({
    name,
    onnx: readFileSync(join(corpus, name, 'network.onnx')),
    input: JSON.parse(readFileSync(join(corpus, name, 'input.json'), 'utf8')),
  })),
];
/** BENCH_MODELS=lenet5,mnist_mlp runs those rows only; BENCH_LENET=0 leaves LeNet-5 out (about 10 minutes on 2 cores). */
const only = process.env.BENCH_MODELS?.split(',').map((n) => n.trim());
const models = allModels.filter((m) => (only ? only.includes(m.name) : m.name !== 'lenet5' || process.env.BENCH_LENET !== '0'));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
};

/**
 * The peak resident memory of child processes (circom2, then wat2wasm), from /proc/PID/status's
 * VmHWM (the process's own high-water mark), sampled until each exits: Node reports its own peak only.
 */
class ChildPeak {
  peakMb = 0;
  watch(pid: number): void {
    const timer = setInterval(() => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        this.peakMb = Math.max(this.peakMb, Math.round(kb / 1024));
      } catch {
        clearInterval(timer);
      }
    }, 200);
  }
}

const results = [];
for (const m of models) {
  const dir = join(workDir, m.name);
  rmSync(dir, { recursive: true, force: true });
  const values = parseInputs(m.input, loadOnnx(m.onnx).inputs);
  const children = new ChildPeak();
  const [info, compileS] = await seconds(() => compileModel(m.onnx, dir, { samples: [values], name: m.name, onProcess: (pid) => children.watch(pid) }));
  const modelDataDir = m.fresh ? join(dir, 'fresh-data') : dataDir;
  let keysStart = 0;
  const onKeys = (stage: string) => stage === 'keys' && !keysStart && (keysStart = performance.now());
  const [setup, setupS] = await seconds(() =>
    setupModel(dir, { dataDir: modelDataDir, maxPower: m.maxPower, log: () => {}, progress: (p) => onKeys(p.stage) }),
  );
  const keysS = keysStart ? (performance.now() - keysStart) / 1000 : setupS;
  const prover = await ModelProver.load(dir);
  const [, firstProveS] = await seconds(() => prover.prove(values)); // also warms up: the curve's worker threads start here
  const witnessMs: number[] = [];
  const proveMs: number[] = [];
  const verifyMs: number[] = [];
  const vkey = await loadVerificationKey(dir);
  for (let i = 0; i < runs; i++) {
    const bundle = await prover.prove(values);
    witnessMs.push(bundle.timings.witnessMs);
    proveMs.push(bundle.timings.proveMs);
    const [ok, s] = await seconds(() => PROOF_SYSTEM.groth16.verify(vkey, bundle.publicSignals, bundle.proof));
    if (!ok) throw new Error(`${m.name}: proof did not verify`);
    verifyMs.push(s * 1000);
  }
  const row = {
    model: m.name,
    constraints: info.constraints.r1cs,
    compileS: +compileS.toFixed(2),
    circomS: +info.compileSeconds.toFixed(2),
    setupS: +setupS.toFixed(2),
    // Setup without generating the ptau (keys only): what a second model of the same power pays.
    keysS: +Math.min(keysS, setupS).toFixed(2),
    ptauPower: setup.setup!.ptauPower,
    // compile → keys → first proof, from an empty data directory for `fresh` models.
    firstProofS: +(compileS + setupS + firstProveS).toFixed(1),
    witnessMs: +median(witnessMs).toFixed(1),
    proveMs: +median(proveMs).toFixed(1),
    verifyMs: +median(verifyMs).toFixed(1),
    snarkjsCliProveMs: cliProveMs(dir, await prover.prove(values)),
    // This process (setup and proving run in it) or a compiler child (circom2, wat2wasm), whichever peaked higher.
    peakRssMb: Math.max(Math.round(process.resourceUsage().maxRSS / 1024), children.peakMb),
    zkeyMb: +(statSync(modelFiles(dir).zkey).size / 1e6).toFixed(2),
    maxAbsError: info.accuracy.maxAbsError,
  };
  console.error(JSON.stringify(row));
  results.push(row);
}

/** The same proof through snarkjs' own CLI, as a user without zkinfer would run it (a whole process). */
function cliProveMs(dir: string, bundle: ProofBundle): number {
  const files = modelFiles(dir);
  const info = readModelInfo(dir);
  // snarkjs' exports map hides cli.js; it sits beside build/ in the package.
  const cli = resolve(dirname(createRequire(import.meta.url).resolve('snarkjs')), '..', 'cli.js');
  const input = join(dir, 'bench-input.json');
  const wtns = join(dir, 'bench.wtns');
  writeFileSync(
    input,
    JSON.stringify(Object.fromEntries(info.inputs.map((t, i) => [t.signal, bundle.inputs[i].integers.map((v) => toField(BigInt(v)).toString())]))),
  );
  execFileSync(process.execPath, [cli, 'wtns', 'calculate', files.wasm, input, wtns]);
  const t = performance.now();
  execFileSync(process.execPath, [cli, 'groth16', 'prove', files.zkey, wtns, join(dir, 'bench-proof.json'), join(dir, 'bench-public.json')]);
  return Math.round(performance.now() - t);
}

mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
const doc = { date: new Date().toISOString(), node: process.version, runs, results };
writeFileSync(join(REPO_ROOT, 'bench/results.json'), `${JSON.stringify(doc, null, 2)}\n`);
const head = [
  'model',
  'constraints',
  'ptau power',
  'compile s',
  'setup s',
  'keys s (ptau cached)',
  'first proof s',
  'witness ms',
  'prove ms (warm)',
  'verify ms',
  'snarkjs CLI prove ms',
  'zkey MB',
  'peak RSS MB',
  'max abs error',
];
const table = markdownTable(
  head,
  results.map((r) => [
    r.model,
    r.constraints,
    r.ptauPower,
    r.compileS,
    r.setupS,
    r.keysS,
    r.firstProofS,
    r.witnessMs,
    r.proveMs,
    r.verifyMs,
    r.snarkjsCliProveMs,
    r.zkeyMb,
    r.peakRssMb,
    r.maxAbsError.toExponential(2),
  ]),
);
writeFileSync(join(REPO_ROOT, 'bench/results.md'), `${table}\n`);
console.log(table);
await releaseCurve();
