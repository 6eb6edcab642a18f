/**
 * `npm run bench` (after bench-systems.ts): what each visibility costs. For the MNIST-size MLP
 * (784-128-10) and a smaller one (48-16-10), each mode's constraints (broken down into the model,
 * the range checks of private values, the private-weight products and the Poseidon hashes), its
 * warm Groth16 prove ms and public signals, and the size of its Solidity verifier against EIP-170.
 *
 * Rows whose circuit needs a ptau above BENCH_MAX_POWER (14 by default: a cached development ptau)
 * are counted from the emitted circuit without compiling or proving (the count is exact: it equals
 * circom's on every row that is compiled; see the `r1cs` column). Writes bench/privacy.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportSolidityVerifier } from '../src/chain/verifier.js';
import { emitCircom } from '../src/circuit/emit.js';
import { publicSignalCount } from '../src/commit/public.js';
import { formatVisibility, parseVisibility } from '../src/commit/visibility.js';
import { releaseCurve } from '../src/core/snarkjs.js';
import { parseInputs, quantizeInputs } from '../src/io/input.js';
import { compileModel } from '../src/model/compile.js';
import { setupModel } from '../src/model/setup.js';
import { loadOnnx } from '../src/onnx/load.js';
import { ModelProver } from '../src/prove/prover.js';
import { calibrate } from '../src/quantize/calibrate.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { requiredPower } from '../src/setup/index.js';
import { compileSolidity, MAX_CODE_BYTES } from '../test/support/evm.js';
import { REPO_ROOT } from '../test/support/env.js';
import { markdownTable } from './table.js';
import { EXAMPLES, mlp } from './example-models.js';

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const workDir = join(dataDir, 'bench-privacy');
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const maxPower = Number(process.env.BENCH_MAX_POWER ?? 14);
const SCALE = 8;

const mnist = EXAMPLES.find((e) => e.name === 'mnist_mlp')!;
const models = [
  { name: 'mnist_mlp 784-128-10', onnx: mnist.model(1), samples: [1, 2, 3, 4].map((s) => mnist.inputData(s)) },
  { name: 'mlp 48-16-10', onnx: mlp([48, 16, 10], 1), samples: [1, 2, 3, 4].map((s) => [Array.from({ length: 48 }, (_, i) => ((i * 7 + s * 13) % 17) / 17)]) },
];
const MODES = [
  'input=public,weights=fixed',
  'input=private',
  'input=hashed',
  'input=hashed,output=hashed',
  'weights=private',
  'weights=hashed',
  'input=hashed,weights=hashed',
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The emitted circuit's constraints by kind, without running circom. */
function plannedCost(onnx: Uint8Array, samples: number[][][], visibility: string) {
  const graph = loadOnnx(onnx);
  const ints = samples.map((s) =>
    quantizeInputs(
      s,
      graph.inputs.map(() => SCALE),
      graph.inputs.map((i) => i.name),
    ),
  );
  const plan = calibrate(quantizeGraph(graph, { scale: SCALE, visibility: parseVisibility(visibility) }), ints, 2);
  const { layers, publicLayout } = emitCircom(plan, 'bench');
  const sum = (f: (l: (typeof layers)[number]) => boolean) => layers.filter(f).reduce((s, l) => s + l.constraints, 0);
  const publicSignals = publicSignalCount(publicLayout);
  return {
    constraints: sum(() => true),
    rangeChecks: sum((l) => l.op === 'range check'),
    hashes: sum((l) => l.op === 'commitment'),
    weightProducts: plan.weights.length ? sum((l) => l.gadget === 'Product') : 0,
    publicSignals,
  };
}

const rows = [];
for (const m of models) {
  for (const mode of MODES) {
    const planned = plannedCost(m.onnx, m.samples, mode);
    const power = requiredPower(planned.constraints, planned.publicSignals);
    const row: Record<string, unknown> = { model: m.name, visibility: formatVisibility(parseVisibility(mode)), ...planned, ptauPower: power };
    if (power > maxPower) {
      row.skipped = `needs ptau power ${power} > BENCH_MAX_POWER ${maxPower}`;
    } else {
      const dir = join(workDir, `${m.name.split(' ')[0]}-${mode.replace(/[=,]/g, '_')}`);
      rmSync(dir, { recursive: true, force: true });
      const info = await compileModel(m.onnx, dir, { samples: m.samples, scale: SCALE, visibility: parseVisibility(mode), name: m.name.split(' ')[0] });
      await setupModel(dir, { dataDir, log: () => {} });
      const prover = await ModelProver.load(dir);
      const values = parseInputs({ input_data: m.samples[0] }, info.inputs);
      await prover.prove(values); // warm-up
      const proveMs: number[] = [];
      for (let i = 0; i < runs; i++) proveMs.push((await prover.prove(values)).timings.proveMs);
      const verifier = await exportSolidityVerifier(dir);
      const bytecode = compileSolidity({ 'Verifier.sol': verifier.source })[verifier.contractName].deployedBytecode;
      const verifierBytes = (bytecode.length - 2) / 2;
      Object.assign(row, { r1cs: info.constraints.r1cs, proveMs: +median(proveMs).toFixed(1), verifierBytes, fitsEip170: verifierBytes <= MAX_CODE_BYTES });
    }
    console.error(JSON.stringify(row));
    rows.push(row);
  }
}
await releaseCurve();

mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench/privacy.json'), `${JSON.stringify({ date: new Date().toISOString(), runs, maxPower, rows }, null, 2)}\n`);
const head = ['model', 'visibility', 'constraints', 'range checks', 'weight products', 'Poseidon', 'public signals', 'ptau', 'prove ms', 'verifier bytes'];
const cell = (r: Record<string, unknown>) => [
  r.model,
  r.visibility,
  r.constraints,
  r.rangeChecks,
  r.weightProducts,
  r.hashes,
  r.publicSignals,
  r.ptauPower,
  r.skipped ? 'not run' : r.proveMs,
  r.skipped ? '' : `${r.verifierBytes}${r.fitsEip170 ? '' : ' (> EIP-170)'}`,
];
console.log(markdownTable(head, rows.map(cell)));
