/**
 * `npm run bench` (after bench.ts): each proof system on each benchmark model — setup s, warm prove
 * ms, off-chain verify ms, proof bytes on chain, and the verifier's gas on @ethereumjs/evm.
 * Writes bench/systems.json and prints the table.
 *
 * PLONK and FFLONK pay for every linear constraint term that Groth16 gets for free, so their ptau
 * grows fast (MNIST's dense layer: 200k PLONK gates, power 18; FFLONK 21). Rows needing a ptau
 * above BENCH_MAX_POWER (13: a one-time 2-3 minute generation, cached in $ZKINFER_DATA_DIR/ptau)
 * are listed with the power they need and not run. BENCH_RUNS proofs per row (default 5).
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { solidityCalldata } from '../src/chain/calldata.js';
import { exportSolidityVerifier } from '../src/chain/verifier.js';
import { PROOF_SYSTEMS, type ProofSystem, releaseCurve } from '../src/core/snarkjs.js';
import { PROOF_SYSTEM } from '../src/systems/index.js';
import { parseInputs } from '../src/io/input.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import { loadOnnx } from '../src/onnx/load.js';
import { ModelProver } from '../src/prove/prover.js';
import { circuitPower, countPlonkGates, ensureDevPtau, loadVerificationKey } from '../src/setup/index.js';
import { Chain, compileSolidity, MAX_CODE_BYTES, MAX_INITCODE_BYTES } from '../test/support/evm.js';
import { REPO_ROOT } from '../test/support/env.js';
import { markdownTable } from './table.js';
import { mnistMlp } from './example-models.js';

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const workDir = join(dataDir, 'bench-systems');
const corpus = resolve(REPO_ROOT, '..', 'shared', 'conformance', 'ezkl');
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const maxPower = Number(process.env.BENCH_MAX_POWER ?? 13);

const json = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
const models = [
  { name: 'mnist_mlp', onnx: mnistMlp(), input: json(join(REPO_ROOT, 'examples/mnist_mlp/input.json')) },
  { name: 'tiny_mlp', onnx: readFileSync(join(REPO_ROOT, 'examples/tiny_mlp/network.onnx')), input: json(join(REPO_ROOT, 'examples/tiny_mlp/input.json')) },
  { name: '1l_mlp', onnx: readFileSync(join(corpus, '1l_mlp/network.onnx')), input: json(join(corpus, '1l_mlp/input.json')) },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 1): number => +x.toFixed(digits);

interface Row {
  model: string;
  constraints: number;
  plonkGates: number;
  system: ProofSystem;
  ptauPower: number;
  skipped?: string;
  setupS?: number;
  proveMs?: number;
  verifyMs?: number;
  proofBytes?: number;
  verifyGas?: number;
  verifyTxGas?: number;
  deployTxGas?: number;
  /** Verifier code size, and whether mainnet's limits (EIP-170, EIP-3860) allow deploying it. */
  verifierBytes?: number;
  deployable?: boolean;
}

// Compile each model once and size it for every system, so the largest ptau is made first and the
// smaller ones are cut from it in a second.
const compiled = [];
for (const m of models) {
  const dir = join(workDir, m.name);
  rmSync(dir, { recursive: true, force: true });
  const values = parseInputs(m.input, loadOnnx(m.onnx).inputs);
  const info = await compileModel(m.onnx, dir, { samples: [values], name: m.name });
  const r1cs = modelFiles(dir).r1cs;
  const powers = Object.fromEntries(await Promise.all(PROOF_SYSTEMS.map(async (s) => [s, await circuitPower(r1cs, s)]))) as Record<ProofSystem, number>;
  compiled.push({ ...m, dir, values, info, powers, plonkGates: await countPlonkGates(r1cs) });
}
const needed = compiled.flatMap((c) => Object.values(c.powers)).filter((p) => p <= maxPower);
for (const p of [...new Set(needed)].sort((a, b) => b - a)) await ensureDevPtau(dataDir, p, (msg) => console.error(msg.split('\n')[1] ?? msg));

