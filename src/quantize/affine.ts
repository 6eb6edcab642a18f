/**
 * Affine forms: how the tracer represents every tensor element. A form is `bias + Σ coef·wire` in real
 * units, where a wire is an integer circuit signal (a graph input or a gadget's output) with a known
 * fixed-point scale. Linear ops (Gemm, Conv, BatchNorm, Add, Pad, Reshape, …) only combine forms, so
 * chains of them fold into one form per element and cost no constraints; coefficients stay in float
 * until a gadget quantizes its input, so folding never compounds rounding.
 */
import { ZkError } from '../core/errors.js';

export interface Affine {
  readonly bias: number;
  /** wire id → coefficient. Never mutated after construction. */
  readonly terms: ReadonlyMap<number, number>;
}

const NO_TERMS: ReadonlyMap<number, number> = new Map();

export const constant = (value: number): Affine => ({ bias: value, terms: NO_TERMS });
export const wireForm = (wire: number): Affine => ({ bias: 0, terms: new Map([[wire, 1]]) });
export const isConstant = (a: Affine): boolean => a.terms.size === 0;

/**
 * The work one run of an op may do, in terms combined and product pairs gathered: what tracing
 * allocates grows with it, not with the tensors' sizes (a 114-byte MatMul of an input [256, 256]
 * by itself asked for 16.7 M products and took the compile worker to 4.5 GB and out of memory). The
 * tracer sets it for each run of an op (withWorkLimit); `spend` refuses (TOO_LARGE) before the work.
 */
let workLeft = Number.POSITIVE_INFINITY;

/** Runs `run` (one op) with at most `limit` units of work (see spend); the enclosing limit is restored after. */
export function withWorkLimit<T>(limit: number, run: () => T): T {
  const outer = workLeft;
  workLeft = limit;
  try {
    return run();
  } finally {
    workLeft = outer;
  }
}

/** Counts `units` of the current op's work (terms about to be combined, pairs about to be gathered); TOO_LARGE past its limit. */
export function spend(units: number): void {
  workLeft -= units;
  if (workLeft < 0) {
    throw new ZkError('TOO_LARGE', 'it needs more terms or products than one op may have (the model is too large to compile)', { opWork: true });
  }
}

/** Whether `e` is spend's refusal (the op's work limit), as opposed to any other TOO_LARGE. */
export const isWorkLimit = (e: unknown): boolean => e instanceof ZkError && e.code === 'TOO_LARGE' && e.details?.opWork === true;

/** Σ coef_i · form_i + bias, accumulated into one map: the hot path of dense layers and convolutions. */
export function combine(parts: ReadonlyArray<readonly [Affine, number]>, bias = 0): Affine {
  let work = 0;
  for (const [form] of parts) work += form.terms.size;
  spend(work);
  const terms = new Map<number, number>();
  let b = bias;
  for (const [form, c] of parts) {
    if (c === 0) continue;
    b += form.bias * c;
    for (const [w, k] of form.terms) terms.set(w, (terms.get(w) ?? 0) + k * c);
  }
  for (const [w, k] of terms) if (k === 0) terms.delete(w);
  return { bias: b, terms: terms.size ? terms : NO_TERMS };
}

export const add = (a: Affine, b: Affine): Affine =>
  combine([
    [a, 1],
    [b, 1],
  ]);
export const sub = (a: Affine, b: Affine): Affine =>
  combine([
    [a, 1],
    [b, -1],
  ]);
export const scale = (a: Affine, c: number): Affine => combine([[a, c]]);
export const shift = (a: Affine, c: number): Affine => ({ bias: a.bias + c, terms: a.terms });
