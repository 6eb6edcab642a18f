import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isZkError } from '../core/errors.js';
import { mockModel } from '../model/mock.js';
import type { GraphSettings } from '../model/prepare.js';
import { loadOnnx } from '../onnx/load.js';
import type { OnnxGraph } from '../onnx/graph.js';
import { OPS } from '../quantize/ops/index.js';
import { unsupportedNodes } from '../quantize/trace.js';

/**
 * ONNX's operator suite (`onnx-node/`) in mock mode: each case's plan, with every gadget constraint
 * checked on its witness, against the case's `output_data` (the ONNX reference implementation).
 *
 * - `pass`: within the tolerance the compiler states, and the witness satisfies every constraint;
 * - `refused`: the compiler refuses the model with a named reason (code, node, op);
 * - `inaccurate`: the plan's output is beyond the stated tolerance; `compile` measures the same on
 *   this input (its calibration) and fails with INACCURATE, so no proof of it is made;
 * - `wrong`: the witness breaks a constraint, or the output is beyond the tolerance while the
 *   compile's own measurement passed: a proof of a wrong number. The goal is none;
 * - `error`: anything else thrown (a bug of ours).
 * A case refused because a parameter input (axes, shape, pads…) is not a constant is tried again
 * with its parameter inputs fixed (`--fix`); `fixed` then lists them.
 */
export interface SuiteCase {
  name: string;
  ops: string[];
  status: 'pass' | 'refused' | 'inaccurate' | 'wrong' | 'error';
  fixed?: string[];
  code?: string;
  node?: string;
  reason?: string;
  maxAbsError?: number;
  tolerance?: number;
  constraints?: number;
  ms: number;
}

/** What a case's output is compared with: its `output_data` (ONNX's reference implementation) or onnxruntime. */
export type SuiteReference = 'output_data' | 'onnxruntime';

interface CaseDoc {
  input_data: number[][];
  input_shapes?: number[][];
  output_data?: number[][];
  ops?: string[];
}

/** Runs the named cases (all by default) of the suite at `dir`, one after another. */
export async function runSuite(
  dir: string,
  opts: { only?: readonly string[]; reference?: SuiteReference; log?: (c: SuiteCase) => void } = {},
): Promise<SuiteCase[]> {
  const names = readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'network.onnx')))
    .sort();
  const chosen = opts.only ? names.filter((n) => opts.only!.includes(n)) : names;
  const results: SuiteCase[] = [];
  for (const name of chosen) {
    const result = await runCase(join(dir, name), name, opts.reference);
    opts.log?.(result);
    results.push(result);
  }
  return results;
}

/** One case: refused at once for unknown ops, else mocked; then again with parameter inputs fixed. */
export async function runCase(path: string, name: string, reference: SuiteReference = 'output_data'): Promise<SuiteCase> {
  const started = Date.now();
  const done = (r: Omit<SuiteCase, 'name' | 'ms'>): SuiteCase => ({ name, ...r, ms: Date.now() - started });
  let ops: string[] = [];
  try {
    const onnx = readFileSync(join(path, 'network.onnx'));
    const doc = JSON.parse(readFileSync(join(path, 'input.json'), 'utf8')) as CaseDoc;
    // The case's own list, for a model that does not even load (an op outside ai.onnx, a dtype).
    ops = doc.ops ?? [];
    const graph = loadOnnx(onnx);
    ops = [...new Set(graph.nodes.map((n) => n.opType))];
    const missing = unsupportedNodes(graph);
    if (missing.length)
      return done({
        ops,
        status: 'refused',
        code: 'ONNX_UNSUPPORTED',
        node: missing[0].node,
        reason: `unsupported: ${missing.map((m) => `${m.node} (${m.op})`).join(', ')}`,
      });
    const attempts = parameterFixes(graph, doc);
    let last: unknown;
    for (const fixed of attempts) {
      try {
        return done({ ops, ...(await mockCase(onnx, graph, doc, fixed, reference)), ...(fixed.length ? { fixed } : {}) });
      } catch (e) {
        last = e;
        // Only a parameter that must be a constant is worth another try with inputs fixed.
        if (!(isZkError(e) && /must be (a )?constant|must be known|not a constant/i.test(e.message))) break;
      }
    }
    throw last;
  } catch (e) {
    if (!isZkError(e)) return done({ ops, status: 'error', reason: e instanceof Error ? e.message : String(e) });
    const node = typeof e.details?.node === 'string' ? e.details.node : undefined;
    return done({ ops, status: 'refused', code: e.code, ...(node ? { node } : {}), reason: e.message });
  }
}

/**
 * No inputs fixed; then the non-float inputs after the first (the data input: parameters follow
 * it); then every input after the first; only then every non-float input, the data included.
 */
