import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, isConstant, spend } from '../affine.js';
import { broadcastDims, broadcastIndex, strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { spatialGeometry } from './window.js';

const at2 = (t: SymTensor, batch: number, r: number, c: number): Affine => t.data[batch * t.dims.at(-2)! * t.dims.at(-1)! + r * t.dims.at(-1)! + c];

/**
 * Batched matrix product with numpy broadcasting. A constant operand makes every output one affine
 * form (no constraints); two computed operands need one product gadget per multiplication.
 */
export function matmul(ctx: OpContext, a0: SymTensor, b0: SymTensor): SymTensor {
  const a = a0.dims.length === 1 ? { ...a0, dims: [1, a0.dims[0]] } : a0;
  const b = b0.dims.length === 1 ? { ...b0, dims: [b0.dims[0], 1] } : b0;
  const [m, k] = a.dims.slice(-2);
  const [k2, n] = b.dims.slice(-2);
  if (k !== k2) ctx.shapeError(`inner dimensions differ: [${a0.dims}] × [${b0.dims}]`);
  const batchDims =
    broadcastDims(a.dims.slice(0, -2), b.dims.slice(0, -2)) ?? ctx.shapeError(`batch dimensions [${a0.dims}] and [${b0.dims}] do not broadcast`);
  const aBatch = broadcastIndex(a.dims.slice(0, -2), batchDims);
  const bBatch = broadcastIndex(b.dims.slice(0, -2), batchDims);
  const aConst = a.data.every(isConstant);
  const bConst = b.data.every(isConstant);
  const out: Affine[] = [];
  const pairs: [Affine[], Affine[]] = [[], []];
  for (let p = 0; p < sizeOf(batchDims); p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const terms: [Affine, number][] = [];
        if (!aConst && !bConst) spend(k);
        for (let t = 0; t < k; t++) {
          const x = at2(a, aBatch[p], i, t);
          const y = at2(b, bBatch[p], t, j);
          if (bConst) terms.push([x, y.bias]);
          else if (aConst) terms.push([y, x.bias]);
          else {
            pairs[0].push(x);
            pairs[1].push(y);
          }
        }
        out.push(combine(terms));
      }
    }
  }
  const data =
    bConst || aConst
      ? out
      : addProducts(
          ctx,
          out,
          pairs,
          out.map(() => k),
        );
  const dims = [...batchDims, ...(a0.dims.length === 1 ? [] : [m]), ...(b0.dims.length === 1 ? [] : [n])];
  return { dims, dtype: a.dtype, data };
}

const transpose2 = (t: SymTensor): SymTensor => {
  const [r, c] = t.dims;
  return { ...t, dims: [c, r], data: Array.from({ length: r * c }, (_, i) => t.data[(i % r) * c + Math.floor(i / r)]) };
};

function gemm(ctx: OpContext): SymTensor[] {
  let a = ctx.input(0);
  let b = ctx.input(1);
  if (a.dims.length !== 2 || b.dims.length !== 2) ctx.shapeError(`Gemm takes matrices, got [${a.dims}] and [${b.dims}]`);
  if (ctx.int('transA', 0)) a = transpose2(a);
  if (ctx.int('transB', 0)) b = transpose2(b);
  const alpha = ctx.float('alpha', 1);
  const beta = ctx.float('beta', 1);
  const y = matmul(ctx, a, b);
  const c = ctx.optional(2);
  if (!c) return [{ ...y, data: y.data.map((v) => combine([[v, alpha]])) }];
  const ci = broadcastIndex(c.dims, y.dims);
  return [
    {
      ...y,
      data: y.data.map((v, i) =>
        combine([
          [v, alpha],
          [c.data[ci[i]], beta],
        ]),
      ),
    },
  ];
}

