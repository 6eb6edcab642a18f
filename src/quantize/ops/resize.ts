import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine } from '../affine.js';
import { strides, type SymTensor } from '../tensor.js';
import { outputSize } from './shape.js';
import type { OpContext, OpImpl } from './context.js';

/**
 * Resize and Upsample: every output element is a fixed combination of input elements (nearest: a
 * copy; linear and cubic: constant weights per axis, multiplied across axes), so resampling is free.
 */

type Taps = Array<[number, number]>;

/** The input coordinate of output index `o` on an axis of n inputs and m outputs at scale s. */
function sourceCoordinate(mode: string, o: number, n: number, m: number, s: number, ctx: OpContext): number {
  switch (mode) {
    case 'half_pixel':
      return (o + 0.5) / s - 0.5;
    case 'pytorch_half_pixel':
      return m > 1 ? (o + 0.5) / s - 0.5 : 0;
    case 'align_corners':
      return m === 1 ? 0 : (o * (n - 1)) / (m - 1);
    case 'asymmetric':
      return o / s;
    case 'tf_half_pixel_for_nn':
      return (o + 0.5) / s;
    case 'half_pixel_symmetric': {
      const adjustment = m / (s * n);
      const center = n / 2;
      const offset = center * (1 - adjustment);
      return offset + (o + 0.5) / s - 0.5;
    }
    default:
      return ctx.fail(`coordinate_transformation_mode ${mode}`);
  }
}

function nearestIndex(x: number, mode: string, ctx: OpContext): number {
  const frac = x - Math.floor(x);
  switch (mode) {
    case 'round_prefer_floor':
      return frac === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return frac === 0.5 ? Math.ceil(x) : Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return ctx.fail(`nearest_mode ${mode}`);
  }
}

const cubicWeights = (r: number, a: number): number[] => [
  ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
  ((a + 2) * r - (a + 3)) * r * r + 1,
  ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
  ((a * (2 - r) - 5 * a) * (2 - r) + 8 * a) * (2 - r) - 4 * a,
];

interface ResizeSpec {
  mode: string;
  coordinates: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
}

/** The taps (input index, weight) of each output index along one axis. */
function axisTaps(n: number, m: number, s: number, spec: ResizeSpec, ctx: OpContext): Taps[] {
  return Array.from({ length: m }, (_, o) => {
    if (n === m && s === 1) return [[o, 1]];
    const x = sourceCoordinate(spec.coordinates, o, n, m, s, ctx);
    if (spec.mode === 'nearest') return [[Math.min(Math.max(nearestIndex(x, spec.nearest, ctx), 0), n - 1), 1]];
    const x0 = Math.floor(x);
    const r = x - x0;
    const raw: Taps =
      spec.mode === 'linear'
        ? [
            [x0, 1 - r],
            [x0 + 1, r],
          ]
        : cubicWeights(r, spec.cubicA).map((w, i) => [x0 - 1 + i, w]);
    let taps: Taps = raw;
    if (spec.excludeOutside) {
      const inside = raw.filter(([i]) => i >= 0 && i < n);
      const total = inside.reduce((t, [, w]) => t + w, 0);
      taps = inside.map(([i, w]) => [i, w / total]);
    }
    // Beyond the edges the input repeats its edge value.
    return taps.map(([i, w]) => [Math.min(Math.max(i, 0), n - 1), w]);
  });
}

function resample(ctx: OpContext, x: SymTensor, outDims: number[], scales: number[], spec: ResizeSpec): SymTensor {
  if (!['nearest', 'linear', 'cubic'].includes(spec.mode)) ctx.fail(`mode ${spec.mode}`);
  outputSize(ctx, outDims);
  const perAxis = x.dims.map((n, d) => axisTaps(n, outDims[d], scales[d], spec, ctx));
  const inStrides = strides(x.dims);
  const outStrides = strides(outDims);
  const data: Affine[] = [];
  for (let flat = 0; flat < sizeOf(outDims); flat++) {
    let taps: Taps = [[0, 1]];
    for (let d = 0; d < outDims.length; d++) {
      const o = Math.floor(flat / outStrides[d]) % outDims[d];
      taps = taps.flatMap(([i, w]) => perAxis[d][o].map(([j, v]) => [i + j * inStrides[d], w * v] as [number, number]));
    }
    data.push(combine(taps.map(([i, w]) => [x.data[i], w] as const)));
  }
  return { dims: outDims, dtype: x.dtype, data };
}

