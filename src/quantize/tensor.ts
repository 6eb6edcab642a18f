import type { ConstTensor, DType } from '../onnx/graph.js';
import { sizeOf } from '../onnx/graph.js';
import { type Affine, constant } from './affine.js';

/** A tensor of affine forms, row-major: the tracer's value for every ONNX tensor. */
export interface SymTensor {
  dims: number[];
  dtype: DType;
  data: Affine[];
  /** The ONNX element type of a constant from the model, when known (see ConstTensor). */
  elemType?: number;
}

export const fromConst = (t: ConstTensor): SymTensor => ({
  dims: [...t.dims],
  dtype: t.dtype,
  data: Array.from(t.data, (v) => constant(v)),
  ...(t.elemType !== undefined ? { elemType: t.elemType } : {}),
});

export const strides = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
};

/** Numpy broadcasting of two shapes; null when they do not broadcast. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** For each element of `outDims`, the flat index of the element of `dims` that broadcasts to it. */
export function broadcastIndex(dims: readonly number[], outDims: readonly number[]): Int32Array {
  const n = sizeOf(outDims);
  const idx = new Int32Array(n);
  const inStrides = strides(dims);
  const offset = outDims.length - dims.length;
  const outStrides = strides(outDims);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < dims.length; d++) {
      const coord = Math.floor(i / outStrides[d + offset]) % outDims[d + offset];
      src += (dims[d] === 1 ? 0 : coord) * inStrides[d];
    }
    idx[i] = src;
  }
  return idx;
}

export const normalizeAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);
