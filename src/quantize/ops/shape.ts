import { boundedSize, sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, constant, isConstant } from '../affine.js';
import { broadcastDims, broadcastIndex, fromConst, normalizeAxis, strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { oneHots, select } from './select.js';

/** Every data-movement op is a map from output positions to input positions (−1: a constant fill). */
function pick(t: SymTensor, dims: number[], source: ArrayLike<number>, fill = 0): SymTensor {
  const filler = constant(fill);
  return { dims, dtype: t.dtype, data: Array.from(source, (i) => (i < 0 ? filler : t.data[i])) };
}

/** The element count of an output shape computed from constants, refused (TOO_LARGE) before it is allocated. */
export const outputSize = (ctx: OpContext, dims: readonly number[]): number => boundedSize(dims, `node ${ctx.node.name} (${ctx.node.opType}) output`);

/** Calls f with the coordinates of every element of `dims`, in row-major order. */
function forEachIndex(dims: readonly number[], f: (coord: number[], flat: number) => void): void {
  const coord = new Array<number>(dims.length).fill(0);
  const n = sizeOf(dims);
  for (let flat = 0; flat < n; flat++) {
    f(coord, flat);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++coord[d] < dims[d]) break;
      coord[d] = 0;
    }
  }
}

const withDims = (ctx: OpContext, t: SymTensor, dims: number[]): SymTensor => {
  if (sizeOf(dims) !== t.data.length || dims.some((d) => !Number.isInteger(d) || d < 0)) ctx.shapeError(`cannot reshape [${t.dims}] to [${dims}]`);
  return { ...t, dims };
};

function reshape(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const target = ctx.opset < 5 ? ctx.ints('shape', []) : ctx.constInput(1, 'the target shape');
  const allowZero = ctx.int('allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return [
    withDims(
      ctx,
      x,
      dims.map((d) => (d === -1 ? x.data.length / known : d)),
    ),
  ];
}

function flatten(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.int('axis', 1), x.dims.length);
  return [withDims(ctx, x, [sizeOf(x.dims.slice(0, axis)), sizeOf(x.dims.slice(axis))])];
}

const axesOf = (ctx: OpContext, inputIndex: number, rank: number): number[] | undefined => {
  const raw = ctx.opset >= 13 && ctx.optional(inputIndex) ? ctx.constInput(inputIndex, 'axes') : (ctx.attr('axes') as number[] | undefined);
  return raw?.map((a) => normalizeAxis(a, rank));
};

function squeeze(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axes = axesOf(ctx, 1, x.dims.length) ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  return [
    withDims(
      ctx,
      x,
      x.dims.filter((_, i) => !axes.includes(i)),
    ),
  ];
}

function unsqueeze(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const rank = x.dims.length + (axesOf(ctx, 1, 1 << 20)?.length ?? 0);
  const axes = axesOf(ctx, 1, rank) ?? ctx.fail('axes are required');
  const dims: number[] = [];
  for (let i = 0, j = 0; i < rank; i++) dims.push(axes.includes(i) ? 1 : x.dims[j++]);
  return [withDims(ctx, x, dims)];
}

function transpose(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const perm = ctx.ints(
    'perm',
    x.dims.map((_, i) => x.dims.length - 1 - i),
  );
  const dims = perm.map((p) => x.dims[p]);
  const inStrides = strides(x.dims);
  const source = new Int32Array(x.data.length);
  forEachIndex(dims, (c, flat) => (source[flat] = c.reduce((s, v, d) => s + v * inStrides[perm[d]], 0)));
  return [pick(x, dims, source)];
}

function concat(ctx: OpContext): SymTensor[] {
  const parts = Array.from({ length: ctx.inputCount }, (_, i) => ctx.input(i)).filter((t) => t.data.length > 0 || t.dims.length > 0);
  const rank = parts[0].dims.length;
  const axis = normalizeAxis(ctx.int('axis', 0), rank);
  const outer = sizeOf(parts[0].dims.slice(0, axis));
  for (const p of parts) {
    if (p.dims.length !== rank || p.dims.some((d, i) => i !== axis && d !== parts[0].dims[i]))
      ctx.shapeError(`cannot concatenate [${p.dims}] with [${parts[0].dims}] on axis ${axis}`);
  }
  const data: Affine[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = p.data.length / outer;
      for (let i = 0; i < chunk; i++) data.push(p.data[o * chunk + i]);
    }
  }
  const dims = [...parts[0].dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
  return [{ dims, dtype: parts[0].dtype, data }];
}

