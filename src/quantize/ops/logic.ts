import { sizeOf } from '../../onnx/graph.js';
import { type Affine, add, combine, constant, isConstant, scale, sub } from '../affine.js';
import { normalizeAxis, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { broadcast, widerType } from './elementwise.js';
import { rowsOf } from './nonlinear.js';
import { reduceWindows } from './pool.js';

const bool = (ctx: OpContext, dims: number[], data: Affine[]): SymTensor => ({ dims, dtype: 'bool', data: ctx.builder.markBoolean(data) });

/**
 * a < b and friends, from the sign bit of a − b's range check (exact on the quantized values, even
 * against constants finer than the grid: see PlanBuilder.exactGroup). Equal is a zero test.
 */
const compare =
  (how: 'lt' | 'gt' | 'le' | 'ge' | 'eq'): OpImpl =>
  (ctx) => {
    const {
      dims,
      data: [a, b],
    } = broadcast(ctx, ctx.input(0), ctx.input(1));
    if (how === 'eq')
      return [
        bool(
          ctx,
          dims,
          ctx.builder.isZero(
            a.map((x, i) => sub(x, b[i])),
            ctx.origin,
          ),
        ),
      ];
    // a < b ⇔ ¬(a − b ≥ 0); a > b ⇔ ¬(b − a ≥ 0); a ≤ b ⇔ b − a ≥ 0; a ≥ b ⇔ a − b ≥ 0.
    const diff = how === 'lt' || how === 'ge' ? a.map((x, i) => sub(x, b[i])) : a.map((x, i) => sub(b[i], x));
    const nonNeg = ctx.builder.nonNegative(diff, ctx.origin);
    return [bool(ctx, dims, how === 'le' || how === 'ge' ? nonNeg : nonNeg.map((s) => combine([[s, -1]], 1)))];
  };

function requireBoolean(ctx: OpContext, xs: readonly Affine[]): void {
  if (!xs.every((x) => ctx.builder.isBoolean(x))) ctx.fail('logical ops need boolean operands (0 or 1)');
}

/** And, Or, Xor of booleans: one product each (a·b, a + b − ab, a + b − 2ab). */
const logical =
  (how: 'and' | 'or' | 'xor'): OpImpl =>
  (ctx) => {
    const {
      dims,
      data: [a, b],
    } = broadcast(ctx, ctx.input(0), ctx.input(1));
    requireBoolean(ctx, [...a, ...b]);
    const ab = ctx.builder.product(a, b, ctx.origin);
    const k = how === 'and' ? 0 : how === 'or' ? -1 : -2;
    return [
      bool(
        ctx,
        dims,
        how === 'and'
          ? ab
          : ab.map((p, i) =>
              combine([
                [a[i], 1],
                [b[i], 1],
                [p, k],
              ]),
            ),
      ),
    ];
  };

/** Where(c, x, y) = y + c·(x − y): one product per element whose branches differ (exact: c is 0 or 1). */
function where(ctx: OpContext): SymTensor[] {
  const [c, x, y] = [ctx.input(0), ctx.input(1), ctx.input(2)];
  const {
    dims,
    data: [cs, xs, ys],
  } = broadcast(ctx, c, x, y);
  requireBoolean(ctx, cs);
  const dtype = widerType(x.dtype, y.dtype);
  // A constant condition (a causal mask) selects without arithmetic: an −∞ fill stays itself.
  if (cs.every(isConstant)) return [{ dims, dtype, data: cs.map((c, i) => (c.bias ? xs[i] : ys[i])) }];
  const picked = ctx.builder.product(
    cs,
    xs.map((v, i) => sub(v, ys[i])),
    ctx.origin,
    { rescale: false },
  );
  const data = picked.map((p, i) => add(ys[i], p));
  return [{ dims, dtype, data: dtype === 'bool' ? ctx.builder.markBoolean(data) : data }];
}

/**
 * ArgMax/ArgMin along an axis. Booleans: the first 1 (the first 0 for ArgMin) through a running
 * product r_i = Π_{j<i}(1 − v_j), one constraint per element. Otherwise: the exact maximum by the
 * ReLU tree at the values' own scale, a zero test per element for v_i = max, and the same running
 * product for the first (or last, with select_last_index) hit. The index's one-hot indicators are
 * kept, so a Gather by this index (a decision tree's leaf value, a class label) costs nothing.
 */
function argExtreme(ctx: OpContext, min: boolean): SymTensor[] {
  const x = ctx.input(0);
  const axis = normalizeAxis(ctx.int('axis', 0), x.dims.length);
  const keep = ctx.int('keepdims', 1) === 1;
  const last = ctx.int('select_last_index', 0) === 1;
  const rows = rowsOf(x.dims, axis, false);
  const n = x.dims[axis];
  const dims = keep ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis);
  const order = (r: number[]) => (last ? [...r].reverse() : r);
  const lookups = lookupArgExtreme(ctx, x, rows, min, last);
  if (lookups) return [{ dims, dtype: 'int', data: lookups }];
  const booleans = x.data.every((v) => ctx.builder.isBoolean(v));
  let hits: Affine[][];
  if (booleans) {
    hits = rows.map((r) => order(r).map((i) => (min ? combine([[x.data[i], -1]], 1) : x.data[i])));
  } else {
    // On the grid first: the max = v tests are exact only on forms the max tree computed exactly.
    const exact = ctx.builder.onGrid(x.data, ctx.origin);
    const values = rows.map((r) => order(r).map((i) => (min ? scale(exact[i], -1) : exact[i])));
    const maxes = reduceWindows(ctx, values, 'max', (w) => w.length, true);
    const eq = ctx.builder.isZero(
      values.flatMap((r, k) => r.map((v) => sub(maxes[k], v))),
      ctx.origin,
    );
    hits = rows.map((_, k) => eq.slice(k * n, (k + 1) * n));
  }
  // r_0 = 1, r_{i+1} = r_i·(1 − h_i): one product per step, all rows at once; first_i = r_i − r_{i+1}.
  const running: Affine[][] = rows.map(() => [constant(1)]);
  // (Numbers always have a maximum, so after the last element nothing is left: r_n = 0 without a product.)
  for (let i = 0; i < n; i++) {
    if (!booleans && i === n - 1) {
      running.forEach((r) => r.push(constant(0)));
      break;
    }
    const next = ctx.builder.product(
      running.map((r) => r[i]),
      hits.map((h) => h[i]),
      ctx.origin,
      { rescale: false },
    );
    running.forEach((r, k) => r.push(sub(r[i], next[k])));
  }
  const data = rows.map((_, k) => {
    const r = running[k];
    const first = Array.from({ length: n }, (_, i) => sub(r[i], r[i + 1]));
    // No hit at all (only booleans, all 0 for ArgMax): the answer is the first position, as ONNX's.
    first[0] = add(first[0], r[n]);
    const hot = last ? [...first].reverse() : first;
    const index = combine(hot.map((h, i) => [h, i] as const));
    ctx.builder.setOneHot(index, hot);
    return index;
  });
  return [{ dims, dtype: 'int', data }];
}