function resize(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const spec: ResizeSpec = {
    mode: ctx.string('mode', 'nearest'),
    coordinates: ctx.opset < 11 ? 'asymmetric' : ctx.string('coordinate_transformation_mode', 'half_pixel'),
    nearest: ctx.opset < 11 ? 'floor' : ctx.string('nearest_mode', 'round_prefer_floor'),
    cubicA: ctx.float('cubic_coeff_a', -0.75),
    excludeOutside: ctx.int('exclude_outside', 0) === 1,
  };
  if (ctx.int('antialias', 0) === 1) ctx.fail('antialias');
  const given = (i: number) => (ctx.optional(i) && ctx.input(i).data.length ? ctx.constInput(i, i === 3 ? 'sizes' : 'scales') : undefined);
  const scalesIn = ctx.opset < 11 ? given(1) : given(2);
  const sizes = ctx.opset < 11 ? undefined : given(3);
  if (!scalesIn && !sizes) ctx.fail('neither scales nor sizes');
  // axes (opset 18): scales or sizes name only these axes; the others keep their size.
  const rank = x.dims.length;
  const axes = ctx
    .ints(
      'axes',
      x.dims.map((_, d) => d),
    )
    .map((a) => (a < 0 ? a + rank : a));
  if ((scalesIn ?? sizes)!.length !== axes.length) ctx.shapeError(`${axes.length} axes but ${(scalesIn ?? sizes)!.length} scales or sizes`);
  const onAxes = (values: readonly number[], other: (d: number) => number) => x.dims.map((_, d) => (axes.includes(d) ? values[axes.indexOf(d)] : other(d)));
  const policy = ctx.string('keep_aspect_ratio_policy', 'stretch');
  if (!['stretch', 'not_larger', 'not_smaller'].includes(policy)) ctx.fail(`keep_aspect_ratio_policy ${policy}`);
  let outDims: number[];
  let scales: number[];
  if (sizes && policy !== 'stretch') {
    // One scale for every named axis, the smallest (not_larger) or largest (not_smaller) ratio; sizes round half up.
    const ratios = axes.map((a, k) => sizes[k] / x.dims[a]);
    const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
    scales = onAxes(
      axes.map(() => scale),
      () => 1,
    );
    outDims = x.dims.map((n, d) => (axes.includes(d) ? Math.floor(scale * n + 0.5) : n));
  } else if (sizes) {
    outDims = onAxes(sizes, (d) => x.dims[d]);
    scales = outDims.map((m, d) => m / x.dims[d]);
  } else {
    scales = onAxes(scalesIn!, () => 1);
    outDims = x.dims.map((n, d) => Math.floor(n * scales[d]));
  }
  return [resample(ctx, x, outDims, scales, spec)];
}

function upsample(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const scales = ctx.optional(1) ? ctx.constInput(1, 'scales') : ctx.ints('scales', []);
  const mode = ctx.string('mode', 'nearest');
  const spec: ResizeSpec = { mode: mode === 'bilinear' ? 'linear' : mode, coordinates: 'asymmetric', nearest: 'floor', cubicA: -0.75, excludeOutside: false };
  return [
    resample(
      ctx,
      x,
      x.dims.map((n, d) => Math.floor(n * scales[d])),
      scales,
      spec,
    ),
  ];
}

export const resizeOps: Record<string, OpImpl> = {
  Resize: resize,
  Upsample: upsample,
};
