import { type Affine, combine, constant, isConstant, shift } from '../affine.js';
import type { OpContext } from './context.js';

/**
 * Data-dependent selection: indices computed from the model's inputs (a decision tree's next node,
 * an ArgMax) become one-hot indicators, and a selected value is Σ_k hot_k·value_k — linear when the
 * values are constants (a table lookup costs only the indicators), one product per candidate
 * otherwise.
 */

/**
 * One-hot indicators over positions [0, n) for integer index forms (ONNX's negative indices count
 * from the end). An index from ArgMax brings its own; others get a zero test per value the index can
 * take (its bounds when it is built from booleans, else every value in [−n, n)). With `strict`, an
 * index outside [−n, n) has no proof (Gather); otherwise its indicators are all 0 (OneHot).
 */
export function oneHots(ctx: OpContext, indices: readonly Affine[], n: number, strict: boolean): Affine[][] {
  const b = ctx.builder;
  const out: Affine[][] = new Array(indices.length);
  const tests: Affine[] = [];
  const plan: { at: number; positions: number[] }[] = [];
  const trees: { at: number; index: Affine }[] = [];
  indices.forEach((index, at) => {
    const known = b.oneHotOf(index);
    if (known && known.length === n) return void (out[at] = known);
    if (isConstant(index)) {
      const k = index.bias < 0 ? index.bias + n : index.bias;
      if (!Number.isInteger(k) || k < 0 || k >= n) {
        if (strict) ctx.shapeError(`index ${index.bias} out of range for an axis of ${n}`);
        return void (out[at] = Array.from({ length: n }, () => constant(0)));
      }
      return void (out[at] = Array.from({ length: n }, (_, j) => constant(j === k ? 1 : 0)));
    }
    if (b.scaleOf(index) !== 0) ctx.fail('a computed index must be integer-valued');
    const bounds = b.bounds(index);
    const [lo, hi] = bounds ?? [-n, n - 1];
    const values = Math.min(hi, n - 1) - Math.max(lo, -n) + 1;
    // An index built from m booleans: splitting on each costs 2^m − 2 products, against 3 per value for zero tests.
    if (bounds && index.terms.size <= 12 && 2 ** index.terms.size - 2 < 3 * values) return void trees.push({ at, index });
    const positions: number[] = [];
    for (let v = Math.max(lo, -n); v <= Math.min(hi, n - 1); v++) {
      tests.push(shift(index, -v));
      positions.push(v < 0 ? v + n : v);
    }
    plan.push({ at, positions });
  });
  const eq = b.isZero(tests, ctx.origin);
  let next = 0;
  for (const { at, positions } of plan) {
    const terms: [Affine, number][][] = Array.from({ length: n }, () => []);
    for (const p of positions) terms[p].push([eq[next++], 1]);
    out[at] = terms.map((t) => combine(t));
  }
  if (trees.length) booleanTrees(ctx, trees, n).forEach((hot, i) => (out[trees[i].at] = hot));
  const computed = [...plan.map((p) => p.at), ...trees.map((t) => t.at)];
  for (const at of computed) {
    b.markBoolean(out[at]);
    // Kept for later lookups by the same index only once an out-of-range index is refused.
    if (strict) b.setOneHot(indices[at], out[at]);
  }
  if (strict)
    b.assertZero(
      computed.map((at) =>
        combine(
          out[at].map((h) => [h, 1] as const),
          -1,
        ),
      ),
      ctx.origin,
      'a computed index is out of range',
    );
  return out;
}

/**
 * One-hot indicators of indices that are c + Σ a_j·b_j over boolean wires b_j: the indicator of
 * every assignment of the b's, by splitting on one wire at a time (a product per node), summed by
 * the value each assignment gives. Assignments outside [−n, n) feed no position.
 */
function booleanTrees(ctx: OpContext, trees: readonly { index: Affine }[], n: number): Affine[][] {
  type Node = { e: Affine; value: number };
  let levels: Node[][] = trees.map((t) => [{ e: constant(1), value: t.index.bias }]);
  const wires = trees.map((t) => [...t.index.terms]);
  const depth = Math.max(...wires.map((w) => w.length));
  for (let j = 0; j < depth; j++) {
    const as: Affine[] = [];
    const bs: Affine[] = [];
    levels.forEach((nodes, t) => {
      if (j >= wires[t].length) return;
      const bit = { bias: 0, terms: new Map([[wires[t][j][0], 1]]) };
      for (const node of nodes) as.push(node.e), bs.push(bit);
    });
    const products = ctx.builder.product(as, bs, ctx.origin, { rescale: false });
    let k = 0;
    levels = levels.map((nodes, t) => {
      if (j >= wires[t].length) return nodes;
      const coef = wires[t][j][1];
      return nodes.flatMap((node) => {
        const one = products[k++];
        return [
          {
            e: combine([
              [node.e, 1],
              [one, -1],
            ]),
            value: node.value,
          },
          { e: one, value: node.value + coef },
        ];
      });
    });
  }
  return levels.map((nodes) => {
    const terms: [Affine, number][][] = Array.from({ length: n }, () => []);
    for (const { e, value } of nodes) if (value >= -n && value < n) terms[value < 0 ? value + n : value].push([e, 1]);
    return terms.map((t) => combine(t));
  });
}

/** Σ_k hot_k·pick(k) for each one-hot row: linear for constant picks, one product per computed one. */
export function select(ctx: OpContext, hots: readonly Affine[][], pick: (row: number, k: number) => Affine): Affine[] {
  const as: Affine[] = [];
  const bs: Affine[] = [];
  const where: [number, number][] = [];
  const terms: [Affine, number][][] = hots.map(() => []);
  hots.forEach((hot, row) =>
    hot.forEach((h, k) => {
      if (isConstant(h) && h.bias === 0) return;
      const v = pick(row, k);
      if (isConstant(v) || isConstant(h)) terms[row].push(isConstant(h) ? [v, h.bias] : [h, v.bias]);
      else {
        as.push(h);
        bs.push(v);
        where.push([row, k]);
      }
    }),
  );
  const products = ctx.builder.product(as, bs, ctx.origin, { rescale: false });
  products.forEach((p, i) => terms[where[i][0]].push([p, 1]));
  const out = terms.map((t) => combine(t));
  // A row that picked constants only is a lookup: later ops (ArgMax) can work on its table directly.
  const live = new Set(where.map(([row]) => row));
  hots.forEach((hot, row) => {
    if (live.has(row) || !hot.every((h) => !isConstant(h) || h.bias === 0)) return;
    const values = hot.map((h, k) => (isConstant(h) ? 0 : pick(row, k).bias));
    ctx.builder.setChoice(out[row], hot as Affine[], values);
  });
  return out;
}