/**
 * When every value of each row is a lookup by the same one-hot vector (a decision tree's leaf values
 * for its classes), the extreme of each table row is known when compiling: the index is a lookup too,
 * and costs nothing.
 */
function lookupArgExtreme(ctx: OpContext, x: SymTensor, rows: number[][], min: boolean, last: boolean): Affine[] | undefined {
  const b = ctx.builder;
  const choices = rows.map((r) => r.map((i) => (isConstant(x.data[i]) ? undefined : b.choiceOf(x.data[i]))));
  if (!choices.every((c) => c.every((v, _j) => v && v.hot === c[0]!.hot) && c.length > 0)) return undefined;
  return choices.map((c) => {
    const hot = c[0]!.hot;
    const n = c.length;
    // For table row k: the position of the extreme (first, or last with select_last_index).
    const best = hot.map((_, k) => {
      let at = last ? n - 1 : 0;
      for (let j = 0; j < n; j++) {
        const v = c[j]!.values[k];
        const w = c[at]!.values[k];
        const better = min ? v < w : v > w;
        const tie = v === w && (last ? j > at : j < at);
        if (better || tie) at = j;
      }
      return at;
    });
    const index = combine(hot.map((h, k) => [h, best[k]] as const));
    b.setOneHot(
      index,
      Array.from({ length: n }, (_, j) => combine(hot.flatMap((h, k) => (best[k] === j ? [[h, 1] as const] : [])))),
    );
    return index;
  });
}

/** Abs = 2·relu(x) − x at x's own scale (exact). */
function abs(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const r = ctx.builder.reluExact(x.data, ctx.origin);
  return [
    {
      ...x,
      data: x.data.map((v, i) =>
        combine([
          [r[i], 2],
          [v, -1],
        ]),
      ),
    },
  ];
}

/** Sign = 2·[x ≥ 0] − 1 − [x = 0]. */
function sign(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const nonNeg = ctx.builder.nonNegative(x.data, ctx.origin);
  const zero = ctx.builder.isZero(x.data, ctx.origin);
  return [
    {
      ...x,
      data: x.data.map((_, i) =>
        combine(
          [
            [nonNeg[i], 2],
            [zero[i], -1],
          ],
          -1,
        ),
      ),
    },
  ];
}

const integerValued = (ctx: OpContext, x: SymTensor): boolean => x.dtype !== 'float' || x.data.every((v) => ctx.builder.scaleOf(v) === 0);

