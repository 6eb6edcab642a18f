import { DEFAULT_VISIBILITY, type ModelVisibility } from '../commit/visibility.js';
import { isZkError, ZkError } from '../core/errors.js';
import { boundedSize, type OnnxGraph, sizeOf } from '../onnx/graph.js';
import { poolBeforeActivation } from '../onnx/rewrite.js';
import { isWorkLimit, withWorkLimit } from './affine.js';
import { PlanBuilder } from './plan-builder.js';
import { OPS, OpContext, unhandledAttributes, WEIGHT_SLOTS } from './ops/index.js';
import type { QuantizedGraph } from './plan.js';
import { fromConst, type SymTensor } from './tensor.js';

export interface QuantizeOptions {
  /** Fraction bits of activations and weights (value ≈ integer / 2^scale). */
  scale: number;
  /** What the proof reveals; weights other than `fixed` enter as wires (see weightInitializers). */
  visibility?: ModelVisibility;
  /** Leave out graph outputs no node produced (an optional output) instead of failing. */
  skipMissingOutputs?: boolean;
  /** Terms in one op's output past which materialising its wide inputs is tried (default FOLD_BUDGET). */
  foldBudget?: number;
  /** The work one run of an op may do (default MAX_OP_WORK; see withWorkLimit in affine.ts). */
  maxOpWork?: number;
  /**
   * The most non-linear constraints the circuit may have (ZKINFER_MAX_CONSTRAINTS): the plan is
   * refused (TOO_LARGE) as soon as its gadgets need more, before they are built.
   */
  maxConstraints?: number;
}

/**
 * The float initializers that are weights: every use of them is a weight slot (WEIGHT_SLOTS, declared by
 * each op family). Everything else an initializer feeds (shapes, axes, normalization statistics,
 * ConvTranspose kernels) must be known when compiling and stays a circuit constant.
 */
export function weightInitializers(graph: OnnxGraph): string[] {
  const uses = new Map<string, boolean>();
  for (const node of graph.nodes) {
    node.inputs.forEach((name, slot) => {
      if (!graph.initializers.has(name)) return;
      uses.set(name, (uses.get(name) ?? true) && (WEIGHT_SLOTS[node.opType]?.includes(slot) ?? false));
    });
  }
  return [...graph.initializers].filter(([name, t]) => t.dtype === 'float' && uses.get(name) === true && t.data.length > 0).map(([name]) => name);
}

/**
 * Folding linear layers multiplies terms: a dense layer over values that are themselves sums of many
 * products (attention's output) holds rows × columns × inner terms. Past this many terms in one op's
 * output the model is refused with TOO_LARGE instead of exhausting memory.
 */
export const MAX_TERMS = 1 << 22;

/**
 * The work one run of an op may do (withWorkLimit in affine.ts: terms combined, product pairs
 * gathered): four times what its output may hold, so the op is refused before what it gathers can
 * exhaust memory, where MAX_TERMS alone is checked only once the op has built its output.
 */
export const MAX_OP_WORK = 4 * MAX_TERMS;

/**
 * Terms in one op's output past which the tracer tries the op again on its inputs' wide forms
 * materialised as wires (materialiseWhereCheaper). Below it folding is always kept: small models
 * compile exactly as before, and the try costs one more run of the op only where it can pay.
 */
export const FOLD_BUDGET = 1 << 16;

const termCount = (outputs: readonly (SymTensor | undefined)[]): number =>
  outputs.reduce((s, o) => s + (o ? o.data.reduce((a, f) => a + f.terms.size, 0) : 0), 0);

const formatAttribute = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
};

/** Ops of the graph we cannot compile, each with its node: reported all at once before any work. */
export function unsupportedNodes(graph: OnnxGraph): { node: string; op: string }[] {
  return graph.nodes.filter((n) => !OPS[n.opType]).map((n) => ({ node: n.name, op: n.opType }));
}

