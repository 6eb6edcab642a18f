import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine } from '../affine.js';
import { normalizeAxis, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';

/**
 * Normalization over rows of n values: y = (x − mean)·invStd with invStd = 1/√(var + ε), kept exact
 * as far as integers allow. With x rounded to the working scale, S1 = Σx and u = n·Σx² − S1² =
 * n²·var are exact integers (n products and one square per row), so one table gives
 * invStd = n/√(u + n²ε) — no rounded 1/n or 1/n² coefficient anywhere — and n·x − S1 = n·(x − mean)
 * is exact too: y = (n·x − S1)·invStd / n costs one product per element. The table reads u at twice
 * the working scale (small variances keep their precision) with slopes to 8 more bits (it is flat
 * over most of a wide range), and its output is rounded once per row to the working scale plus 4 bits.
 */
export function normalizeRows(ctx: OpContext, x: readonly Affine[], rows: readonly number[][], eps: number): { y: Affine[]; mean: Affine[]; invStd: Affine[] } {
  const b = ctx.builder;
  const xr = b.rescale(x, ctx.origin);
  const n = rows[0].length;
  const squares = b.product(xr, xr, ctx.origin);
  const s1 = rows.map((r) => combine(r.map((i) => [xr[i], 1] as const)));
  const s1sq = b.product(s1, s1, ctx.origin);
  const u = rows.map((r, k) => combine([...r.map((i) => [squares[i], n] as const), [s1sq[k], -1]]));
  const inv = b.table(u, { name: 'rsqrt', params: [n, n * n * eps] }, ctx.origin, { inputScale: 2 * b.scale, extraOutputBits: b.scale });
  // Rounded over the table's whole output range (proven, not calibrated): a row of equal values has 1/σ = 1/√ε.
  const invStd = b.rescale(inv, ctx.origin, b.scale + 4, { proven: true });
  const centred = rows.flatMap((r, k) =>
    r.map((i) =>
      combine([
        [xr[i], n],
        [s1[k], -1],
      ]),
    ),
  );
  const products = b.product(
    centred,
    rows.flatMap((r, k) => r.map(() => invStd[k])),
    ctx.origin,
    { rescale: false },
  );
  const y = new Array<Affine>(x.length);
  let at = 0;
  for (const r of rows) for (const i of r) y[i] = combine([[products[at++], 1 / n]]);
  return { y, mean: s1.map((s) => combine([[s, 1 / n]])), invStd: inv };
}

/** LayerNormalization: rows over the axes from `axis` on; scale and bias broadcast over them. */
function layerNorm(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.int('axis', -1), x.dims.length);
  const inner = sizeOf(x.dims.slice(axis));
  const outer = sizeOf(x.dims.slice(0, axis));
  const rows = Array.from({ length: outer }, (_, o) => Array.from({ length: inner }, (_, i) => o * inner + i));
  const gamma = ctx.constInput(1, 'the scale');
  const beta = ctx.optional(2) ? ctx.constInput(2, 'the bias') : [0];
  const { y, mean, invStd } = normalizeRows(ctx, x.data, rows, ctx.float('epsilon', 1e-5));
  const at = (v: number[], i: number) => v[v.length === 1 ? 0 : i % v.length];
  const data = y.map((v, i) => combine([[v, at(gamma, i % inner)]], at(beta, i % inner)));
  const statDims = x.dims.map((d, i) => (i < axis ? d : 1));
  return [
    { ...x, data },
    { dims: statDims, dtype: 'float', data: mean },
    { dims: statDims, dtype: 'float', data: invStd },
  ];
}

/** InstanceNormalization: rows over the spatial axes of each (batch, channel); scale and bias per channel. */
function instanceNorm(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const [batch, channels] = x.dims;
  const inner = sizeOf(x.dims.slice(2));
  const rows = Array.from({ length: batch * channels }, (_, p) => Array.from({ length: inner }, (_, i) => p * inner + i));
  const gamma = ctx.constInput(1, 'the scale');
  const beta = ctx.constInput(2, 'the bias');
  const { y } = normalizeRows(ctx, x.data, rows, ctx.float('epsilon', 1e-5));
  return [{ ...x, data: y.map((v, i) => combine([[v, gamma[Math.floor(i / inner) % channels]]], beta[Math.floor(i / inner) % channels])) }];
}

export const normOps: Record<string, OpImpl> = {
  LayerNormalization: layerNorm,
  InstanceNormalization: instanceNorm,
};
