import { sizeOf } from '../../onnx/graph.js';
import { strides } from '../tensor.js';
import type { OpContext } from './context.js';

/** The sliding-window arithmetic shared by Conv and the pools (any number of spatial axes). */
export interface Geometry {
  outDims: number[];
  kernelSize: number;
  /** Taps of output position `pos` inside the padded input (AveragePool's count_include_pad divisor). */
  paddedCount(pos: number): number;
  /** Visits the in-bounds taps of output position `pos`: offset within one input channel, offset within the kernel. */
  window(pos: number, visit: (inOffset: number, kernelOffset: number) => void): void;
}

export function spatialGeometry(ctx: OpContext, inDims: number[], kernelDims: number[]): Geometry {
  const rank = inDims.length;
  const ones = inDims.map(() => 1);
  const stride = ctx.ints('strides', ones);
  const dilation = ctx.ints('dilations', ones);
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  const ceilMode = ctx.int('ceil_mode', 0) === 1;
  let pads = ctx.ints(
    'pads',
    [...ones, ...ones].map(() => 0),
  );
  const span = kernelDims.map((k, i) => dilation[i] * (k - 1) + 1);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = inDims.map((n, i) => Math.max(0, (Math.ceil(n / stride[i]) - 1) * stride[i] + span[i] - n));
    const begin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    pads = [...begin, ...total.map((t, i) => t - begin[i])];
  } else if (autoPad === 'VALID') {
    pads = pads.map(() => 0);
  } else if (autoPad !== 'NOTSET') {
    ctx.fail(`auto_pad ${autoPad}`);
  }
  const outDims = inDims.map((n, i) => {
    const room = n + pads[i] + pads[rank + i] - span[i];
    if (room < 0) ctx.shapeError(`kernel [${kernelDims}] is larger than the padded input [${inDims}]`);
    let out = (ceilMode ? Math.ceil(room / stride[i]) : Math.floor(room / stride[i])) + 1;
    // A window that would start in the right padding is dropped (ONNX's ceil_mode rule).
    if (ceilMode && (out - 1) * stride[i] >= n + pads[i]) out--;
    return out;
  });
  const inStrides = strides(inDims);
  const outStrides = strides(outDims);
  const kStrides = strides(kernelDims);
  const kernelSize = sizeOf(kernelDims);
  return {
    outDims,
    kernelSize,
    paddedCount(pos) {
      // With ceil_mode the last window may run past the right padding: those taps do not count.
      const origin = outDims.map((d, i) => (Math.floor(pos / outStrides[i]) % d) * stride[i] - pads[i]);
      return kernelDims.reduce((n, k, i) => {
        let inside = 0;
        for (let t = 0; t < k; t++) {
          const c = origin[i] + t * dilation[i];
          if (c >= -pads[i] && c < inDims[i] + pads[rank + i]) inside++;
        }
        return n * inside;
      }, 1);
    },
    window(pos, visit) {
      const origin = outDims.map((d, i) => (Math.floor(pos / outStrides[i]) % d) * stride[i] - pads[i]);
      for (let k = 0; k < kernelSize; k++) {
        let offset = 0;
        let inside = true;
        for (let i = 0; i < rank && inside; i++) {
          const c = origin[i] + (Math.floor(k / kStrides[i]) % kernelDims[i]) * dilation[i];
          inside = c >= 0 && c < inDims[i];
          offset += c * inStrides[i];
        }
        if (inside) visit(offset, k);
      }
    },
  };
}
