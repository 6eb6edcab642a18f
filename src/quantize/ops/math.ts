import type { DType } from '../../onnx/graph.js';
import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, constant, isConstant, shift } from '../affine.js';
import { broadcastIndex, normalizeAxis, type SymTensor } from '../tensor.js';
import { OpContext, type OpImpl } from './context.js';
import { binary, cast, clip, elementwiseOps } from './elementwise.js';
import { logicOps } from './logic.js';
import { rowsOf } from './nonlinear.js';
import { normalizeRows } from './norm.js';

/**
 * Arithmetic and normalization ops built from the existing gadgets (ReLUs, signs, products, tables,
 * divisions): Mod, CastLike, Mean, Swish, Hardmax, Shrink, ThresholdedRelu, LpNormalization,
 * RMSNormalization, MeanVarianceNormalization, GroupNormalization, DequantizeLinear. Semantics
 * from the ONNX operator docs; an attribute or case outside them is refused by name.
 */

/** The same op on other inputs or attributes (CastLike is Cast with `to` from its second input). */
export const withInputs = (ctx: OpContext, inputs: SymTensor[], attributes: Record<string, number>): OpContext =>
  new OpContext({ ...ctx.node, attributes: { ...ctx.node.attributes, ...attributes } }, inputs, ctx.builder, ctx.opset);

const TO_CODE: Record<DType, number> = { float: 1, int: 7, bool: 9 };

/**
 * Mod: fmod = 0 takes the divisor's sign (a − b·⌊a/b⌋), fmod = 1 the dividend's (a − b·trunc(a/b)).
 * Constants fold; a computed dividend needs a constant divisor ±2^k, for which a/b is an exact
 * coefficient and ⌊a/b⌋ (or its truncation) one rounding gadget.
 */
function mod(ctx: OpContext): SymTensor[] {
  const fmod = ctx.int('fmod', 0) === 1;
  const [a, b] = [ctx.input(0), ctx.input(1)];
  return [
    binary(ctx, a, b, (xs, ys) => {
      const out = xs.map((x, i) => {
        const y = ys[i];
        if (!isConstant(y)) ctx.fail('the divisor must be a constant');
        if (y.bias === 0) ctx.fail('division by zero');
        if (!isConstant(x)) return undefined;
        const r = x.bias % y.bias;
        return constant(fmod || r === 0 || Math.sign(r) === Math.sign(y.bias) ? r : r + y.bias);
      });
      const live = out.flatMap((o, i) => (o ? [] : [i]));
      if (!live.length) return out as Affine[];
      for (const i of live) {
        const d = Math.abs(ys[i].bias);
        if (2 ** Math.round(Math.log2(d)) !== d) ctx.fail(`a computed dividend modulo ${ys[i].bias} (only ±2^k divisors are exact)`);
      }
      const quotients = live.map((i) => combine([[xs[i], 1 / ys[i].bias]]));
      const q = fmod ? ctx.builder.roundHalfEven(quotients, ctx.origin, 'trunc') : ctx.builder.floor(quotients, ctx.origin);
      live.forEach(
        (i, k) =>
          (out[i] = combine([
            [xs[i], 1],
            [q[k], -ys[i].bias],
          ])),
      );
      return out as Affine[];
    }),
  ];
}

/** Mean of n inputs (broadcast): their Sum times 1/n. */
function mean(ctx: OpContext): SymTensor[] {
  const s = elementwiseOps.Sum(ctx)[0];
  return [{ ...s, dtype: 'float', data: s.data.map((v) => combine([[v, 1 / ctx.inputCount]])) }];
}

/**
 * Hardmax: 1 at the first maximum of each row, 0 elsewhere (rows along `axis` from opset 13, the
 * flattened axes from `axis` on before it). ArgMax's one-hot indicators are the answer.
 */
