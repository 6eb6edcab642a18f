import { type Affine, combine, constant, sub } from '../affine.js';
import type { OpContext, OpImpl } from './context.js';
import { reduceTree, reduceWindows, reductionWindows } from './pool.js';

/**
 * The Reduce ops beyond Sum/Mean/Max/Min, over the same windows (axes from input 1 at opset 18,
 * keepdims, noop_with_empty_axes; see reductionWindows). Formulas from the ONNX operator docs:
 * L1 = Σ|x|, L2 = √Σx², SumSquare = Σx², LogSum = log Σx, LogSumExp = log Σeˣ, Prod = Πx.
 */

type Reduction = (ctx: OpContext, windows: Affine[][]) => Affine[];

const sumOf = (w: readonly Affine[]): Affine => combine(w.map((v) => [v, 1] as const));

/** Σx² per window: one product per element (operands at the working scale, squares exact at twice it). */
function sumSquares(ctx: OpContext, windows: Affine[][]): Affine[] {
  const squares = ctx.builder.product(windows.flat(), windows.flat(), ctx.origin);
  let at = 0;
  return windows.map((w) => sumOf(squares.slice(at, (at += w.length))));
}

/** Σ|x|, with |x| = 2·relu(x) − x at x's own scale (exact). */
function sumAbs(ctx: OpContext, windows: Affine[][]): Affine[] {
  const flat = windows.flat();
  const r = ctx.builder.reluExact(flat, ctx.origin);
  let at = 0;
  return windows.map((w) =>
    combine(
      w.flatMap((v): [Affine, number][] => [
        [v, -1],
        [r[at++], 2],
      ]),
    ),
  );
}

/** √Σx²: the square root's table reads the sum at twice the working scale (small norms keep their bits). */
function l2(ctx: OpContext, windows: Affine[][]): Affine[] {
  return ctx.builder.table(sumSquares(ctx, windows), { name: 'sqrt', params: [] }, ctx.origin, { inputScale: 2 * ctx.builder.scale });
}

/** log Σx; a sum at or below 0 (where ONNX gives −∞ or NaN) has the table's floor of half an LSB. */
function logSum(ctx: OpContext, windows: Affine[][]): Affine[] {
  return ctx.builder.table(windows.map(sumOf), { name: 'log', params: [2 ** -(ctx.builder.scale + 1)] }, ctx.origin);
}

/**
 * log Σeˣ = m + log Σe^(x − m) with m = max x (exact, by the ReLU tree): each e^(x − m) ∈ (0, 1] and
 * their sum s ∈ [1, n], so neither table overflows, as in LogSoftmax.
 */
function logSumExp(ctx: OpContext, windows: Affine[][]): Affine[] {
  if (windows.some((w) => w.length === 0)) ctx.fail('an empty reduction (log of 0)');
  const maxes = reduceWindows(ctx, windows, 'max', (w) => w.length);
  const shifted = windows.flatMap((w, k) => w.map((v) => sub(v, maxes[k])));
  const e = ctx.builder.table(shifted, { name: 'expNonPositive', params: [] }, ctx.origin);
  let at = 0;
  const sums = windows.map((w) => sumOf(e.slice(at, (at += w.length))));
  const logs = ctx.builder.table(sums, { name: 'log', params: [1] }, ctx.origin);
  return logs.map((l, k) =>
    combine([
      [l, 1],
      [maxes[k], 1],
    ]),
  );
}

/** Πx by a balanced tree of products, one product group per level (an empty window gives 1). */
function prod(ctx: OpContext, windows: Affine[][]): Affine[] {
  return reduceTree(
    windows.map((w) => (w.length ? w : [constant(1)])),
    (xs, ys) => ctx.builder.product(xs, ys, ctx.origin),
  );
}

const reduceOp =
  (f: Reduction, float: boolean): OpImpl =>
  (ctx) => {
    const x = ctx.input(0);
    const r = reductionWindows(ctx, 18);
    return [{ dims: r.dims, dtype: float ? 'float' : x.dtype, data: f(ctx, r.windows) }];
  };

export const reduceOps: Record<string, OpImpl> = {
  ReduceL1: reduceOp(sumAbs, false),
  ReduceL2: reduceOp(l2, true),
  ReduceSumSquare: reduceOp(sumSquares, false),
  ReduceLogSum: reduceOp(logSum, true),
  ReduceLogSumExp: reduceOp(logSumExp, true),
  ReduceProd: reduceOp(prod, false),
};