function parameterFixes(graph: OnnxGraph, doc: CaseDoc): string[][] {
  const names = graph.inputs.map((i) => i.name);
  const nonFloat = graph.inputs.filter((i) => i.dtype !== 'float').map((i) => i.name);
  const attempts = [[], nonFloat.filter((n) => n !== names[0]), names.slice(1), nonFloat].filter(
    (a, i, all) => (i === 0 || a.length > 0) && all.findIndex((b) => b.join() === a.join()) === i,
  );
  return doc.input_data.length === names.length ? attempts : [[]];
}

async function mockCase(
  onnx: Uint8Array,
  graph: OnnxGraph,
  doc: CaseDoc,
  fixed: string[],
  reference: SuiteReference,
): Promise<Omit<SuiteCase, 'name' | 'ms' | 'ops'>> {
  const settings: GraphSettings = { fix: {}, dims: {} };
  const sample: number[][] = [];
  graph.inputs.forEach((inp, i) => {
    if (fixed.includes(inp.name)) settings.fix![inp.name] = doc.input_data[i];
    else sample.push(doc.input_data[i]);
    // Symbolic dims take the case's shapes.
    const shape = doc.input_shapes?.[i];
    if (shape?.length === inp.dims.length) inp.dimParams?.forEach((p, d) => p && (settings.dims![p] = shape[d]));
  });
  // output_data is the reference when it holds every output (some corpora's files lost some).
  const expected = reference === 'output_data' && doc.output_data?.length === graph.outputs.length ? { expected: doc.output_data } : {};
  const r = await mockModel(onnx, sample, { settings, acceptError: true, ...expected });
  const measured = { maxAbsError: r.maxAbsError, tolerance: r.tolerance, constraints: r.constraints };
  if (r.violations.length) {
    const v = r.violations[0];
    return {
      status: 'wrong',
      ...measured,
      node: v.node,
      reason: `${r.violations.length} constraint(s) broken, first: layer ${v.layer} (${v.op} node ${v.node}) element ${v.element}: ${v.what}`,
    };
  }
  if (!r.withinTolerance) {
    const d = r.calibration.divergence;
    return {
      status: r.calibration.withinTolerance ? 'wrong' : 'inaccurate',
      ...measured,
      ...(d ? { node: d.node } : {}),
      reason: `error ${r.maxAbsError.toPrecision(3)} above tolerance ${r.tolerance.toPrecision(3)}${d ? `; first diverging node ${d.node} (${d.op})` : ''}`,
    };
  }
  return { status: 'pass', ...measured };
}

/**
 * Per op type that zkinfer compiles: how many cases use it and how they ended (a case counts once
 * for each op it uses); then the op types it does not compile, whose cases are all refused at load
 * with the node named; then the totals over cases.
 */
export function suiteTable(results: readonly SuiteCase[]): string {
  const byOp = new Map<string, Record<SuiteCase['status'] | 'fixed', number>>();
  for (const r of results) {
    for (const op of r.ops.length ? r.ops : ['(no node)']) {
      const row = byOp.get(op) ?? { pass: 0, fixed: 0, refused: 0, inaccurate: 0, wrong: 0, error: 0 };
      row[r.status]++;
      if (r.status === 'pass' && r.fixed) row.fixed++;
      byOp.set(op, row);
    }
  }
  const total = (s: SuiteCase['status']) => results.filter((r) => r.status === s).length;
  const cases = (row: Record<string, number>) => row.pass + row.refused + row.inaccurate + row.wrong + row.error;
  const sorted = [...byOp].sort(([a], [b]) => a.localeCompare(b));
  const lines = ['| op | cases | pass | of which with --fix | refused | refused as inaccurate | wrong | error |', '|---|---|---|---|---|---|---|---|'];
  for (const [op, row] of sorted.filter(([op]) => OPS[op])) {
    lines.push(`| ${op} | ${cases(row)} | ${row.pass} | ${row.fixed} | ${row.refused} | ${row.inaccurate} | ${row.wrong} | ${row.error} |`);
  }
  lines.push(
    `| **all cases** | ${results.length} | ${total('pass')} | ${results.filter((r) => r.status === 'pass' && r.fixed).length} | ${total('refused')} | ${total('inaccurate')} | ${total('wrong')} | ${total('error')} |`,
  );
  const unsupported = sorted.filter(([op]) => !OPS[op]);
  if (unsupported.length) {
    lines.push(
      '',
      `Op types not compiled (${unsupported.length}; their cases are refused, every such node named): ${unsupported.map(([op, row]) => `${op} (${cases(row)})`).join(', ')}.`,
    );
  }
  return lines.join('\n');
}
