import { DEFAULT_VISIBILITY, type ModelVisibility } from '../commit/visibility.js';
import { ZkError } from '../core/errors.js';
import { type OnnxGraph, sizeOf } from '../onnx/graph.js';
import { CircuitBuilder } from './builder.js';
import { OPS, OpContext } from './ops/index.js';
import type { QuantizedGraph } from './plan.js';
import { fromConst, type SymTensor } from './tensor.js';

export interface QuantizeOptions {
  /** Fraction bits of activations and weights (value ≈ integer / 2^scale). */
  scale: number;
  /** What the proof reveals; weights other than `fixed` enter as wires (see weightInitializers). */
  visibility?: ModelVisibility;
}

/**
 * Where a computed tensor may stand in for a constant weight: the data operands of the linear ops.
 * Everything else an initializer feeds (shapes, axes, normalization statistics, ConvTranspose
 * kernels) must be known when compiling and stays a circuit constant.
 */
const WEIGHT_SLOTS: Record<string, readonly number[]> = { MatMul: [0, 1], Gemm: [0, 1, 2], Conv: [1, 2], Add: [0, 1], Sub: [0, 1], Mul: [0, 1], LSTM: [1, 2, 3, 7], GRU: [1, 2, 3], RNN: [1, 2, 3] };

/** The float initializers that are weights: every use of them is a weight slot. */
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

/** Ops of the graph we cannot compile, each with its node: reported all at once before any work. */
export function unsupportedNodes(graph: OnnxGraph): { node: string; op: string }[] {
  return graph.nodes.filter((n) => !OPS[n.opType]).map((n) => ({ node: n.name, op: n.opType }));
}

/**
 * Walks the graph once with affine forms as values. Constant subgraphs (Shape, Gather on shapes,
 * ConstantOfShape…) fold as they go, linear layers compose, and only non-linear ops add gadgets.
 */
export function quantizeGraph(graph: OnnxGraph, options: QuantizeOptions): QuantizedGraph {
  const missing = unsupportedNodes(graph);
  if (missing.length) {
    const list = missing.map((m) => `${m.node} (${m.op})`).join(', ');
    throw new ZkError('ONNX_UNSUPPORTED', `unsupported op${missing.length > 1 ? 's' : ''}: ${list}`, { nodes: missing });
  }
  const visibility = options.visibility ?? DEFAULT_VISIBILITY;
  const builder = new CircuitBuilder(options.scale, visibility);
  const values = new Map<string, SymTensor>();
  for (const [name, t] of graph.initializers) values.set(name, fromConst(t));
  if (visibility.weights !== 'fixed') {
    for (const name of weightInitializers(graph)) {
      const t = graph.initializers.get(name)!;
      values.set(name, { dims: [...t.dims], dtype: t.dtype, data: builder.addWeights(name, [...t.dims], t.data) });
    }
  }
  for (const input of graph.inputs) {
    values.set(input.name, { dims: input.dims, dtype: input.dtype, data: builder.addInput(input.name, input.dims, input.dtype, sizeOf(input.dims)) });
  }
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => {
      if (name === '') return undefined;
      const v = values.get(name);
      if (!v) throw new ZkError('ONNX_MALFORMED', `node ${node.name} (${node.opType}) reads ${name}, which no earlier node produces`);
      return v;
    });
    const outputs = OPS[node.opType](new OpContext(node, inputs, builder, graph.opset));
    const terms = outputs.reduce((s, o) => s + (o ? o.data.reduce((a, f) => a + f.terms.size, 0) : 0), 0);
    if (terms > MAX_TERMS) {
      throw new ZkError('TOO_LARGE', `node ${node.name} (${node.opType}): its output folds into ${terms} affine terms (more than ${MAX_TERMS}); the model is too large to compile`, { node: node.name, op: node.opType, terms });
    }
    node.outputs.forEach((name, i) => name && outputs[i] && values.set(name, outputs[i]));
  }
  return builder.build(graph.outputs.map((o) => {
    const v = values.get(o.name);
    if (!v) throw new ZkError('ONNX_MALFORMED', `graph output ${o.name} is never produced`);
    return { name: o.name, dims: v.dims, dtype: v.dtype, forms: v.data };
  }));
}