// Verifiers too large for mainnet are still measured, and flagged.
const chain = await Chain.create({ unlimitedCodeSize: true });
const rows: Row[] = [];
for (const c of compiled) {
  for (const system of PROOF_SYSTEMS) {
    const row: Row = { model: c.name, constraints: c.info.constraints.r1cs, plonkGates: c.plonkGates, system, ptauPower: c.powers[system] };
    rows.push(row);
    if (c.powers[system] > maxPower) {
      row.skipped = `needs ptau power ${c.powers[system]} (BENCH_MAX_POWER=${maxPower})`;
      console.error(JSON.stringify(row));
      continue;
    }
    const dir = `${c.dir}-${system}`;
    rmSync(dir, { recursive: true, force: true });
    cpSync(c.dir, dir, { recursive: true });
    const t0 = performance.now();
    await setupModel(dir, { dataDir, system, log: () => {} });
    row.setupS = round((performance.now() - t0) / 1000, 2);
    const prover = await ModelProver.load(dir);
    const vkey = await loadVerificationKey(dir);
    let bundle = await prover.prove(c.values); // warm-up: the curve's worker threads start here
    const prove: number[] = [];
    const verify: number[] = [];
    for (let i = 0; i < runs; i++) {
      bundle = await prover.prove(c.values);
      prove.push(bundle.timings.proveMs);
      const t = performance.now();
      if (!(await PROOF_SYSTEM[system].verify(vkey, bundle.publicSignals, bundle.proof))) throw new Error(`${c.name} ${system}: proof did not verify`);
      verify.push(performance.now() - t);
    }
    row.proveMs = round(median(prove));
    row.verifyMs = round(median(verify));
    row.proofBytes = PROOF_SYSTEM[system].solidity.proofWords * 32;
    const exported = await exportSolidityVerifier(dir);
    const verifier = await chain.deploy(compileSolidity({ 'Verifier.sol': exported.source })[exported.contractName].bytecode);
    const result = await chain.call(verifier.address, (await solidityCalldata(bundle)).encoded);
    if (!result.ok || BigInt(result.returnValue) !== 1n) throw new Error(`${c.name} ${system}: the on-chain verifier refused the proof (${result.error})`);
    row.verifyGas = result.executionGas;
    row.verifyTxGas = result.txGas;
    row.deployTxGas = verifier.gas.txGas;
    row.verifierBytes = verifier.codeBytes;
    row.deployable = verifier.codeBytes <= MAX_CODE_BYTES && verifier.initCodeBytes <= MAX_INITCODE_BYTES;
    console.error(JSON.stringify(row));
  }
}

mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
writeFileSync(
  join(REPO_ROOT, 'bench/systems.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs, maxPower, rows }, null, 2)}\n`,
);
const head = [
  'model',
  'r1cs constraints',
  'PLONK gates',
  'system',
  'ptau power',
  'setup s',
  'prove ms (warm)',
  'verify ms',
  'proof bytes',
  'verify gas',
  'verify tx gas',
  'verifier deploy gas',
  'verifier bytes',
];
const cells = (r: Row) =>
  r.skipped
    ? [r.model, r.constraints, r.plonkGates, r.system, r.ptauPower, `not run: ${r.skipped}`, '', '', '', '', '', '', '']
    : [
        r.model,
        r.constraints,
        r.plonkGates,
        r.system,
        r.ptauPower,
        r.setupS,
        r.proveMs,
        r.verifyMs,
        r.proofBytes,
        r.verifyGas,
        r.verifyTxGas,
        r.deployTxGas,
        `${r.verifierBytes}${r.deployable ? '' : ' (over the EIP-170 limit)'}`,
      ];
console.log(markdownTable(head, rows.map(cells)));
await releaseCurve();
