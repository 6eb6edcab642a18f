/**
 * `npm run bench:ceremony`: what a phase-2 ceremony and the audit cost, per step, against the
 * operator-only setup: init (snarkjs newZKey), one contribution (zkey contribute, on the
 * contributor's machine), accepting it (chain check + zkey verify), the beacon, and `zkinfer audit`
 * (recompile + zkey verify + ptau hash + vkey export); and for comparison a PLONK key's setup and
 * audit (whose key check runs the setup again). Models whose Groth16 key needs a ptau above
 * BENCH_MAX_POWER (12 by default) are skipped, and so is PLONK where its ptau would exceed it.
 * Writes bench/ceremony.json and prints a table.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { auditModel } from '../src/audit/audit.js';
import { releaseCurve } from '../src/core/snarkjs.js';
import { addContribution, finalizeCeremony, initCeremony } from '../src/model/ceremony.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import { contributeZKey } from '../src/setup/ceremony.js';
import { circuitPower } from '../src/setup/index.js';
import { REPO_ROOT } from '../test/support/env.js';
import { markdownTable } from './table.js';
import { EXAMPLES, mlp } from './example-models.js';

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const workDir = join(dataDir, 'bench-ceremony');
const maxPower = Number(process.env.BENCH_MAX_POWER ?? 12);
const opts = { dataDir, log: () => {} };

const mnist = EXAMPLES.find((e) => e.name === 'mnist_mlp')!;
const models = [
  { name: 'mlp 3-3-2', onnx: mlp([3, 3, 2], 1) },
  { name: 'mlp 48-16-10', onnx: mlp([48, 16, 10], 1) },
  { name: 'mnist_mlp 784-128-10', onnx: mnist.model(1) },
];

/** Seconds `work` takes. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return +((performance.now() - started) / 1000).toFixed(2);
}

const rows: Record<string, unknown>[] = [];
rmSync(workDir, { recursive: true, force: true });
for (const m of models) {
  const compiled = join(workDir, m.name.replace(/\W+/g, '-'), 'compiled');
  await compileModel(m.onnx, compiled, { name: m.name.replace(/\W+/g, '-') });
  const power = await circuitPower(modelFiles(compiled).r1cs);
  if (power > maxPower) {
    console.error(`${m.name}: needs ptau power ${power} > BENCH_MAX_POWER ${maxPower}; skipped`);
    continue;
  }
  const operator = join(compiled, '..', 'operator');
  const dir = join(compiled, '..', 'ceremony');
  cpSync(compiled, operator, { recursive: true });
  cpSync(compiled, dir, { recursive: true });
  const setup = await timed(() => setupModel(operator, opts));
  const init = await timed(() => initCeremony(dir, opts));
  const contribution = join(dir, '..', 'alice.zkey');
  const contribute = await timed(() => contributeZKey(modelFiles(dir).zkey, contribution, 'alice'));
  const add = await timed(() => addContribution(dir, contribution, opts));
  const beacon = await timed(() => finalizeCeremony(dir, 'ab'.repeat(32), 10));
  const audit = await timed(async () => {
    const report = await auditModel(dir, opts);
    if (!report.ok) throw new Error(`${m.name}: the audit failed: ${JSON.stringify(report.checks)}`);
  });
  const plonk = (await circuitPower(modelFiles(compiled).r1cs, 'plonk')) <= maxPower ? await plonkCosts(compiled) : undefined;
  rows.push({ model: m.name, ptauPower: power, operatorSetupS: setup, initS: init, contributeS: contribute, addS: add, beaconS: beacon, auditS: audit, plonk });
  console.error(JSON.stringify(rows.at(-1)));
}
await releaseCurve();

/** A PLONK key's setup and its audit, in a copy of `compiled`. */
async function plonkCosts(compiled: string): Promise<{ setupS: number; auditS: number }> {
  const dir = join(compiled, '..', 'plonk');
  cpSync(compiled, dir, { recursive: true });
  const setupS = await timed(() => setupModel(dir, { ...opts, system: 'plonk' }));
  const auditS = await timed(async () => {
    const report = await auditModel(dir, opts);
    if (!report.ok) throw new Error(`${dir}: the audit failed: ${JSON.stringify(report.checks)}`);
  });
  return { setupS, auditS };
}

mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench', 'ceremony.json'), `${JSON.stringify(rows, null, 2)}\n`);
const header = ['model', 'ptau power', 'operator setup s', 'init s', 'contribute s', 'add (verify) s', 'beacon s', 'audit s', 'plonk setup s', 'plonk audit s'];
console.log(
  markdownTable(
    header,
    rows.map((r) => {
      const plonk = r.plonk as { setupS: number; auditS: number } | undefined;
      return [r.model, r.ptauPower, r.operatorSetupS, r.initS, r.contributeS, r.addS, r.beaconS, r.auditS, plonk?.setupS ?? '—', plonk?.auditS ?? '—'];
    }),
  ),
);