/** Refuses (ONNX_UNSUPPORTED) a graph with ops we cannot compile, naming every such node. */
export function requireSupported(graph: OnnxGraph): void {
  const missing = unsupportedNodes(graph);
  if (!missing.length) return;
  const list = missing
    .slice(0, 20)
    .map((m) => `${m.node} (${m.op})`)
    .join(', ');
  throw new ZkError(
    'ONNX_UNSUPPORTED',
    `unsupported op${missing.length > 1 ? 's' : ''}: ${list}${missing.length > 20 ? `, and ${missing.length - 20} more` : ''}`,
    { nodes: missing.slice(0, 20) },
  );
}

/** A tensor holding a form of more than one term: what folding multiplies and materialising makes a wire. */
const isWide = (t: SymTensor | undefined): t is SymTensor => t?.data.some((f) => f.terms.size > 1) ?? false;
const hasWideInput = (inputs: readonly (SymTensor | undefined)[]): boolean => inputs.some(isWide);

/** The inputs with their wide forms made wires (PlanBuilder.materialise), the others as they are. */
const materialiseInputs = (builder: PlanBuilder, inputs: readonly (SymTensor | undefined)[], origin: { name: string; opType: string }) =>
  inputs.map((t) => (isWide(t) ? { ...t, data: builder.materialise(t.data, { node: origin.name, op: origin.opType }) } : t));

/**
 * Folding a linear op over forms that are themselves wide multiplies terms: a form of k terms read
 * by f forms of the output costs k·f terms folded, and k + f once it is a wire (one linear
 * constraint, no non-linear one). Which is cheaper is measured, not guessed: the op runs again on
 * its inputs with every wide form materialised, and the run whose terms (output forms, plus the
 * materialised forms and one per new wire) are fewer is kept; the other is rolled back.
 */
function materialiseWhereCheaper(
  builder: PlanBuilder,
  before: ReturnType<PlanBuilder['mark']>,
  folded: SymTensor[],
  run: (inputs: (SymTensor | undefined)[]) => SymTensor[],
  inputs: (SymTensor | undefined)[],
  origin: { name: string; opType: string },
): SymTensor[] {
  const foldedTerms = termCount(folded);
  if (!hasWideInput(inputs)) return folded;
  const foldedState = builder.mark();
  builder.rollback(before);
  const materialised = materialiseInputs(builder, inputs, origin);
  // Each new wire costs its form's terms and itself, in its linear constraint.
  const replaced = new Set(inputs.flatMap((t, i) => t?.data.filter((f, k) => materialised[i]!.data[k] !== f) ?? []));
  const extra = [...replaced].reduce((s, f) => s + f.terms.size + 1, 0);
  let outputs: SymTensor[] | undefined;
  try {
    outputs = run(materialised);
  } catch {
    // An op that needs its inputs' structure (not only their values) keeps them folded.
  }
  if (outputs && termCount(outputs) + extra < foldedTerms) return outputs;
  // Folding was cheaper after all: run it again (its groups were rolled back with the rest).
  builder.rollback(before);
  const again = run(inputs);
  const now = builder.mark();
  if (now.groups !== foldedState.groups || now.wires !== foldedState.wires)
    throw new ZkError('INTERNAL', `node ${origin.name} (${origin.opType}) built a different plan when run again`);
  return again;
}

/**
 * Walks the graph once with affine forms as values. Constant subgraphs (Shape, Gather on shapes,
 * ConstantOfShape…) fold as they go, linear layers compose, and only non-linear ops add gadgets.
 */