/** What Conv and ConvTranspose read alike: input, kernel, optional bias, groups. */
function convOperands(ctx: OpContext, kernel: 'constant' | 'any') {
  const x = ctx.input(0);
  const w = ctx.input(1);
  if (kernel === 'constant' && !w.data.every(isConstant)) ctx.fail('the kernel must be a constant');
  const [batch, channels] = x.dims;
  return { x, w, bias: ctx.optional(2), group: ctx.int('group', 1), batch, channels };
}

/**
 * 1-D and 2-D convolution with strides, pads, dilations and groups. A constant kernel folds into
 * one affine form per output; a computed one (private weights) costs one product per kernel tap used.
 */
function conv(ctx: OpContext): SymTensor[] {
  const { x, w, bias, group, batch, channels } = convOperands(ctx, 'any');
  const [filters, perGroup] = w.dims;
  if (channels !== perGroup * group) ctx.shapeError(`input has ${channels} channels, kernel expects ${perGroup * group}`);
  const geo = spatialGeometry(ctx, x.dims.slice(2), w.dims.slice(2));
  const xStrides = strides(x.dims);
  const wStrides = strides(w.dims);
  const outPositions = sizeOf(geo.outDims);
  const kernelConst = w.data.every(isConstant);
  const linear: Affine[] = [];
  const pairs: [Affine[], Affine[]] = [[], []];
  const tapCounts: number[] = [];
  for (let nb = 0; nb < batch; nb++) {
    for (let f = 0; f < filters; f++) {
      const g = Math.floor(f / (filters / group));
      for (let pos = 0; pos < outPositions; pos++) {
        const terms: [Affine, number][] = bias ? [[bias.data[f], 1]] : [];
        let taps = 0;
        for (let c = 0; c < perGroup; c++) {
          const base = nb * xStrides[0] + (g * perGroup + c) * xStrides[1];
          geo.window(pos, (inOffset, kernelOffset) => {
            const weight = w.data[f * wStrides[0] + c * wStrides[1] + kernelOffset];
            if (!kernelConst) {
              spend(1);
              pairs[0].push(x.data[base + inOffset]);
              pairs[1].push(weight);
              taps++;
            } else if (weight.bias !== 0) terms.push([x.data[base + inOffset], weight.bias]);
          });
        }
        linear.push(combine(terms));
        tapCounts.push(taps);
      }
    }
  }
  const data = kernelConst ? linear : addProducts(ctx, linear, pairs, tapCounts);
  return [{ dims: [batch, filters, ...geo.outDims], dtype: x.dtype, data }];
}

/** Each linear part plus its run of products: the pairs are multiplied in one product group. */
function addProducts(ctx: OpContext, linear: readonly Affine[], [xs, ys]: [Affine[], Affine[]], counts: readonly number[]): Affine[] {
  const products = ctx.builder.product(xs, ys, ctx.origin);
  let at = 0;
  return linear.map((l, i) => combine([[l, 1], ...products.slice(at, (at += counts[i])).map((p) => [p, 1] as const)]));
}

/** y = γ(x − μ)/√(σ² + ε) + β per channel: an affine map that folds into the layer before it. */
function batchNorm(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constInput(i, 'batch-norm statistics'));
  const eps = ctx.float('epsilon', 1e-5);
  const channels = x.dims[1] ?? 1;
  const inner = sizeOf(x.dims.slice(2));
  return [
    {
      ...x,
      data: x.data.map((v, i) => {
        const c = Math.floor(i / inner) % channels;
        const s = gamma[c] / Math.sqrt(variance[c] + eps);
        return combine([[v, s]], beta[c] - mean[c] * s);
      }),
    },
  ];
}

/**
 * ConvTranspose with a constant kernel: every input tap scatters into the outputs it reaches, so
 * each output is one affine form (no constraints). Strides, pads, dilations, groups,
 * output_padding, output_shape and auto_pad as in ONNX.
 */