function hardmax(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const rows = rowsOf(x.dims, ctx.int('axis', ctx.opset < 13 ? 1 : -1), ctx.opset < 13);
  const n = rows[0]?.length ?? 0;
  const table: SymTensor = { dims: [rows.length, n], dtype: x.dtype, data: rows.flat().map((i) => x.data[i]) };
  const index = logicOps.ArgMax(withInputs(ctx, [table], { axis: 1, keepdims: 1, select_last_index: 0 }))[0];
  const data = new Array<Affine>(x.data.length);
  rows.forEach((r, k) => {
    const hot = isConstant(index.data[k]) ? r.map((_, j) => constant(j === index.data[k].bias ? 1 : 0)) : ctx.builder.oneHotOf(index.data[k]);
    if (!hot) ctx.fail('no indicators for the maximum');
    r.forEach((flat, j) => (data[flat] = hot[j]));
  });
  return [{ dims: x.dims, dtype: x.dtype, data }];
}

/** [x > t] = 1 − [t − x ≥ 0], exact on the quantized values. */
export const above = (ctx: OpContext, xs: Affine[], t: number): Affine[] =>
  ctx.builder
    .nonNegative(
      xs.map((x) => combine([[x, -1]], t)),
      ctx.origin,
    )
    .map((s) => combine([[s, -1]], 1));

/** Shrink: x − bias above λ, x + bias below −λ, else 0 = relu(x − λ) − relu(−x − λ) + (λ − bias)·([x > λ] − [x < −λ]). */
function shrink(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const lambd = ctx.float('lambd', 0.5);
  const bias = ctx.float('bias', 0);
  const up = ctx.builder.reluExact(
    x.data.map((v) => shift(v, -lambd)),
    ctx.origin,
  );
  const down = ctx.builder.reluExact(
    x.data.map((v) => combine([[v, -1]], -lambd)),
    ctx.origin,
  );
  const step = lambd - bias;
  const hi = step ? above(ctx, x.data, lambd) : undefined;
  const lo = step
    ? above(
        ctx,
        x.data.map((v) => combine([[v, -1]])),
        lambd,
      )
    : undefined;
  return [
    {
      ...x,
      data: x.data.map((_, i) =>
        combine([
          [up[i], 1],
          [down[i], -1],
          ...(hi && lo
            ? ([
                [hi[i], step],
                [lo[i], -step],
              ] as [Affine, number][])
            : []),
        ]),
      ),
    },
  ];
}

/** ThresholdedRelu: x where x > α, else 0 = relu(x − α) + α·[x > α]. */
function thresholdedRelu(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const alpha = ctx.float('alpha', 1);
  const r = ctx.builder.reluExact(
    x.data.map((v) => shift(v, -alpha)),
    ctx.origin,
  );
  const hit = above(ctx, x.data, alpha);
  return [
    {
      ...x,
      data: r.map((v, i) =>
        combine([
          [v, 1],
          [hit[i], alpha],
        ]),
      ),
    },
  ];
}

/** Rows of the trailing axes from `axis` on (LayerNormalization's and RMSNormalization's). */
function trailingRows(dims: readonly number[], axis: number): number[][] {
  const inner = sizeOf(dims.slice(axis));
  return Array.from({ length: sizeOf(dims.slice(0, axis)) }, (_, o) => Array.from({ length: inner }, (_, i) => o * inner + i));
}

/**
 * x·k/√(Σx² + offset) per row, exact up to one table: Σx² of x rounded to the working scale is an
 * exact integer; the table (at twice the working scale, slopes to 8 more bits, as normalizeRows)
 * gives k/√(Σx² + offset), rounded once per row to 4 bits beyond the working scale.
 */
export function scaleByRsqrt(ctx: OpContext, x: readonly Affine[], rows: readonly number[][], k: number, offset: number): Affine[] {
  const b = ctx.builder;
  const xr = b.rescale(x, ctx.origin);
  const squares = b.product(xr, xr, ctx.origin);
  const u = rows.map((r) => combine(r.map((i) => [squares[i], 1] as const)));
  const inv = b.table(u, { name: 'rsqrt', params: [k, offset] }, ctx.origin, { inputScale: 2 * b.scale, extraOutputBits: b.scale });
  const invR = b.rescale(inv, ctx.origin, b.scale + 4, { proven: true });
  const products = b.product(
    rows.flatMap((r) => r.map((i) => xr[i])),
    rows.flatMap((r, j) => r.map(() => invR[j])),
    ctx.origin,
    { rescale: false },
  );
  const y = new Array<Affine>(x.length);
  let at = 0;
  for (const r of rows) for (const i of r) y[i] = products[at++];
  return y;
}

