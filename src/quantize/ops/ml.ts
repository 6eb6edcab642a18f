import type { DType } from '../../onnx/graph.js';
import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, constant, shift } from '../affine.js';
import type { SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { matmul } from './linear.js';
import { logicOps } from './logic.js';
import { above, divideByL1, scaleByRsqrt, withInputs } from './math.js';
import { nonlinearOps, rowsOf } from './nonlinear.js';

/**
 * The `ai.onnx.ml` ops skl2onnx writes for linear models and pipelines (semantics from the ONNX-ML
 * operator docs, checked against onnxruntime): Scaler, Normalizer, LinearClassifier, LinearRegressor,
 * ZipMap, Binarizer, OneHotEncoder (numeric categories), SVMRegressor and SVMClassifier (linear, poly,
 * RBF, sigmoid kernels). Their weights are attributes, not initializers: with weights other than `fixed` they
 * enter the circuit as weight wires like Gemm's, named `node.attribute`.
 */

const floats = (ctx: OpContext, name: string): number[] => (ctx.attr(name) as number[] | undefined) ?? [];

/** An attribute's weights as a [rows, cols] tensor: constants, or weight wires when weights are not fixed. */
function weights(ctx: OpContext, name: string, dims: number[], values: number[]): SymTensor {
  if (values.length !== sizeOf(dims)) ctx.shapeError(`${name} holds ${values.length} values, expected ${sizeOf(dims)}`);
  const data = ctx.builder.visibility.weights === 'fixed' ? values.map((v) => constant(v)) : ctx.builder.addWeights(`${ctx.node.name}.${name}`, dims, values);
  return { dims, dtype: 'float', data };
}

/** The input as [N, F] rows (a 1-D input is one row). */
function asRows(ctx: OpContext): SymTensor {
  const x = ctx.input(0);
  if (x.dims.length > 2) ctx.shapeError(`expects [N, F] or [F], got [${x.dims}]`);
  return x.dims.length === 2 ? x : { ...x, dims: [1, x.dims[0] ?? 1] };
}

/** X·Wᵀ + b for coefficients [targets·F] (row per target) and intercepts [targets]. */
function affineScores(ctx: OpContext, x: SymTensor, targets: number): SymTensor {
  const f = x.dims[1];
  const w = weights(ctx, 'coefficients', [targets, f], floats(ctx, 'coefficients'));
  const wT: SymTensor = {
    dims: [f, targets],
    dtype: 'float',
    data: Array.from({ length: f * targets }, (_, i) => w.data[(i % targets) * f + Math.floor(i / targets)]),
  };
  const intercepts = floats(ctx, 'intercepts');
  const b = intercepts.length ? weights(ctx, 'intercepts', [targets], intercepts) : undefined;
  const y = matmul(ctx, { ...x, dtype: 'float' }, wT);
  return {
    ...y,
    data: y.data.map((v, i) =>
      b
        ? combine([
            [v, 1],
            [b.data[i % targets], 1],
          ])
        : v,
    ),
  };
}

/** Scaler: (x − offset)·scale per feature (or one value for all). */
function scaler(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const offset = floats(ctx, 'offset');
  const scale = floats(ctx, 'scale');
  const f = x.dims.at(-1) ?? 1;
  const at = (v: number[], i: number, fallback: number) => (v.length === 0 ? fallback : v.length === 1 ? v[0] : v[i % f]);
  return [{ dims: x.dims, dtype: 'float', data: x.data.map((v, i) => combine([[v, at(scale, i, 1)]], -at(offset, i, 0) * at(scale, i, 1))) }];
}

/** Normalizer: each row divided by its MAX, L1 (Σ|x|) or L2 (√Σx²) norm. */
function normalizer(ctx: OpContext): SymTensor[] {
  const x = { ...asRows(ctx) };
  const norm = ctx.string('norm', 'MAX');
  const rows = rowsOf(x.dims, 1, false);
  const out = ctx.input(0);
  if (norm === 'L1') return [{ ...out, dtype: 'float', data: divideByL1(ctx, x.data, rows) }];
  if (norm === 'L2') return [{ ...out, dtype: 'float', data: scaleByRsqrt(ctx, x.data, rows, 1, 2 ** -(2 * ctx.builder.scale + 2)) }];
  if (norm !== 'MAX') ctx.fail(`norm ${norm}`);
  // On the grid (see PlanBuilder.onGrid): the maximum picked below is then exactly ArgMax's.
  x.data = ctx.builder.onGrid(x.data, ctx.origin);
  const maxes = logicOps.ArgMax(withInputs(ctx, [x], { axis: 1, keepdims: 1, select_last_index: 0 }))[0];
  // The maximum itself: the row picked by ArgMax's indicators (one product each).
  const hot = maxes.data.map((index) => ctx.builder.oneHotOf(index) ?? ctx.fail('no indicators for the maximum'));
  const picked = ctx.builder.product(
    hot.flat(),
    rows.flat().map((i) => x.data[i]),
    ctx.origin,
    { rescale: false },
  );
  const m = rows.map((r, k) => combine(r.map((_, j) => [picked[k * r.length + j], 1] as const)));
  return [
    {
      ...out,
      dtype: 'float',
      data: ctx.builder.divide(
        rows.flat().map((i) => x.data[i]),
        rows.flatMap((r, k) => r.map(() => m[k])),
        ctx.origin,
      ),
    },
  ];
}

/** Scores after post_transform NONE, SOFTMAX (along each row) or LOGISTIC; others are refused by name. */
function postTransform(ctx: OpContext, scores: SymTensor): SymTensor {
  const how = ctx.string('post_transform', 'NONE');
  if (how === 'NONE') return scores;
  if (how === 'SOFTMAX') return nonlinearOps.Softmax(withInputs(ctx, [scores], { axis: 1 }))[0];
  if (how === 'LOGISTIC') return { ...scores, data: ctx.builder.table(scores.data, { name: 'sigmoid', params: [] }, ctx.origin) };
  return ctx.fail(`post_transform ${how}`);
}

/** The label of each row: classlabels_ints at the first maximum of the scores (by ArgMax's indicators, free). */
function labels(ctx: OpContext, scores: SymTensor, classes: number[]): SymTensor {
  const index = logicOps.ArgMax(withInputs(ctx, [scores], { axis: 1, keepdims: 0, select_last_index: 0 }))[0];
  const data = index.data.map((ix) => {
    const hot = ctx.builder.oneHotOf(ix);
    if (!hot) return constant(classes[ix.bias]);
    return combine(hot.map((h, k) => [h, classes[k]] as const));
  });
  return { dims: [scores.dims[0]], dtype: 'int', data };
}

/**
 * LinearClassifier: scores = X·coefficientsᵀ + intercepts, then post_transform; the label is the
 * class of the highest raw score. One coefficient row per class (skl2onnx writes two for a binary
 * model); string class labels are refused (the circuit proves numbers).
 */
function linearClassifier(ctx: OpContext): SymTensor[] {
  if (ctx.attr('classlabels_strings')) ctx.fail('string class labels (classlabels_strings)');
  const classes = (ctx.attr('classlabels_ints') as number[] | undefined) ?? ctx.fail('no classlabels_ints');
  const x = asRows(ctx);
  const rowsOfCoef = floats(ctx, 'coefficients').length / x.dims[1];
  if (rowsOfCoef !== classes.length) ctx.fail(`${rowsOfCoef} coefficient row(s) for ${classes.length} classes (one row per class is supported)`);
  const raw = affineScores(ctx, x, classes.length);
  return [labels(ctx, raw, classes), postTransform(ctx, raw)];
}

/** LinearRegressor: X·coefficientsᵀ + intercepts for `targets` outputs (post_transform NONE). */
function linearRegressor(ctx: OpContext): SymTensor[] {
  if (ctx.string('post_transform', 'NONE') !== 'NONE') ctx.fail(`post_transform ${ctx.string('post_transform', '')}`);
  return [affineScores(ctx, asRows(ctx), ctx.int('targets', 1))];
}

/** Binarizer: 1 where x > threshold, else 0 (exact on the quantized values). */
function binarizer(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  return [{ ...x, data: ctx.builder.markBoolean(above(ctx, x.data, ctx.float('threshold', 0))) }];
}

/**
 * OneHotEncoder over numeric categories (cats_int64s): input [..] → [.., C] of [x = cat_k]. With
 * zeros = 0 a value outside the categories has no proof (onnxruntime fails on it).
 */
function oneHotEncoder(ctx: OpContext): SymTensor[] {
  if (ctx.attr('cats_strings')) ctx.fail('string categories (cats_strings)');
  const cats = (ctx.attr('cats_int64s') as number[] | undefined) ?? ctx.fail('no cats_int64s');
  const x = ctx.input(0);
  const hits = ctx.builder.isZero(
    x.data.flatMap((v) => cats.map((c) => shift(v, -c))),
    ctx.origin,
  );
  if (ctx.int('zeros', 1) === 0) {
    const sums = x.data.map((_, i) =>
      combine(
        cats.map((_, k) => [hits[i * cats.length + k], 1] as const),
        -1,
      ),
    );
    ctx.builder.assertZero(sums, ctx.origin, 'a value is not one of the categories (zeros = 0)');
  }
  return [{ dims: [...x.dims, cats.length], dtype: 'float', data: hits }];
}

/**
 * The kernel values K(x_r, sv_s) for rows of x and support vectors of an SVM, [rows·vectors]: LINEAR
 * (x·sv), POLY ((γ x·sv + c₀)^degree), RBF (exp(−γ‖x − sv‖²)) and SIGMOID (tanh(γ x·sv + c₀)), with
 * kernel_params = [γ, c₀, degree]. A linear kernel with constant support vectors is free; the others
 * cost products and one table per vector.
 */
function kernelValues(ctx: OpContext, x: SymTensor, svCount: number): Affine[] {
  const [n, f] = x.dims;
  const kernel = ctx.string('kernel_type', 'LINEAR');
  const [gamma, coef0, degree] = [...floats(ctx, 'kernel_params'), 0, 0, 0];
  const sv = weights(ctx, 'support_vectors', [svCount, f], floats(ctx, 'support_vectors'));
  if (kernel === 'RBF') {
    const diffs = Array.from({ length: n * svCount * f }, (_, i) => {
      const [r, v, j] = [Math.floor(i / (svCount * f)), Math.floor(i / f) % svCount, i % f];
      return combine([
        [x.data[r * f + j], 1],
        [sv.data[v * f + j], -1],
      ]);
    });
    const sq = ctx.builder.product(diffs, diffs, ctx.origin);
    const dist = Array.from({ length: n * svCount }, (_, p) => combine(Array.from({ length: f }, (_, j) => [sq[p * f + j], -gamma] as const)));
    return ctx.builder.table(dist, { name: 'expNonPositive', params: [] }, ctx.origin);
  }
  const svT: SymTensor = {
    dims: [f, svCount],
    dtype: 'float',
    data: Array.from({ length: f * svCount }, (_, i) => sv.data[(i % svCount) * f + Math.floor(i / svCount)]),
  };
  const dots = matmul(ctx, x, svT).data;
  if (kernel === 'LINEAR') return dots;
  const base = dots.map((d) => combine([[d, gamma]], coef0));
  if (kernel === 'SIGMOID') return ctx.builder.table(base, { name: 'tanh', params: [] }, ctx.origin);
  if (kernel !== 'POLY') return ctx.fail(`kernel_type ${kernel}`);
  if (!Number.isInteger(degree) || degree < 1 || degree > 8) ctx.fail(`a polynomial kernel of degree ${degree}`);
  let k = base;
  for (let e = 1; e < degree; e++) k = ctx.builder.product(k, base, ctx.origin);
  return k;
}

/** Σ_s coef[s]·K[r, s] per row, plus `bias`: the coefficients as constants or weight wires. */
function weightedKernels(ctx: OpContext, k: Affine[], coef: Affine[], rows: number, bias: number): Affine[] {
  const vectors = coef.length;
  const products = ctx.builder.product(
    k,
    k.map((_, p) => coef[p % vectors]),
    ctx.origin,
  );
  return Array.from({ length: rows }, (_, r) =>
    combine(
      Array.from({ length: vectors }, (_, v) => [products[r * vectors + v], 1] as const),
      bias,
    ),
  );
}

/** SVMRegressor: Σ_i coef_i·K(x, sv_i) + rho (see kernelValues); without support vectors, x·coefficients + rho. */
function svmRegressor(ctx: OpContext): SymTensor[] {
  if (ctx.int('one_class', 0)) ctx.fail('one_class');
  if (ctx.string('post_transform', 'NONE') !== 'NONE') ctx.fail(`post_transform ${ctx.string('post_transform', '')}`);
  const x = asRows(ctx);
  const [n, f] = x.dims;
  const svCount = ctx.int('n_supports', 0);
  const coefs = floats(ctx, 'coefficients');
  const rho = floats(ctx, 'rho')[0] ?? 0;
  if (svCount === 0) {
    const w = weights(ctx, 'coefficients', [f, 1], coefs);
    return [{ dims: [n, 1], dtype: 'float', data: matmul(ctx, x, w).data.map((v) => shift(v, rho)) }];
  }
  const c = weights(ctx, 'coefficients', [svCount], coefs);
  return [{ dims: [n, 1], dtype: 'float', data: weightedKernels(ctx, kernelValues(ctx, x, svCount), c.data, n, rho) }];
}

/**
 * SVMClassifier (libsvm's one-vs-one, as onnxruntime computes it): for each pair of classes i < j,
 * d = Σ_{s ∈ i} coef[j−1][s]·K_s + Σ_{s ∈ j} coef[i][s]·K_s + rho[pair]; d > 0 votes for i, else j;
 * the label is the class with the most votes (the first on a tie). Scores are the d of each pair,
 * or [−d, d] with two classes. Probabilities (prob_a/prob_b), post_transform and string labels are
 * refused by name.
 */
function svmClassifier(ctx: OpContext): SymTensor[] {
  if (ctx.attr('classlabels_strings')) ctx.fail('string class labels (classlabels_strings)');
  if (floats(ctx, 'prob_a').length || floats(ctx, 'prob_b').length) ctx.fail('probability estimates (prob_a, prob_b)');
  if (ctx.string('post_transform', 'NONE') !== 'NONE') ctx.fail(`post_transform ${ctx.string('post_transform', '')}`);
  const classes = (ctx.attr('classlabels_ints') as number[] | undefined) ?? ctx.fail('no classlabels_ints');
  const perClass = (ctx.attr('vectors_per_class') as number[] | undefined) ?? ctx.fail('no vectors_per_class (a linear SVM without support vectors)');
  if (perClass.length !== classes.length || classes.length < 2) ctx.fail(`${perClass.length} vector counts for ${classes.length} classes`);
  const x = asRows(ctx);
  const n = x.dims[0];
  const svCount = perClass.reduce((a, b) => a + b, 0);
  const coefs = weights(ctx, 'coefficients', [classes.length - 1, svCount], floats(ctx, 'coefficients'));
  const rho = floats(ctx, 'rho');
  const start = perClass.map((_, c) => perClass.slice(0, c).reduce((a, b) => a + b, 0));
  const k = kernelValues(ctx, x, svCount);
  // Each pair's coefficient per vector (0 for vectors of other classes), then one weighted sum per pair.
  const pairs: [number, number][] = [];
  for (let i = 0; i < classes.length; i++) for (let j = i + 1; j < classes.length; j++) pairs.push([i, j]);
  const decisions = pairs.map(([i, j], p) => {
    const coef = Array.from({ length: svCount }, (_, s) =>
      s >= start[i] && s < start[i] + perClass[i]
        ? coefs.data[(j - 1) * svCount + s]
        : s >= start[j] && s < start[j] + perClass[j]
          ? coefs.data[i * svCount + s]
          : constant(0),
    );
    return weightedKernels(ctx, k, coef, n, rho[p] ?? 0);
  });
  const d = Array.from({ length: n }, (_, r) => decisions.map((dp) => dp[r]));
  const wins = above(ctx, d.flat(), 0);
  const votes = Array.from({ length: n }, (_, r) =>
    classes.map((_, c) =>
      combine(
        pairs.flatMap(([i, j], p): [Affine, number][] => {
          const w = wins[r * pairs.length + p];
          return c === i ? [[w, 1]] : c === j ? [[combine([[w, -1]], 1), 1]] : [];
        }),
      ),
    ),
  );
  const voteTable: SymTensor = { dims: [n, classes.length], dtype: 'int', data: votes.flat() };
  const scores = classes.length === 2 ? d.flatMap(([v]) => [combine([[v, -1]]), v]) : d.flat();
  return [labels(ctx, voteTable, classes), { dims: [n, classes.length === 2 ? 2 : pairs.length], dtype: 'float', data: scores }];
}

/** ZipMap: a presentation of the probabilities as maps; zkinfer proves the tensor itself (see load.ts). */
const zipMap: OpImpl = (ctx) => [{ ...ctx.input(0), dtype: 'float' as DType }];

export const mlOps: Record<string, OpImpl> = {
  Scaler: scaler,
  Normalizer: normalizer,
  LinearClassifier: linearClassifier,
  LinearRegressor: linearRegressor,
  Binarizer: binarizer,
  OneHotEncoder: oneHotEncoder,
  SVMRegressor: svmRegressor,
  SVMClassifier: svmClassifier,
  ZipMap: zipMap,
};