function slice(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const rank = x.dims.length;
  const fromInputs = ctx.opset >= 10;
  const starts = fromInputs ? ctx.constInput(1, 'starts') : ctx.ints('starts', []);
  const ends = fromInputs ? ctx.constInput(2, 'ends') : ctx.ints('ends', []);
  const axes = (fromInputs && ctx.optional(3) ? ctx.constInput(3, 'axes') : (ctx.attr('axes') as number[] | undefined)) ?? starts.map((_, i) => i);
  const steps = fromInputs && ctx.optional(4) ? ctx.constInput(4, 'steps') : starts.map(() => 1);
  const begin = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const dims = [...x.dims];
  axes.forEach((a, i) => {
    const axis = normalizeAxis(a, rank);
    const n = x.dims[axis];
    const s = steps[i];
    if (s === 0) ctx.fail('a step of 0');
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
    const b = s > 0 ? clamp(starts[i], 0, n) : clamp(starts[i], 0, n - 1);
    const e = s > 0 ? clamp(ends[i], 0, n) : clamp(ends[i], -1, n - 1);
    begin[axis] = b;
    step[axis] = s;
    dims[axis] = Math.max(0, Math.ceil((e - b) / s));
  });
  const inStrides = strides(x.dims);
  const source = new Int32Array(outputSize(ctx, dims));
  forEachIndex(dims, (c, flat) => (source[flat] = c.reduce((acc, v, d) => acc + (begin[d] + v * step[d]) * inStrides[d], 0)));
  return [pick(x, dims, source)];
}

/** Zero (or constant) padding, and edge/reflect padding: all pure index maps. */
export function pad(ctx: OpContext, x: SymTensor, pads: number[], mode: string, value: number): SymTensor {
  const rank = x.dims.length;
  const before = pads.slice(0, rank);
  const dims = x.dims.map((d, i) => d + before[i] + pads[rank + i]);
  const inStrides = strides(x.dims);
  const source = new Int32Array(outputSize(ctx, dims));
  forEachIndex(dims, (c, flat) => {
    let src = 0;
    for (let d = 0; d < rank; d++) {
      let v = c[d] - before[d];
      const n = x.dims[d];
      if (v < 0 || v >= n) {
        if (mode === 'constant') return void (source[flat] = -1);
        v = mode === 'edge' ? Math.min(Math.max(v, 0), n - 1) : mode === 'wrap' ? ((v % n) + n) % n : v < 0 ? -v : 2 * (n - 1) - v;
        if (v < 0 || v >= n) ctx.fail(`reflect padding wider than the axis`);
      }
      src += v * inStrides[d];
    }
    source[flat] = src;
  });
  return pick(x, dims, source, value);
}

function padOp(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const mode = ctx.string('mode', 'constant');
  if (!['constant', 'edge', 'reflect', 'wrap'].includes(mode)) ctx.fail(`pad mode ${mode}`);
  if (ctx.opset < 11) return [pad(ctx, x, ctx.ints('pads', []), mode, ctx.float('value', 0))];
  const raw = ctx.constInput(1, 'pads');
  const value = ctx.optional(2) ? ctx.constInput(2, 'the pad value')[0] : 0;
  const axes = ctx.optional(3) ? ctx.constInput(3, 'axes').map((a) => normalizeAxis(a, x.dims.length)) : x.dims.map((_, i) => i);
  const full = new Array<number>(2 * x.dims.length).fill(0);
  axes.forEach((a, i) => {
    full[a] = raw[i];
    full[x.dims.length + a] = raw[axes.length + i];
  });
  if (full.some((p) => p < 0)) ctx.fail('negative pads');
  return [pad(ctx, x, full, mode, value)];
}

/** Gather along an axis; computed indices select by one-hot indicators (see select.ts). */
function gather(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const indices = ctx.input(1);
  const axis = normalizeAxis(ctx.int('axis', 0), x.dims.length);
  const n = x.dims[axis];
  const outer = sizeOf(x.dims.slice(0, axis));
  const inner = sizeOf(x.dims.slice(axis + 1));
  const dims = [...x.dims.slice(0, axis), ...indices.dims, ...x.dims.slice(axis + 1)];
  if (!indices.data.every(isConstant)) {
    const hot = oneHots(ctx, indices.data, n, true);
    const rows: Affine[][] = [];
    const at: [number, number][] = [];
    for (let o = 0; o < outer; o++) for (const h of hot) for (let i = 0; i < inner; i++) rows.push(h), at.push([o, i]);
    return [{ dims, dtype: x.dtype, data: select(ctx, rows, (r, k) => x.data[(at[r][0] * n + k) * inner + at[r][1]]) }];
  }
  const source: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const { bias: raw } of indices.data) {
      const k = raw < 0 ? raw + n : raw;
      if (k < 0 || k >= n) ctx.shapeError(`index ${raw} out of range for an axis of ${n}`);
      for (let i = 0; i < inner; i++) source.push((o * n + k) * inner + i);
    }
  }
  return [pick(x, dims, source)];
}

