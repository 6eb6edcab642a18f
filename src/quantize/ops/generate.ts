import type { DType } from '../../onnx/graph.js';
import { dtypeOfElemType, sizeOf } from '../../onnx/graph.js';
import { constant, isConstant } from '../affine.js';
import { strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';

/**
 * Ops that make tensors from shapes and constants (Range, EyeLike, NonZero of a constant) fold at
 * compile time, whatever the model feeds them, as long as it is known then; Trilu is a mask by
 * position, so it is an index map on any input (a computed one too). Semantics from the ONNX docs.
 */

/** ONNX TensorProto element types → our dtypes (EyeLike's `dtype`). */
const dtypeOf = (ctx: OpContext, code: number): DType => dtypeOfElemType(code) ?? ctx.fail(`dtype ${code}`);

/** Range(start, limit, delta): start + i·delta for i < max(⌈(limit − start)/delta⌉, 0). */
function range(ctx: OpContext): SymTensor[] {
  const [start] = ctx.constInput(0, 'start');
  const [limit] = ctx.constInput(1, 'limit');
  const [delta] = ctx.constInput(2, 'delta');
  if (delta === 0) ctx.fail('delta 0');
  const dtype = ctx.input(0).dtype;
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const at = (i: number) => (dtype === 'float' ? Math.fround(start + i * delta) : start + i * delta);
  return [{ dims: [n], dtype, data: Array.from({ length: n }, (_, i) => constant(at(i))) }];
}

/** Trilu: keeps j − i ≥ k (upper) or j − i ≤ k (lower) of the last two axes, zeros elsewhere. */
function trilu(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  if (x.dims.length < 2) ctx.shapeError(`Trilu needs a rank of at least 2, got [${x.dims}]`);
  const k = ctx.optional(1) ? ctx.constInput(1, 'k')[0] : 0;
  const upper = ctx.int('upper', 1) === 1;
  const [rows, cols] = x.dims.slice(-2);
  const zero = constant(0);
  return [
    {
      ...x,
      data: x.data.map((v, flat) => {
        const i = Math.floor(flat / cols) % rows;
        const j = flat % cols;
        return (upper ? j - i >= k : j - i <= k) ? v : zero;
      }),
    },
  ];
}

/** EyeLike: ones on the k-th diagonal of a 2-D shape, in `dtype` (default: the input's). */
function eyeLike(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  if (x.dims.length !== 2) ctx.shapeError(`EyeLike needs a 2-D input, got [${x.dims}]`);
  const k = ctx.int('k', 0);
  const code = ctx.attr('dtype');
  const dtype = typeof code === 'number' ? dtypeOf(ctx, code) : x.dtype;
  const [, cols] = x.dims;
  return [{ dims: x.dims, dtype, data: Array.from({ length: sizeOf(x.dims) }, (_, f) => constant((f % cols) - Math.floor(f / cols) === k ? 1 : 0)) }];
}

/** NonZero of a constant: the coordinates of its nonzero elements, [rank, count], row-major order. */
function nonZero(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  if (!x.data.every(isConstant)) ctx.fail("the input must be a constant (the output shape would depend on the model's inputs)");
  const st = strides(x.dims);
  const hits = x.data.flatMap((v, f) => (v.bias !== 0 ? [f] : []));
  const data = x.dims.flatMap((d, axis) => hits.map((f) => constant(Math.floor(f / st[axis]) % d)));
  return [{ dims: [x.dims.length, hits.length], dtype: 'int', data }];
}

export const generateOps: Record<string, OpImpl> = {
  Range: range,
  Trilu: trilu,
  EyeLike: eyeLike,
  NonZero: nonZero,
};