/** RMSNormalization (opset 23): x / √(mean(x²) + ε) · scale over the axes from `axis` on. */
function rmsNorm(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.int('axis', -1), x.dims.length);
  const rows = trailingRows(x.dims, axis);
  const n = rows[0].length;
  const gamma = ctx.input(1);
  const gi = broadcastIndex(gamma.dims, x.dims.slice(axis));
  // 1/√(Σx²/n + ε) = √n/√(Σx² + nε)
  const y = scaleByRsqrt(ctx, x.data, rows, Math.sqrt(n), n * ctx.float('epsilon', 1e-5));
  const g = y.map((_, i) => gamma.data[gi[i % n]]);
  return [{ ...x, data: ctx.builder.product(y, g, ctx.origin) }];
}

/**
 * LpNormalization along `axis`: p = 2 divides by √Σx² (a zero row stays 0), p = 1 by Σ|x| (a
 * division gadget; a zero row has no proof).
 */
function lpNorm(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const p = ctx.int('p', 2);
  const rows = rowsOf(x.dims, ctx.int('axis', -1), false);
  if (p === 2) return [{ ...x, data: scaleByRsqrt(ctx, x.data, rows, 1, 2 ** -(2 * ctx.builder.scale + 2)) }];
  if (p !== 1) ctx.fail(`p = ${p} (1 or 2)`);
  return [{ ...x, data: divideByL1(ctx, x.data, rows) }];
}

/** x / Σ|x| per row (a division gadget; a zero row has no proof). */
export function divideByL1(ctx: OpContext, x: readonly Affine[], rows: readonly number[][]): Affine[] {
  const r = ctx.builder.reluExact(x, ctx.origin);
  const norms = rows.map((row) =>
    combine(
      row.flatMap((i): [Affine, number][] => [
        [r[i], 2],
        [x[i], -1],
      ]),
    ),
  );
  const data = new Array<Affine>(x.length);
  const q = ctx.builder.divide(
    rows.flat().map((i) => x[i]),
    rows.flatMap((row, k) => row.map(() => norms[k])),
    ctx.origin,
    { positive: true },
  );
  rows.flat().forEach((i, k) => (data[i] = q[k]));
  return data;
}

/** MeanVarianceNormalization: (x − mean)/√var over `axes` (default [0, 2, 3]), ε = 1e-9 as in its function body. */
function mvn(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axes = ctx.ints('axes', [0, 2, 3]).map((a) => normalizeAxis(a, x.dims.length));
  const groups = new Map<number, number[]>();
  const keyStrides = x.dims.map((_, d) => sizeOf(x.dims.slice(d + 1).map((v, i) => (axes.includes(d + 1 + i) ? 1 : v))));
  x.data.forEach((_, flat) => {
    let key = 0;
    let rest = flat;
    for (let d = x.dims.length - 1; d >= 0; d--) {
      const c = rest % x.dims[d];
      rest = Math.floor(rest / x.dims[d]);
      if (!axes.includes(d)) key += c * keyStrides[d];
    }
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(flat);
  });
  return [{ ...x, data: normalizeRows(ctx, x.data, [...groups.values()], 1e-9).y }];
}

/** GroupNormalization: normalize each (batch, group) over its channels and positions; scale and bias per channel (opset 21) or per group (18). */
function groupNorm(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const groups = ctx.int('num_groups', 0);
  const [batch, channels] = x.dims;
  if (groups < 1 || channels % groups) ctx.shapeError(`${channels} channels in ${groups} groups`);
  const per = (channels / groups) * sizeOf(x.dims.slice(2));
  const rows = Array.from({ length: batch * groups }, (_, r) => Array.from({ length: per }, (_, i) => r * per + i));
  const gamma = ctx.constInput(1, 'the scale');
  const beta = ctx.constInput(2, 'the bias');
  const inner = sizeOf(x.dims.slice(2));
  const { y } = normalizeRows(ctx, x.data, rows, ctx.float('epsilon', 1e-5));
  const at = (v: number[], c: number) => v[v.length === channels ? c : Math.floor(c / (channels / groups))];
  return [
    {
      ...x,
      data: y.map((v, i) => {
        const c = Math.floor(i / inner) % channels;
        return combine([[v, at(gamma, c)]], at(beta, c));
      }),
    },
  ];
}