/** For each element of `dims` (same rank as the data), the data's flat index with the axis coordinate replaced by k. */
function elementAt(dataDims: readonly number[], idxDims: readonly number[], axis: number): (flat: number, k: number) => number {
  const ds = strides(dataDims);
  const is = strides(idxDims);
  return (flat, k) => {
    let src = 0;
    for (let d = 0; d < idxDims.length; d++) src += (d === axis ? k : Math.floor(flat / is[d]) % idxDims[d]) * ds[d];
    return src;
  };
}

/** GatherElements: out[i] = data[i with the axis coordinate replaced by indices[i]]. */
function gatherElements(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const indices = ctx.input(1);
  if (indices.dims.length !== x.dims.length) ctx.shapeError(`indices [${indices.dims}] and data [${x.dims}] differ in rank`);
  const axis = normalizeAxis(ctx.int('axis', 0), x.dims.length);
  const n = x.dims[axis];
  const at = elementAt(x.dims, indices.dims, axis);
  if (indices.data.every(isConstant)) {
    return [
      pick(
        x,
        indices.dims,
        indices.data.map((v, flat) => {
          const k = v.bias < 0 ? v.bias + n : v.bias;
          if (k < 0 || k >= n) ctx.shapeError(`index ${v.bias} out of range for an axis of ${n}`);
          return at(flat, k);
        }),
      ),
    ];
  }
  const hot = oneHots(ctx, indices.data, n, true);
  return [{ dims: indices.dims, dtype: x.dtype, data: select(ctx, hot, (flat, k) => x.data[at(flat, k)]) }];
}

/**
 * ScatterElements (reduction none or add): out = data with updates written at the indexed positions.
 * Computed indices: each output element takes data·(1 − Σ hits) + Σ hit·update over the updates that
 * can reach it (indices must not repeat, as ONNX requires for `none`).
 */
function scatterElements(ctx: OpContext): SymTensor[] {
  const [x, indices, updates] = [ctx.input(0), ctx.input(1), ctx.input(2)];
  const axis = normalizeAxis(ctx.int('axis', 0), x.dims.length);
  const reduction = ctx.string('reduction', 'none');
  if (reduction !== 'none' && reduction !== 'add') ctx.fail(`reduction ${reduction}`);
  const n = x.dims[axis];
  const at = elementAt(x.dims, indices.dims, axis);
  const out = [...x.data];
  if (indices.data.every(isConstant)) {
    indices.data.forEach((v, u) => {
      const k = v.bias < 0 ? v.bias + n : v.bias;
      if (k < 0 || k >= n) ctx.shapeError(`index ${v.bias} out of range for an axis of ${n}`);
      const t = at(u, k);
      out[t] =
        reduction === 'add'
          ? combine([
              [out[t], 1],
              [updates.data[u], 1],
            ])
          : updates.data[u];
    });
    return [{ dims: x.dims, dtype: x.dtype, data: out }];
  }
  const hot = oneHots(ctx, indices.data, n, true);
  // Per output element: the (update, indicator) pairs that may write it.
  const hits: [number, Affine][][] = x.data.map(() => []);
  indices.data.forEach((_, u) => hot[u].forEach((h, k) => hits[at(u, k)].push([u, h])));
  const hitSums = hits.map((hs) => combine(hs.map(([, h]) => [h, 1] as const)));
  const keep =
    reduction === 'add'
      ? x.data
      : ctx.builder.product(x.data, hitSums, ctx.origin, { rescale: false }).map((p, e) =>
          combine([
            [x.data[e], 1],
            [p, -1],
          ]),
        );
  const pairs = hits.flatMap((hs, e) => hs.map(([u, h]) => [e, u, h] as const));
  const written = ctx.builder.product(
    pairs.map(([, , h]) => h),
    pairs.map(([, u]) => updates.data[u]),
    ctx.origin,
    { rescale: false },
  );
  const terms: [Affine, number][][] = keep.map((k) => [[k, 1]]);
  pairs.forEach(([e], i) => terms[e].push([written[i], 1]));
  return [{ dims: x.dims, dtype: x.dtype, data: terms.map((t) => combine(t)) }];
}

