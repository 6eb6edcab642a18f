import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, constant, sub } from '../affine.js';
import type { TableFunction } from '../plan.js';
import { normalizeAxis, strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { clip } from './elementwise.js';
import { isMaskFill } from './mask.js';
import { reduceWindows } from './pool.js';

/** A unary op computed by a table gadget (see table.ts); the output is float. */
const tableOp =
  (name: string, params: (ctx: OpContext) => number[] = () => []): OpImpl =>
  (ctx) => {
    const x = ctx.input(0);
    const fn: TableFunction = { name, params: params(ctx) };
    return [{ dims: x.dims, dtype: 'float', data: ctx.builder.table(x.data, fn, ctx.origin) }];
  };

/**
 * The flat indices of each reduction row: opset < 13 Softmax-family ops flatten the axes from `axis`
 * on into one row; from opset 13 (and for ops that always work on one axis) a row runs along `axis`.
 */
export function rowsOf(dims: readonly number[], axis: number, flattenFrom: boolean): number[][] {
  const a = normalizeAxis(axis, dims.length);
  if (flattenFrom) {
    const inner = sizeOf(dims.slice(a));
    return Array.from({ length: sizeOf(dims.slice(0, a)) }, (_, o) => Array.from({ length: inner }, (_, i) => o * inner + i));
  }
  const n = dims[a];
  const stride = strides(dims)[a];
  const rows: number[][] = [];
  for (let o = 0; o < sizeOf(dims.slice(0, a)); o++) {
    for (let i = 0; i < stride; i++) rows.push(Array.from({ length: n }, (_, j) => o * n * stride + j * stride + i));
  }
  return rows;
}

/**
 * Softmax (and LogSoftmax) along rows: m = max(x) by the ReLU tree, e = exp(x − m) by one table
 * (e ∈ (0, 1], flat below −8 where it is 0 to the LSB), s = Σ e ≥ 1. Softmax multiplies each e by
 * one rounded reciprocal of s per row (a DividePositive with proven bounds, so no calibration can
 * be too narrow); LogSoftmax subtracts log(s), a second table on [1, n].
 */
function softmax(ctx: OpContext, log: boolean): SymTensor[] {
  const x = ctx.input(0);
  const rows = rowsOf(x.dims, ctx.int('axis', ctx.opset < 13 ? 1 : -1), ctx.opset < 13);
  const out = new Array<Affine>(x.data.length);
  const n = rows[0]?.length ?? 0;
  if (n <= 1) {
    rows.forEach((r) => r.forEach((i) => (out[i] = constant(log ? 0 : 1))));
    return [{ dims: x.dims, dtype: 'float', data: out }];
  }
  // Masked elements (−∞ or finfo.min fills) drop out of their row: their output is exactly 0 (Softmax).
  const masked = rows.flatMap((r) => r.filter((i) => isMaskFill(x.data[i])));
  if (masked.length) {
    if (log) ctx.fail('LogSoftmax of a row with −∞ fills (its output there is −∞)');
    masked.forEach((i) => (out[i] = constant(0)));
    const live = rows.map((r) => r.filter((i) => !isMaskFill(x.data[i])));
    if (live.some((r) => r.length === 0)) ctx.fail('a row of Softmax is masked entirely (onnxruntime gives NaN or a uniform row)');
    // Rows of different lengths: each length is its own Softmax over the live elements.
    for (const length of new Set(live.map((r) => r.length))) {
      const group = live.filter((r) => r.length === length);
      const inner = softmaxRows(ctx, x, group, false);
      group.flat().forEach((i, k) => (out[i] = inner[k]));
    }
    return [{ dims: x.dims, dtype: 'float', data: out }];
  }
  softmaxRows(ctx, x, rows, log).forEach((v, k) => (out[rows[Math.floor(k / n)][k % n]] = v));
  return [{ dims: x.dims, dtype: 'float', data: out }];
}

/** Softmax (or LogSoftmax) of rows of equal length n: the values in row order, row after row. */
function softmaxRows(ctx: OpContext, x: SymTensor, rows: number[][], log: boolean): Affine[] {
  const n = rows[0].length;
  if (n === 1) return rows.map(() => constant(log ? 0 : 1));
  const out = new Array<Affine>(rows.length * n);
  const maxes = reduceWindows(
    ctx,
    rows.map((r) => r.map((i) => x.data[i])),
    'max',
    (w) => w.length,
  );
  const shifted = rows.flatMap((r, k) => r.map((i) => sub(x.data[i], maxes[k])));
  const e = ctx.builder.table(shifted, { name: 'expNonPositive', params: [] }, ctx.origin);
  const sums = rows.map((r, k) => combine(r.map((_, j) => [e[k * n + j], 1] as const)));
  if (log) {
    const logs = ctx.builder.table(sums, { name: 'log', params: [1] }, ctx.origin);
    rows.forEach((r, k) => r.forEach((_, j) => (out[k * n + j] = sub(shifted[k * n + j], logs[k]))));
    return out;
  }
  // 1/s at 3 + ⌈log2 n⌉ bits beyond the working scale: s ≤ n, so the reciprocal keeps scale + 3 significant bits.
  const invScale = ctx.builder.scale + 3 + Math.ceil(Math.log2(n));
  const inv = ctx.builder.divide(
    rows.map(() => constant(1)),
    sums,
    ctx.origin,
    {
      positive: true,
      outScale: invScale,
      // Each e ≤ 1 (+ half an LSB) and the largest is exp(0) = 1: 1 ≤ s ≤ n, proven for any input.
      bMax: (bScale) => BigInt(n) << BigInt(bScale + 1),
      qMax: 1n << BigInt(invScale + 1),
    },
  );
  return ctx.builder.product(
    e,
    rows.flatMap((r, k) => r.map(() => inv[k])),
    ctx.origin,
    { rescale: false },
  );
}

/** HardSigmoid: max(0, min(1, αx + β)), two ReLUs. */
function hardSigmoid(ctx: OpContext, x: SymTensor, alpha: number, beta: number): SymTensor {
  return clip(ctx, { ...x, data: x.data.map((v) => combine([[v, alpha]], beta)) }, 0, 1);
}

export const nonlinearOps: Record<string, OpImpl> = {
  Sigmoid: tableOp('sigmoid'),
  Tanh: tableOp('tanh'),
  Erf: tableOp('erf'),
  Exp: tableOp('exp'),
  Log: (ctx) => tableOp('log', () => [2 ** -(ctx.builder.scale + 1)])(ctx),
  Sqrt: tableOp('sqrt'),
  Softplus: tableOp('softplus'),
  Softsign: tableOp('softsign'),
  Elu: tableOp('elu', (ctx) => [ctx.float('alpha', 1)]),
  // biome-ignore lint/correctness/noPrecisionLoss: the exact decimal expansions of ONNX's float32 defaults
  Selu: tableOp('selu', (ctx) => [ctx.float('alpha', 1.67326319217681884765625), ctx.float('gamma', 1.05070102214813232421875)]),
  Celu: tableOp('celu', (ctx) => [ctx.float('alpha', 1)]),
  Gelu: (ctx) => tableOp(ctx.string('approximate', 'none') === 'tanh' ? 'geluTanh' : 'gelu')(ctx),
  Mish: tableOp('mish'),
  Sin: tableOp('sin'),
  Cos: tableOp('cos'),
  Atan: tableOp('atan'),
  Tan: tableOp('tan'),
  Asin: tableOp('asin'),
  Acos: tableOp('acos'),
  Sinh: tableOp('sinh'),
  Cosh: tableOp('cosh'),
  Asinh: tableOp('asinh'),
  Acosh: tableOp('acosh'),
  Atanh: tableOp('atanh'),
  Reciprocal: (ctx) => {
    const x = ctx.input(0);
    return [
      {
        dims: x.dims,
        dtype: 'float',
        data: ctx.builder.divide(
          x.data.map(() => constant(1)),
          x.data,
          ctx.origin,
        ),
      },
    ];
  },
  Softmax: (ctx) => softmax(ctx, false),
  LogSoftmax: (ctx) => softmax(ctx, true),
  HardSigmoid: (ctx) => [hardSigmoid(ctx, ctx.input(0), ctx.float('alpha', 0.2), ctx.float('beta', 0.5))],
  HardSwish: (ctx) => {
    const x = ctx.input(0);
    const gate = hardSigmoid(ctx, x, 1 / 6, 0.5);
    return [{ ...x, data: ctx.builder.product(x.data, gate.data, ctx.origin) }];
  },
};