function convTranspose(ctx: OpContext): SymTensor[] {
  const { x, w, bias, group, batch, channels } = convOperands(ctx, 'constant');
  const inDims = x.dims.slice(2);
  const kDims = w.dims.slice(2);
  const rank = inDims.length;
  const perGroupOut = w.dims[1];
  const filters = perGroupOut * group;
  if (w.dims[0] !== channels) ctx.shapeError(`input has ${channels} channels, kernel expects ${w.dims[0]}`);
  const ones = inDims.map(() => 1);
  const stride = ctx.ints('strides', ones);
  const dilation = ctx.ints('dilations', ones);
  const outPad = ctx.ints(
    'output_padding',
    inDims.map(() => 0),
  );
  const span = kDims.map((k, i) => (k - 1) * dilation[i] + 1);
  const full = inDims.map((n, i) => stride[i] * (n - 1) + outPad[i] + span[i]);
  let pads = ctx.ints(
    'pads',
    [...inDims, ...inDims].map(() => 0),
  );
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) ctx.fail(`auto_pad ${autoPad}`);
  const outputShape = ctx.ints('output_shape', []);
  let outDims: number[];
  if (outputShape.length || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    outDims = outputShape.length ? outputShape.slice(-rank) : inDims.map((n, i) => n * stride[i]);
    const total = full.map((f, i) => Math.max(0, f - outDims[i]));
    const upper = autoPad !== 'SAME_LOWER';
    pads = [...total.map((t) => (upper ? Math.floor(t / 2) : t - Math.floor(t / 2))), ...total.map((t) => (upper ? t - Math.floor(t / 2) : Math.floor(t / 2)))];
  } else {
    if (autoPad === 'VALID') pads = pads.map(() => 0);
    outDims = full.map((f, i) => f - pads[i] - pads[rank + i]);
  }
  if (outDims.some((d) => d <= 0)) ctx.shapeError(`output [${outDims}] is empty`);
  const outSize = sizeOf(outDims);
  const outStrides = strides(outDims);
  const inSize = sizeOf(inDims);
  const inStrides = strides(inDims);
  const kSize = sizeOf(kDims);
  const kStrides = strides(kDims);
  const wStrides = strides(w.dims);
  const data: Affine[] = [];
  for (let nb = 0; nb < batch; nb++) {
    for (let m = 0; m < filters; m++) {
      const g = Math.floor(m / perGroupOut);
      const perGroupIn = channels / group;
      const terms: [Affine, number][][] = Array.from({ length: outSize }, () => []);
      for (let c = g * perGroupIn; c < (g + 1) * perGroupIn; c++) {
        for (let i = 0; i < inSize; i++) {
          const xv = x.data[(nb * channels + c) * inSize + i];
          for (let k = 0; k < kSize; k++) {
            const coef = w.data[c * wStrides[0] + (m - g * perGroupOut) * wStrides[1] + k].bias;
            if (coef === 0) continue;
            let o = 0;
            let inside = true;
            for (let d = 0; d < rank && inside; d++) {
              const pos = (Math.floor(i / inStrides[d]) % inDims[d]) * stride[d] + (Math.floor(k / kStrides[d]) % kDims[d]) * dilation[d] - pads[d];
              inside = pos >= 0 && pos < outDims[d];
              o += pos * outStrides[d];
            }
            if (inside) terms[o].push([xv, coef]);
          }
        }
      }
      for (const t of terms) data.push(combine(t, bias ? bias.data[m].bias : 0));
    }
  }
  return [{ dims: [batch, filters, ...outDims], dtype: x.dtype, data }];
}

/**
 * Input slots of these ops that are weights (may be private wires; see weightInitializers in trace.ts).
 * ConvTranspose kernels and BatchNormalization statistics must be known when compiling: none.
 */
export const linearWeightSlots: Record<string, readonly number[]> = { MatMul: [0, 1], Gemm: [0, 1, 2], Conv: [1, 2] };

export const linearOps: Record<string, OpImpl> = {
  ConvTranspose: convTranspose,
  MatMul: (ctx) => [matmul(ctx, ctx.input(0), ctx.input(1))],
  Gemm: gemm,
  Conv: conv,
  BatchNormalization: batchNorm,
};
