/**
 * Development ptau generation, ours (src/setup/dev-ptau.ts) against snarkjs' new + contribute +
 * prepare phase2 at the same small power (the ratio is what to compare on a shared machine), then
 * ours alone at the powers real models need. Writes bench/ptau.json and bench/ptau.md.
 *   BENCH_PTAU_COMPARE (default 10): the power both paths generate.
 *   BENCH_PTAU_POWERS (default "16"): further powers for ours alone, comma-separated.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseCurve, snarkjs } from '../src/core/snarkjs.js';
import { writeDevPtau } from '../src/setup/dev-ptau.js';
import { REPO_ROOT } from '../test/support/env.js';

const compare = Number(process.env.BENCH_PTAU_COMPARE ?? 10);
const powers = (process.env.BENCH_PTAU_POWERS ?? '16').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'zkinfer-bench-ptau-'));

/** Wall seconds, and CPU seconds of all this process's threads (on a shared machine the steadier figure). */
async function seconds(work: () => Promise<unknown>): Promise<[number, number]> {
  const [t, cpu] = [performance.now(), process.cpuUsage()];
  await work();
  const used = process.cpuUsage(cpu);
  return [+((performance.now() - t) / 1000).toFixed(2), +((used.user + used.system) / 1e6).toFixed(2)];
}

async function snarkjsPath(power: number, file: string): Promise<void> {
  const [fresh, contributed] = [join(dir, 'new.ptau'), join(dir, 'contributed.ptau')];
  await snarkjs.powersOfTau.newAccumulator(await snarkjs.curves.getCurveFromName('bn128'), power, fresh);
  await snarkjs.powersOfTau.contribute(fresh, contributed, 'bench', randomBytes(32).toString('hex'));
  await snarkjs.powersOfTau.preparePhase2(contributed, file);
}

const rows: { power: number; path: string; seconds: number; cpuSeconds: number; mb: number }[] = [];
const measure = async (power: number, path: 'snarkjs' | 'zkinfer') => {
  const file = join(dir, `${path}-${power}.ptau`);
  const [s, cpu] = await seconds(() => (path === 'snarkjs' ? snarkjsPath(power, file) : writeDevPtau(file, power)));
  rows.push({ power, path, seconds: s, cpuSeconds: cpu, mb: +(statSync(file).size / 2 ** 20).toFixed(1) });
  rmSync(file);
  console.error(JSON.stringify(rows.at(-1)));
};
try {
  await measure(compare, 'snarkjs');
  await measure(compare, 'zkinfer');
  for (const p of powers) await measure(p, 'zkinfer');
} finally {
  rmSync(dir, { recursive: true, force: true });
  await releaseCurve();
}

const ratio = +(rows[0].seconds / rows[1].seconds).toFixed(1);
mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
writeFileSync(
  join(REPO_ROOT, 'bench/ptau.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ratioAtCompare: ratio, rows }, null, 2)}\n`,
);
const table = [
  '| dev ptau | power | seconds | CPU seconds (all threads) | file MB |',
  '|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.path === 'snarkjs' ? 'snarkjs new + contribute + prepare phase2' : 'zkinfer (from the secrets)'} | ${r.power} | ${r.seconds} | ${r.cpuSeconds} | ${r.mb} |`,
  ),
  '',
  `At power ${compare}, zkinfer's generator is ${ratio}× faster than snarkjs' path in the same run.`,
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench/ptau.md'), `${table}\n`);
console.log(table);