/** Batcher's odd–even merge sort on n positions, as layers of independent compare-exchanges (i < j). */
function sortingNetwork(n: number): [number, number][][] {
  let size = 1;
  while (size < n) size <<= 1;
  const layers: [number, number][][] = [];
  for (let p = 1; p < size; p <<= 1) {
    for (let k = p; k >= 1; k >>= 1) {
      const layer: [number, number][] = [];
      for (let j = k % p; j + k < size; j += 2 * k) {
        for (let i = 0; i < Math.min(k, size - j - k); i++) {
          // Positions beyond n stand for values that lose every comparison: those exchanges do nothing.
          if (Math.floor((i + j) / (2 * p)) === Math.floor((i + j + k) / (2 * p)) && i + j + k < n) layer.push([i + j, i + j + k]);
        }
      }
      if (layer.length) layers.push(layer);
    }
  }
  return layers;
}

/**
 * TopK by a sorting network over (value, index) pairs: each compare-exchange takes one sign (of the
 * value difference, ties broken toward the lower index as ONNX does) and two products. Values and
 * indices are exact.
 */
function topK(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const k = ctx.constInput(1, 'k')[0];
  const axis = normalizeAxis(ctx.int('axis', -1), x.dims.length);
  const largest = ctx.int('largest', 1) === 1;
  const n = x.dims[axis];
  if (!Number.isInteger(k) || k < 0 || k > n) ctx.shapeError(`k = ${k} for an axis of ${n}`);
  const rows = rowsOf(x.dims, axis, false);
  const values = rows.map((r) => r.map((i) => x.data[i]));
  const indices = rows.map((r) => r.map((_, j) => constant(j)));
  const scaleOfValues = Math.max(0, ...x.data.map((v) => ctx.builder.scaleOf(v)));
  // Values differ by at least 2^−scale; index differences scaled below half of that only break ties.
  const tie = 2 ** -(scaleOfValues + Math.ceil(Math.log2(Math.max(n, 2))) + 1);
  for (const layer of sortingNetwork(n)) {
    const pairs = rows.flatMap((_, r) => layer.map(([i, j]) => [r, i, j] as const));
    // keep = 1 when position i already holds the winner: a_i beats a_j, or equals it with the lower index.
    const keys = pairs.map(([r, i, j]) =>
      combine([
        [values[r][i], largest ? 1 : -1],
        [values[r][j], largest ? -1 : 1],
        [indices[r][j], tie],
        [indices[r][i], -tie],
      ]),
    );
    const keep = ctx.builder.nonNegative(keys, ctx.origin);
    const dv = ctx.builder.product(
      keep,
      pairs.map(([r, i, j]) => sub(values[r][i], values[r][j])),
      ctx.origin,
      { rescale: false },
    );
    const di = ctx.builder.product(
      keep,
      pairs.map(([r, i, j]) => sub(indices[r][i], indices[r][j])),
      ctx.origin,
      { rescale: false },
    );
    pairs.forEach(([r, i, j], p) => {
      const [vi, vj, ii, ij] = [values[r][i], values[r][j], indices[r][i], indices[r][j]];
      values[r][i] = add(vj, dv[p]);
      values[r][j] = sub(vi, dv[p]);
      indices[r][i] = add(ij, di[p]);
      indices[r][j] = sub(ii, di[p]);
    });
  }
  const dims = x.dims.map((d, i) => (i === axis ? k : d));
  const outV = new Array<Affine>(sizeOf(dims));
  const outI = new Array<Affine>(sizeOf(dims));
  rowsOf(dims, axis, false).forEach((r, row) => r.forEach((flat, j) => ((outV[flat] = values[row][j]), (outI[flat] = indices[row][j]))));
  return [
    { dims, dtype: x.dtype, data: outV },
    { dims, dtype: 'int', data: outI },
  ];
}

/** 1 − x of a boolean tensor: linear, free. */
function not(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  requireBoolean(ctx, x.data);
  return [
    bool(
      ctx,
      x.dims,
      x.data.map((v) => combine([[v, -1]], 1)),
    ),
  ];
}

export const logicOps: Record<string, OpImpl> = {
  Less: compare('lt'),
  Greater: compare('gt'),
  LessOrEqual: compare('le'),
  GreaterOrEqual: compare('ge'),
  Equal: compare('eq'),
  Not: not,
  And: logical('and'),
  Or: logical('or'),
  Xor: logical('xor'),
  Where: where,
  ArgMax: (ctx) => argExtreme(ctx, false),
  ArgMin: (ctx) => argExtreme(ctx, true),
  Abs: abs,
  Sign: sign,
  Floor: (ctx) => {
    const x = ctx.input(0);
    return [integerValued(ctx, x) ? x : { ...x, data: ctx.builder.floor(x.data, ctx.origin) }];
  },
  Ceil: (ctx) => {
    const x = ctx.input(0);
    if (integerValued(ctx, x)) return [x];
    return [
      {
        ...x,
        data: ctx.builder
          .floor(
            x.data.map((v) => scale(v, -1)),
            ctx.origin,
          )
          .map((v) => scale(v, -1)),
      },
    ];
  },
  TopK: topK,
  Round: (ctx) => {
    const x = ctx.input(0);
    return [integerValued(ctx, x) ? x : { ...x, data: ctx.builder.roundHalfEven(x.data, ctx.origin) }];
  },
};
