import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, isConstant } from '../affine.js';
import { normalizeAxis, strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { maxOf, minOf } from './elementwise.js';

/**
 * Data movement by constant positions (DepthToSpace, SpaceToDepth, GatherND, ScatterND) and running
 * sums (CumSum): index maps and linear forms, free in the circuit. Semantics from the ONNX docs.
 */

/** The coordinates of flat index f in dims. */
const coords = (f: number, dims: readonly number[], st: readonly number[]): number[] => dims.map((d, i) => Math.floor(f / st[i]) % d);

/** DepthToSpace (mode DCR or CRD) and SpaceToDepth (DCR, or CRD where given): [N, C, H, W] ↔ [N, C/b², H·b, W·b]. */
function depthSpace(ctx: OpContext, toSpace: boolean): SymTensor[] {
  const x = ctx.input(0);
  const b = ctx.int('blocksize', 0);
  const mode = ctx.string('mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') ctx.fail(`mode ${mode}`);
  if (x.dims.length !== 4 || b < 1) ctx.shapeError(`needs [N, C, H, W] and a blocksize, got [${x.dims}] and ${b}`);
  const [n, c, h, w] = x.dims;
  // The deep side's channel for (shallow channel ch, block row i, block column j).
  const deepChannel = (ch: number, shallow: number, i: number, j: number) => (mode === 'DCR' ? (i * b + j) * shallow + ch : ch * b * b + i * b + j);
  if (toSpace) {
    if (c % (b * b)) ctx.shapeError(`${c} channels do not split into blocks of ${b}×${b}`);
    const oc = c / (b * b);
    const dims = [n, oc, h * b, w * b];
    const st = strides(dims);
    return [
      {
        dims,
        dtype: x.dtype,
        data: Array.from({ length: sizeOf(dims) }, (_, f) => {
          const [nn, ch, y, xx] = coords(f, dims, st);
          return x.data[((nn * c + deepChannel(ch, oc, y % b, xx % b)) * h + Math.floor(y / b)) * w + Math.floor(xx / b)];
        }),
      },
    ];
  }
  if (h % b || w % b) ctx.shapeError(`[${h}, ${w}] does not split into blocks of ${b}`);
  const dims = [n, c * b * b, h / b, w / b];
  const inStrides = strides(x.dims);
  const data = new Array<Affine>(sizeOf(dims));
  for (let f = 0; f < x.data.length; f++) {
    const [nn, ch, y, xx] = coords(f, x.dims, inStrides);
    data[((nn * dims[1] + deepChannel(ch, c, y % b, xx % b)) * dims[2] + Math.floor(y / b)) * dims[3] + Math.floor(xx / b)] = x.data[f];
  }
  return [{ dims, dtype: x.dtype, data }];
}

/**
 * The constant index tuples of GatherND/ScatterND: for each of the leading indices positions (after
 * batch_dims), the flat offset into data (per batch) of the slice it selects. Negative indices count
 * from the end; out of range is a shape error.
 */
function ndOffsets(ctx: OpContext, data: SymTensor, indices: SymTensor, batchDims: number): { k: number; offsets: number[]; slice: number } {
  if (!indices.data.every(isConstant)) ctx.fail("indices computed from the model's inputs (only constant indices are supported)");
  const k = indices.dims.at(-1)!;
  if (k > data.dims.length - batchDims) ctx.shapeError(`index tuples of ${k} for data [${data.dims}] with batch_dims ${batchDims}`);
  const addressed = data.dims.slice(batchDims, batchDims + k);
  const st = strides(data.dims.slice(batchDims));
  const offsets: number[] = [];
  for (let t = 0; t < indices.data.length / k; t++) {
    let off = 0;
    for (let a = 0; a < k; a++) {
      const raw = indices.data[t * k + a].bias;
      const v = raw < 0 ? raw + addressed[a] : raw;
      if (!Number.isInteger(v) || v < 0 || v >= addressed[a]) ctx.shapeError(`index ${raw} out of range for an axis of ${addressed[a]}`);
      off += v * st[a];
    }
    offsets.push(off);
  }
  return { k, offsets, slice: sizeOf(data.dims.slice(batchDims + k)) };
}

function gatherND(ctx: OpContext): SymTensor[] {
  const [x, indices] = [ctx.input(0), ctx.input(1)];
  const batchDims = ctx.int('batch_dims', 0);
  const { k, offsets, slice } = ndOffsets(ctx, x, indices, batchDims);
  const batches = sizeOf(x.dims.slice(0, batchDims));
  const perBatchData = sizeOf(x.dims.slice(batchDims));
  const perBatchTuples = offsets.length / batches;
  const data: Affine[] = [];
  offsets.forEach((off, t) => {
    const base = Math.floor(t / perBatchTuples) * perBatchData + off;
    for (let i = 0; i < slice; i++) data.push(x.data[base + i]);
  });
  const dims = [...indices.dims.slice(0, -1), ...x.dims.slice(batchDims + k)];
  return [{ dims, dtype: x.dtype, data }];
}

/** ScatterND with reduction none, add, mul, max or min: updates written (or combined) at constant positions, in order. */
function scatterND(ctx: OpContext): SymTensor[] {
  const [x, indices, updates] = [ctx.input(0), ctx.input(1), ctx.input(2)];
  const reduction = ctx.string('reduction', 'none');
  if (!['none', 'add', 'mul', 'max', 'min'].includes(reduction)) ctx.fail(`reduction ${reduction}`);
  const { offsets, slice } = ndOffsets(ctx, x, indices, 0);
  const out = [...x.data];
  offsets.forEach((off, t) => {
    const targets = Array.from({ length: slice }, (_, i) => off + i);
    const news = targets.map((_, i) => updates.data[t * slice + i]);
    const olds = targets.map((p) => out[p]);
    const merged =
      reduction === 'none'
        ? news
        : reduction === 'add'
          ? olds.map((o, i) =>
              combine([
                [o, 1],
                [news[i], 1],
              ]),
            )
          : reduction === 'mul'
            ? ctx.builder.product(olds, news, ctx.origin)
            : (reduction === 'max' ? maxOf : minOf)(ctx, olds, news);
    targets.forEach((p, i) => (out[p] = merged[i]));
  });
  return [{ dims: x.dims, dtype: x.dtype, data: out }];
}

/** CumSum along a constant axis, with `exclusive` (the sum before each element) and `reverse`. */
function cumSum(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.constInput(1, 'axis')[0], x.dims.length);
  const exclusive = ctx.int('exclusive', 0) === 1;
  const reverse = ctx.int('reverse', 0) === 1;
  const n = x.dims[axis];
  const stride = strides(x.dims)[axis];
  const data = new Array<Affine>(x.data.length);
  for (let o = 0; o < sizeOf(x.dims.slice(0, axis)); o++) {
    for (let i = 0; i < stride; i++) {
      const at = (j: number) => o * n * stride + (reverse ? n - 1 - j : j) * stride + i;
      let acc: Affine = combine([]);
      for (let j = 0; j < n; j++) {
        const next = combine([
          [acc, 1],
          [x.data[at(j)], 1],
        ]);
        data[at(j)] = exclusive ? acc : next;
        acc = next;
      }
    }
  }
  return [{ ...x, data }];
}

export const rearrangeOps: Record<string, OpImpl> = {
  DepthToSpace: (ctx) => depthSpace(ctx, true),
  SpaceToDepth: (ctx) => depthSpace(ctx, false),
  GatherND: gatherND,
  ScatterND: scatterND,
  CumSum: cumSum,
};
