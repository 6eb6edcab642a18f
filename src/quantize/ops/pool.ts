import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, isConstant } from '../affine.js';
import type { PlanBuilder } from '../plan-builder.js';
import { normalizeAxis, strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { maxOf, minOf } from './elementwise.js';
import { spatialGeometry } from './window.js';

type Reducer = 'sum' | 'mean' | 'max' | 'min';

/**
 * Reduces every window to one value. Max and min run as a balanced tree, one gadget group per level;
 * `exact` takes them at the forms' own scale, on their grid (onGridAt), where otherwise each step rounds to the working scale.
 */
export function reduceWindows(ctx: OpContext, windows: Affine[][], how: Reducer, count: (w: Affine[]) => number, exact = false): Affine[] {
  if (how === 'sum' || how === 'mean') {
    return windows.map((w) => combine(w.map((v) => [v, how === 'mean' ? 1 / count(w) : 1] as const)));
  }
  if (windows.some((w) => w.length === 0)) ctx.fail('an empty window');
  const inputs = exact ? onGridAt(ctx.builder, windows) : windows;
  return reduceTree(inputs, (xs, ys) => (how === 'max' ? maxOf : minOf)(ctx, xs, ys, exact));
}

/**
 * The forms rounded onto the grid of the finest scale among them: each coefficient and the bias to
 * the integer a gadget at that scale would quantize it to anyway (builder.quantizeForm), so the
 * integer of a difference of two forms is the difference of their integers. A tree of exact maxima
 * over them is then the exact maximum of the integers a ReLU at that scale would have seen (what
 * poolBeforeActivation in src/onnx/rewrite.ts relies on). Free: no gadget, no constraint.
 */
function onGridAt(builder: PlanBuilder, windows: Affine[][]): Affine[][] {
  const scale = windows.reduce((s, w) => w.reduce((t, x) => (isConstant(x) ? t : Math.max(t, builder.scaleOf(x))), s), 0);
  const snap = (v: number, bits: number) => Math.round(v * 2 ** bits) / 2 ** bits;
  return windows.map((w) =>
    w.map((x) => {
      const terms = new Map<number, number>();
      for (const [wire, c] of x.terms) terms.set(wire, snap(c, scale - builder.wireScale(wire)));
      return isConstant(x) ? x : { bias: snap(x.bias, scale), terms };
    }),
  );
}

/**
 * Reduces every window to one value by a balanced tree of pairwise merges: each level merges the
 * pairs of all windows in one call (one gadget group), so a window of n costs ⌈log2 n⌉ levels.
 * Windows must not be empty.
 */
export function reduceTree(windows: Affine[][], merge: (xs: Affine[], ys: Affine[]) => Affine[]): Affine[] {
  let level = windows;
  while (level.some((w) => w.length > 1)) {
    const xs: Affine[] = [];
    const ys: Affine[] = [];
    for (const w of level) for (let i = 0; i + 1 < w.length; i += 2) xs.push(w[i]), ys.push(w[i + 1]);
    const merged = merge(xs, ys);
    let k = 0;
    level = level.map((w) => {
      const next: Affine[] = [];
      for (let i = 0; i + 1 < w.length; i += 2) next.push(merged[k++]);
      if (w.length % 2) next.push(w[w.length - 1]);
      return next;
    });
  }
  return level.map((w) => w[0]);
}

function pool(ctx: OpContext, how: Reducer): SymTensor[] {
  const x = ctx.input(0);
  const [batch, channels] = x.dims;
  const kernel = ctx.ints('kernel_shape', []);
  if (kernel.length !== x.dims.length - 2) ctx.shapeError(`kernel_shape [${kernel}] does not fit input [${x.dims}]`);
  if (ctx.int('storage_order', 0) !== 0) ctx.fail('column-major storage_order');
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1]) ctx.fail('the Indices output of MaxPool');
  const geo = spatialGeometry(ctx, x.dims.slice(2), kernel);
  const includePad = ctx.int('count_include_pad', 0) === 1;
  const inner = sizeOf(x.dims.slice(2));
  const windows: Affine[][] = [];
  const padded = new Map<Affine[], number>();
  for (let plane = 0; plane < batch * channels; plane++) {
    for (let pos = 0; pos < sizeOf(geo.outDims); pos++) {
      const w: Affine[] = [];
      geo.window(pos, (offset) => w.push(x.data[plane * inner + offset]));
      windows.push(w);
      if (includePad) padded.set(w, geo.paddedCount(pos));
    }
  }
  const data = reduceWindows(ctx, windows, how, (w) => padded.get(w) ?? w.length, how === 'max');
  return [{ dims: [batch, channels, ...geo.outDims], dtype: x.dtype, data }];
}