/** DequantizeLinear: (x − zero_point)·scale, per tensor or per `axis`; linear. Blocked quantization is refused. */
function dequantize(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  if (ctx.int('block_size', 0)) ctx.fail('block_size (blocked quantization)');
  const scale = ctx.constInput(1, 'the scale');
  const zero = ctx.optional(2) ? ctx.constInput(2, 'the zero point') : [0];
  const axis = normalizeAxis(ctx.int('axis', 1), x.dims.length);
  const inner = sizeOf(x.dims.slice(axis + 1));
  const channel = (i: number) => (scale.length === 1 ? 0 : Math.floor(i / inner) % x.dims[axis]);
  return [
    {
      dims: x.dims,
      dtype: 'float',
      data: x.data.map((v, i) => combine([[v, scale[channel(i)]]], -zero[zero.length === 1 ? 0 : channel(i)] * scale[channel(i)])),
    },
  ];
}

/** Integer ranges of QuantizeLinear's output types (TensorProto.DataType codes). */
const QUANTIZED_RANGE: Record<number, [number, number]> = {
  2: [0, 255],
  3: [-128, 127],
  4: [0, 65535],
  5: [-32768, 32767],
  21: [0, 15],
  22: [-8, 7],
};

/**
 * QuantizeLinear: saturate(round(x / scale) + zero_point), rounding half to even, per tensor or per
 * `axis`; the output type (and its range) is the zero point's, or output_dtype, or uint8. A value
 * within the coefficient's rounding of a half step may round the other way (one quantum).
 * Float 8 types and blocked quantization are refused by name.
 */
function quantize(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  if (ctx.int('block_size', 0)) ctx.fail('block_size (blocked quantization)');
  const scale = ctx.constInput(1, 'the scale');
  const zp = ctx.optional(2);
  const zero = zp ? ctx.constInput(2, 'the zero point') : [0];
  // Without a zero point ONNX's default is uint8; a zero point whose type is not known is not guessed.
  const type = ctx.int('output_dtype', 0) || (zp ? (zp.elemType ?? ctx.fail("the zero point's element type is unknown (give output_dtype)")) : 2);
  const range = QUANTIZED_RANGE[type] ?? ctx.fail(`output type ${type} (int8, uint8, int16, uint16, int4, uint4 are supported)`);
  const axis = normalizeAxis(ctx.int('axis', 1), x.dims.length);
  const inner = sizeOf(x.dims.slice(axis + 1));
  const channel = (i: number) => (scale.length === 1 ? 0 : Math.floor(i / inner) % x.dims[axis]);
  const rounded = ctx.builder.roundHalfEven(
    x.data.map((v, i) => combine([[v, 1 / scale[channel(i)]]])),
    ctx.origin,
  );
  const shifted: SymTensor = { dims: x.dims, dtype: 'int', data: rounded.map((v, i) => shift(v, zero[zero.length === 1 ? 0 : channel(i)])) };
  return [clip(ctx, shifted, range[0], range[1])];
}

export const mathOps: Record<string, OpImpl> = {
  QuantizeLinear: quantize,
  Mod: mod,
  CastLike: (ctx) => cast(withInputs(ctx, [ctx.input(0)], { to: TO_CODE[ctx.input(1).dtype] })),
  Mean: mean,
  Swish: (ctx) => {
    const x = ctx.input(0);
    return [{ ...x, data: ctx.builder.table(x.data, { name: 'swish', params: [ctx.float('alpha', 1)] }, ctx.origin) }];
  },
  Hardmax: hardmax,
  Shrink: shrink,
  ThresholdedRelu: thresholdedRelu,
  LpNormalization: lpNorm,
  RMSNormalization: rmsNorm,
  MeanVarianceNormalization: mvn,
  GroupNormalization: groupNorm,
  DequantizeLinear: dequantize,
};