export function quantizeGraph(model: OnnxGraph, options: QuantizeOptions): QuantizedGraph {
  requireSupported(model);
  // Here rather than in prepareGraph: a graph that reads the activation's output (firstDivergence's
  // copy with every node output exposed) keeps its nodes as they are, names and all.
  const graph = poolBeforeActivation(model);
  const visibility = options.visibility ?? DEFAULT_VISIBILITY;
  const builder = new PlanBuilder(options.scale, visibility, options.maxConstraints);
  const values = new Map<string, SymTensor>();
  for (const [name, t] of graph.initializers) values.set(name, fromConst(t));
  if (visibility.weights !== 'fixed') {
    for (const name of weightInitializers(graph)) {
      const t = graph.initializers.get(name)!;
      values.set(name, { dims: [...t.dims], dtype: t.dtype, data: builder.addWeights(name, [...t.dims], t.data) });
    }
  }
  for (const input of graph.inputs) {
    boundedSize(input.dims, `graph input ${input.name}`);
    values.set(input.name, { dims: input.dims, dtype: input.dtype, data: builder.addInput(input.name, input.dims, input.dtype, sizeOf(input.dims)) });
  }
  // A refused node does not stop the walk: the nodes after it that do not depend on it are still
  // checked, so one refusal lists every node the compiler cannot handle.
  const refused: ZkError[] = [];
  const blocked = new Set<string>();
  for (const node of graph.nodes) {
    if (node.inputs.some((name) => blocked.has(name))) {
      node.outputs.forEach((name) => blocked.add(name));
      continue;
    }
    const inputs = node.inputs.map((name) => {
      if (name === '') return undefined;
      const v = values.get(name);
      if (!v) throw new ZkError('ONNX_MALFORMED', `node ${node.name} (${node.opType}) reads ${name}, which no earlier node produces`);
      return v;
    });
    let ctx = new OpContext(node, inputs, builder, graph.opset);
    let outputs: SymTensor[];
    const opWork = options.maxOpWork ?? MAX_OP_WORK;
    const metered = (c: OpContext) => withWorkLimit(opWork, () => OPS[node.opType](c));
    try {
      const before = builder.mark();
      let folded = true;
      try {
        outputs = metered(ctx);
      } catch (e) {
        // Folding wide inputs can be what costs the work: the op then runs on them materialised
        // (metered too), as materialiseWhereCheaper would have chosen.
        if (!isWorkLimit(e) || !hasWideInput(inputs)) throw e;
        builder.rollback(before);
        ctx = new OpContext(node, materialiseInputs(builder, inputs, node), builder, graph.opset);
        outputs = metered(ctx);
        folded = false;
      }
      for (const o of outputs) if (o) boundedSize(o.dims, `node ${node.name} (${node.opType}) output`);
      const unhandled = unhandledAttributes(ctx);
      if (unhandled.length)
        ctx.fail(`attribute${unhandled.length > 1 ? 's' : ''} ${unhandled.map((a) => `${a}=${formatAttribute(node.attributes[a])}`).join(', ')} not supported`);
      if (folded && termCount(outputs) > (options.foldBudget ?? FOLD_BUDGET))
        outputs = materialiseWhereCheaper(builder, before, outputs, (ins) => metered(new OpContext(node, ins, builder, graph.opset)), inputs, node);
    } catch (e) {
      // An error from deep inside an op (a constant that is not finite…) names the node it came from.
      if (isZkError(e) && e.details?.node === undefined && !e.message.startsWith('node ')) {
        throw new ZkError(e.code, `node ${node.name} (${node.opType}): ${e.message}`, { ...e.details, node: node.name, op: node.opType });
      }
      if (!isZkError(e) || e.code !== 'ONNX_UNSUPPORTED') throw e;
      refused.push(e);
      node.outputs.forEach((name) => blocked.add(name));
      continue;
    }
    const terms = termCount(outputs);
    if (terms > MAX_TERMS) {
      throw new ZkError(
        'TOO_LARGE',
        `node ${node.name} (${node.opType}): its output folds into ${terms} affine terms (more than ${MAX_TERMS}); the model is too large to compile`,
        { node: node.name, op: node.opType, terms },
      );
    }
    node.outputs.forEach((name, i) => name && outputs[i] && values.set(name, outputs[i]));
  }
  if (refused.length === 1) throw refused[0];
  if (refused.length > 1) {
    throw new ZkError('ONNX_UNSUPPORTED', `${refused.length} nodes cannot be compiled: ${refused.map((e) => e.message).join('; ')}`, {
      nodes: refused.map((e) => e.details),
    });
  }
  const produced = options.skipMissingOutputs ? graph.outputs.filter((o) => values.has(o.name)) : graph.outputs;
  return builder.build(
    produced.map((o) => {
      const v = values.get(o.name);
      if (!v) throw new ZkError('ONNX_MALFORMED', `graph output ${o.name} is never produced`);
      return { name: o.name, dims: v.dims, dtype: v.dtype, forms: v.data };
    }),
  );
}
