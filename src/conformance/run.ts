import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isZkError } from '../core/errors.js';
import { type InputSpec, parseInputs } from '../io/input.js';
import { compileModel } from '../model/compile.js';
import { modelFiles } from '../model/layout.js';
import { setupModel } from '../model/setup.js';
import { readModelFile } from '../onnx/external.js';
import { loadOnnx } from '../onnx/load.js';
import { unsupportedNodes } from '../quantize/trace.js';
import { ModelProver } from '../prove/prover.js';
import { runReference } from '../reference/onnxruntime.js';
import { loadVerificationKey } from '../setup/index.js';
import { circuitPower } from '../setup/r1cs.js';
import { verifyBundle } from '../verify/verify.js';

export interface ConformanceResult {
  model: string;
  ops: string[];
  /** `skipped`: the circuit needs a larger ptau than `maxPower` allows in this run. */
  status: 'pass' | 'fail' | 'skipped';
  /** False when the model uses ops the compiler rejects by design (reported, not a regression). */
  supported: boolean;
  constraints?: number;
  proveMs?: number;
  maxAbsError?: number;
  tolerance?: number;
  reason?: string;
}

export interface ConformanceOptions {
  corpus: string;
  tier?: string;
  only?: string[];
  workDir: string;
  dataDir: string;
  /** Skip (not fail) models whose circuit needs a ptau above this power: CI's budget for new ptau files. */
  maxPower?: number;
  log?: (m: string) => void;
}

/** Which models to run: a tier of the corpus's tiers.json (beside or above it), a list, or all. */
function selectModels(opts: ConformanceOptions): string[] {
  const all = readdirSync(opts.corpus)
    .filter((n) => existsSync(join(opts.corpus, n, 'network.onnx')))
    .sort();
  let chosen = all;
  if (opts.tier) {
    const tiersFile = [join(opts.corpus, 'tiers.json'), join(opts.corpus, '..', 'tiers.json')].find(existsSync);
    if (!tiersFile) throw new Error(`no tiers.json beside ${opts.corpus}`);
    const tiers = JSON.parse(readFileSync(tiersFile, 'utf8')) as Record<string, string[]>;
    chosen = (tiers[opts.tier] ?? []).filter((n) => all.includes(n));
  }
  return opts.only ? chosen.filter((n) => opts.only!.includes(n)) : chosen;
}

/**
 * compile → setup → prove → verify for each model, and the proven output against onnxruntime's
 * float output on the same input. A model passes when the proof verifies and every output is within
 * the tolerance its quantization states.
 */
export async function runConformance(opts: ConformanceOptions): Promise<{ results: ConformanceResult[]; table: string }> {
  const results: ConformanceResult[] = [];
  for (const name of selectModels(opts)) {
    opts.log?.(`conformance: ${name}`);
    results.push(await runOne(name, opts));
  }
  return { results, table: formatTable(results) };
}

async function runOne(name: string, opts: ConformanceOptions): Promise<ConformanceResult> {
  const onnx = readModelFile(join(opts.corpus, name, 'network.onnx'));
  const dir = join(opts.workDir, name);
  let ops: string[] = [];
  try {
    const graph = loadOnnx(onnx);
    ops = [...new Set(graph.nodes.map((n) => n.opType))];
    const missing = unsupportedNodes(graph);
    if (missing.length) {
      return { model: name, ops, status: 'fail', supported: false, reason: `unsupported: ${missing.map((m) => `${m.node} (${m.op})`).join(', ')}` };
    }
    const input = corpusInputs(JSON.parse(readFileSync(join(opts.corpus, name, 'input.json'), 'utf8')), graph.inputs);
    rmSync(dir, { recursive: true, force: true });
    // With a power cap, a plan too large for it is skipped before circom runs (minutes for a million constraints).
    const info = await compileModel(onnx, dir, { samples: [input], name, ...(opts.maxPower !== undefined ? { limits: { ptauPower: opts.maxPower } } : {}) });
    const power = await circuitPower(modelFiles(dir).r1cs);
    if (opts.maxPower !== undefined && power > opts.maxPower) {
      return {
        model: name,
        ops,
        status: 'skipped',
        supported: true,
        constraints: info.constraints.r1cs,
        reason: `needs a ptau of power ${power}, this run allows ${opts.maxPower}`,
      };
    }
    await setupModel(dir, { dataDir: opts.dataDir, log: () => {}, ...(opts.maxPower !== undefined ? { maxPower: opts.maxPower } : {}) });
    const prover = await ModelProver.load(dir);
    const bundle = await prover.prove(input);
    const verdict = await verifyBundle(prover.info, await loadVerificationKey(dir), bundle);
    const reference = await runReference(onnx, graph.inputs, input);
    const maxAbsError = Math.max(0, ...bundle.outputs.flatMap((o, i) => o.values.map((v, k) => Math.abs(v - reference[i][k]))));
    const tolerance = info.accuracy.tolerance;
    const ok = verdict.valid && maxAbsError <= tolerance;
    return {
      model: name,
      ops,
      status: ok ? 'pass' : 'fail',
      supported: true,
      constraints: info.constraints.r1cs,
      proveMs: Math.round(bundle.timings.proveMs),
      maxAbsError,
      tolerance,
      reason: !verdict.valid ? verdict.reason : ok ? undefined : `error ${maxAbsError.toExponential(2)} above tolerance ${tolerance.toExponential(2)}`,
    };
  } catch (e) {
    if (isZkError(e) && e.code === 'TOO_LARGE' && typeof e.details?.requiredPower === 'number' && opts.maxPower !== undefined) {
      return {
        model: name,
        ops,
        status: 'skipped',
        supported: true,
        reason: `needs a ptau of power ${e.details.requiredPower} (counted from the plan, before circom), this run allows ${opts.maxPower}`,
      };
    }
    const supported = !(isZkError(e) && e.code === 'ONNX_UNSUPPORTED');
    return { model: name, ops, status: 'fail', supported, reason: isZkError(e) ? `${e.code}: ${e.message}` : String(e) };
  }
}

/**
 * A corpus input file. Some models lost unused inputs when exported (bitwise_ops keeps input2 and
 * input3 of four; arange keeps none), while input_data still holds one array per input of the
 * original module: inputs named `input`, `input1`, `input2`… then take the array at their number.
 */
function corpusInputs(doc: unknown, specs: readonly InputSpec[]): number[][] {
  const rows = (doc as { input_data?: unknown } | null)?.input_data;
  const numbered = specs.map((s) => /^input(\d*)$/.exec(s.name)).map((m) => (m ? Number(m[1] || 0) : -1));
  if (Array.isArray(rows) && rows.length > specs.length && numbered.every((k) => k >= 0 && k < rows.length)) {
    return parseInputs({ input_data: numbered.map((k) => rows[k]) }, specs);
  }
  return parseInputs(doc, specs);
}

export function formatTable(results: readonly ConformanceResult[]): string {
  const rows = results.map((r) => [
    r.model,
    r.ops.join(' '),
    r.constraints?.toString() ?? '',
    r.proveMs?.toString() ?? '',
    r.maxAbsError !== undefined ? r.maxAbsError.toExponential(2) : '',
    r.status,
    (r.reason ?? '').replace(/\|/g, '/').slice(0, 140),
  ]);
  const head = ['model', 'ops', 'constraints', 'prove ms', 'max abs error', 'result', 'reason'];
  const count = (status: ConformanceResult['status']) => results.filter((r) => r.status === status).length;
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `conformance: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`,
  ].join('\n');
}