/** OneHot(indices, depth, values): off + (on − off)·[index = k]; indices out of range give all off, as in ONNX. */
function oneHotOp(ctx: OpContext): SymTensor[] {
  const indices = ctx.input(0);
  const depth = ctx.constInput(1, 'depth')[0];
  const [off, on] = ctx.constInput(2, 'values');
  const rank = indices.dims.length + 1;
  const axis = normalizeAxis(ctx.int('axis', -1), rank);
  const hot = oneHots(ctx, indices.data, depth, false);
  const dims = [...indices.dims.slice(0, axis), depth, ...indices.dims.slice(axis)];
  const idxStrides = strides(indices.dims);
  const data: Affine[] = [];
  forEachIndex(dims, (c) => {
    const at = c.filter((_, d) => d !== axis).reduce((s, v, d) => s + v * idxStrides[d], 0);
    data.push(combine([[hot[at][c[axis]], on - off]], off));
  });
  return [{ dims, dtype: ctx.input(2).dtype, data }];
}

/** Tile: repeats along every axis (constant), an index map. */
function tile(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const repeats = ctx.constInput(1, 'repeats');
  if (repeats.length !== x.dims.length) ctx.shapeError(`repeats [${repeats}] do not match rank ${x.dims.length}`);
  const dims = x.dims.map((d, i) => d * repeats[i]);
  const inStrides = strides(x.dims);
  const source = new Int32Array(outputSize(ctx, dims));
  forEachIndex(dims, (c, flat) => (source[flat] = c.reduce((s, v, d) => s + (v % x.dims[d]) * inStrides[d], 0)));
  return [pick(x, dims, source)];
}

function expand(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const dims = broadcastDims(x.dims, ctx.constInput(1, 'the shape')) ?? ctx.shapeError(`cannot expand [${x.dims}]`);
  outputSize(ctx, dims);
  return [pick(x, dims, broadcastIndex(x.dims, dims))];
}

function split(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.int('axis', 0), x.dims.length);
  const count = ctx.node.outputs.length;
  const sizes = ctx.opset >= 13 && ctx.optional(1) ? ctx.constInput(1, 'split') : ctx.ints('split', []);
  const even = Math.ceil(x.dims[axis] / count);
  const parts = sizes.length ? sizes : Array.from({ length: count }, (_, i) => Math.min(even, x.dims[axis] - i * even));
  let start = 0;
  return parts.map((len) => {
    const dims = [...x.dims];
    dims[axis] = len;
    const inStrides = strides(x.dims);
    const source = new Int32Array(outputSize(ctx, dims));
    const from = start;
    forEachIndex(dims, (c, flat) => (source[flat] = c.reduce((s, v, d) => s + (d === axis ? v + from : v) * inStrides[d], 0)));
    start += len;
    return pick(x, dims, source);
  });
}

const constTensor = (dims: number[], values: number[], dtype: SymTensor['dtype'] = 'int'): SymTensor => ({
  dims,
  dtype,
  data: values.map((v) => constant(v)),
});

export const shapeOps: Record<string, OpImpl> = {
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Slice: slice,
  Pad: padOp,
  Gather: gather,
  GatherElements: gatherElements,
  ScatterElements: scatterElements,
  Scatter: scatterElements,
  OneHot: oneHotOp,
  Tile: tile,
  Expand: expand,
  Split: split,
  Shape: (ctx) => {
    // start/end (opset 15) slice the dims as Python does: negative counts from the back, clamped.
    const dims = ctx.input(0).dims;
    const clamp = (v: number) => Math.min(dims.length, Math.max(0, v < 0 ? v + dims.length : v));
    const kept = dims.slice(clamp(ctx.int('start', 0)), clamp(ctx.int('end', dims.length)));
    return [constTensor([kept.length], kept)];
  },
  Size: (ctx) => [constTensor([], [ctx.input(0).data.length])],
  Constant: (ctx) => {
    const t = ctx.attr('value');
    if (t && typeof t === 'object' && !Array.isArray(t)) return [fromConst(t)];
    const f = ctx.attr('value_float') ?? ctx.attr('value_int');
    if (typeof f === 'number') return [constTensor([], [f], ctx.attr('value_float') !== undefined ? 'float' : 'int')];
    const fs = ctx.attr('value_floats') ?? ctx.attr('value_ints');
    if (Array.isArray(fs)) return [constTensor([fs.length], fs as number[], ctx.attr('value_floats') !== undefined ? 'float' : 'int')];
    return ctx.fail('a Constant without a value this compiler reads');
  },
  ConstantOfShape: (ctx) => {
    const dims = ctx.constInput(0, 'the shape');
    const v = ctx.attr('value');
    const fill = v && typeof v === 'object' && !Array.isArray(v) ? fromConst(v) : constTensor([1], [0], 'float');
    return [{ dims, dtype: fill.dtype, data: new Array(outputSize(ctx, dims)).fill(fill.data[0]) }];
  },
};