function globalPool(ctx: OpContext, how: Reducer): SymTensor[] {
  const x = ctx.input(0);
  const inner = sizeOf(x.dims.slice(2));
  const windows = Array.from({ length: x.dims[0] * x.dims[1] }, (_, p) => x.data.slice(p * inner, (p + 1) * inner));
  return [
    { dims: [x.dims[0], x.dims[1], ...x.dims.slice(2).map(() => 1)], dtype: x.dtype, data: reduceWindows(ctx, windows, how, (w) => w.length, how === 'max') },
  ];
}

/**
 * The windows of a Reduce* op: the elements each output reduces over `axes` (attribute, or input 1
 * from opset 13 for ReduceSum and 18 for the rest), and the output dims (keepdims). Undefined when
 * noop_with_empty_axes and no axes, each element is its own window (ReduceSumSquare then squares,
 * ReduceL1 takes |x|, as ONNX's reference does).
 */
export function reductionWindows(ctx: OpContext, axesInputOpset: number): { windows: Affine[][]; dims: number[] } {
  const x = ctx.input(0);
  const rank = x.dims.length;
  const rawAxes = ctx.opset >= axesInputOpset ? (ctx.optional(1) ? ctx.constInput(1, 'axes') : undefined) : (ctx.attr('axes') as number[] | undefined);
  const noop = ctx.int('noop_with_empty_axes', 0) === 1;
  if ((!rawAxes || rawAxes.length === 0) && noop) return { windows: x.data.map((v) => [v]), dims: x.dims };
  const axes = rawAxes?.length ? rawAxes.map((a) => normalizeAxis(a, rank)) : x.dims.map((_, i) => i);
  const keep = ctx.int('keepdims', 1) === 1;
  const outFull = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = strides(outFull);
  const inStrides = strides(x.dims);
  const windows: Affine[][] = Array.from({ length: sizeOf(outFull) }, () => []);
  x.data.forEach((v, flat) => {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!axes.includes(d)) o += (Math.floor(flat / inStrides[d]) % x.dims[d]) * outStrides[d];
    windows[o].push(v);
  });
  return { windows, dims: keep ? outFull : x.dims.filter((_, i) => !axes.includes(i)) };
}

/** ReduceSum/Mean/Max/Min. */
function reduce(ctx: OpContext, how: Reducer): SymTensor[] {
  const x = ctx.input(0);
  const r = reductionWindows(ctx, how === 'sum' ? 13 : 18);
  return [{ dims: r.dims, dtype: x.dtype, data: reduceWindows(ctx, r.windows, how, (w) => w.length) }];
}

export const poolOps: Record<string, OpImpl> = {
  MaxPool: (ctx) => pool(ctx, 'max'),
  AveragePool: (ctx) => pool(ctx, 'mean'),
  GlobalAveragePool: (ctx) => globalPool(ctx, 'mean'),
  GlobalMaxPool: (ctx) => globalPool(ctx, 'max'),
  ReduceSum: (ctx) => reduce(ctx, 'sum'),
  ReduceMean: (ctx) => reduce(ctx, 'mean'),
  ReduceMax: (ctx) => reduce(ctx, 'max'),
  ReduceMin: (ctx) => reduce(ctx, 'min'),
};
