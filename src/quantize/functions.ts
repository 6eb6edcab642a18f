import { ZkError } from '../core/errors.js';
import type { TableFunction } from './plan.js';

/**
 * The unary functions the table gadget approximates, by name. Each is a plain float function of x
 * (and the op's parameters); `limits` are its values at −∞ and +∞ when it saturates on both sides,
 * which lets a table cover only a window and return the limit outside it.
 */
export interface FunctionSpec {
  f(x: number, params: readonly number[]): number;
  limits?(params: readonly number[]): { low: number; high: number };
}

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erf(x) = (2/√π)·e^(−x²)·Σ_n 2^n·x^(2n+1)/(1·3·…·(2n+1)): every term is positive, so the sum has no
 * cancellation; it converges for every x (|x| < 6 needs under 200 terms). Beyond 6, |1 − |erf|| < 1e-17.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 400 && term > sum * 1e-17; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * Math.min(1, (2 / SQRT_PI) * Math.exp(-ax * ax) * sum);
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const elu = (x: number, alpha: number): number => (x >= 0 ? x : alpha * Math.expm1(x));

export const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  sigmoid: { f: sigmoid, limits: () => ({ low: 0, high: 1 }) },
  tanh: { f: Math.tanh, limits: () => ({ low: -1, high: 1 }) },
  erf: { f: erf, limits: () => ({ low: -1, high: 1 }) },
  exp: { f: Math.exp },
  /** exp(min(x, 0)): Softmax's exponential of x − max(x), flat above 0 where only rounding reaches. */
  expNonPositive: { f: (x) => Math.exp(Math.min(x, 0)), limits: () => ({ low: 0, high: 1 }) },
  /** log(max(x, params[0])): the floor keeps the table finite where ONNX would give −∞ or NaN. */
  log: { f: (x, [floor]) => Math.log(Math.max(x, floor)) },
  sqrt: { f: (x) => Math.sqrt(Math.max(x, 0)) },
  softplus: { f: softplus },
  softsign: { f: (x) => x / (1 + Math.abs(x)) },
  elu: { f: (x, [alpha]) => elu(x, alpha) },
  selu: { f: (x, [alpha, gamma]) => gamma * elu(x, alpha) },
  celu: { f: (x, [alpha]) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha)) },
  gelu: { f: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)) },
  geluTanh: { f: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))) },
  mish: { f: (x) => x * Math.tanh(softplus(x)) },
  /** Swish: x·σ(αx). */
  swish: { f: (x, [alpha]) => x * sigmoid(alpha * x) },
  /** params[0]/√(x + params[1]), the normalizations' n/√(n²·var + n²·ε); x below 0 (never reached) as 0. */
  rsqrt: { f: (x, [k, offset]) => k / Math.sqrt(Math.max(x, 0) + offset) },
  /** x^p: any real p on x ≥ 0 (x below params[1] taken as params[1] where p < 0); whole p keep the sign rule. */
  pow: {
    f: (x, [p, floor]) => {
      const odd = Number.isInteger(p) && Math.abs(p) % 2 === 1;
      const sign = Number.isInteger(p) && x < 0 ? (odd ? -1 : 1) : 1;
      let m = Number.isInteger(p) ? Math.abs(x) : Math.max(x, 0);
      if (p < 0) m = Math.max(m, floor);
      return sign * m ** p;
    },
  },
  sin: { f: Math.sin },
  cos: { f: Math.cos },
  atan: { f: Math.atan },
  /** tan, asin, acos: finite stand-ins where the function is not (poles, |x| > 1) keep the table finite. */
  tan: { f: (x) => Math.max(-1e6, Math.min(1e6, Math.tan(x))) },
  asin: { f: (x) => Math.asin(Math.max(-1, Math.min(1, x))) },
  acos: { f: (x) => Math.acos(Math.max(-1, Math.min(1, x))) },
  sinh: { f: Math.sinh },
  cosh: { f: Math.cosh },
  asinh: { f: Math.asinh },
  acosh: { f: (x) => Math.acosh(Math.max(1, x)) },
  atanh: { f: (x) => Math.atanh(Math.max(-1 + 2 ** -20, Math.min(1 - 2 ** -20, x))) },
};

export function functionSpec(fn: TableFunction): FunctionSpec {
  const spec = FUNCTIONS[fn.name];
  if (!spec) throw new ZkError('INTERNAL', `no table function named ${fn.name}`);
  return spec;
}

/** The function's value, checked finite. */
export function evalFunction(fn: TableFunction, x: number): number {
  const y = functionSpec(fn).f(x, fn.params);
  if (!Number.isFinite(y)) throw new ZkError('INPUT_OUT_OF_RANGE', `${fn.name}(${x}) is not finite`);
  return y;
}
