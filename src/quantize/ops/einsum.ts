import { sizeOf } from '../../onnx/graph.js';
import { type Affine, combine, constant, isConstant, spend } from '../affine.js';
import { strides, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';

/**
 * Einsum as the sums of products its equation spells (ONNX Einsum, numpy's einsum semantics): for
 * every output position, the sum over the contracted labels of the operands' product. A product with
 * at most one computed factor is a linear term (a MatMul by constant weights: free); two computed
 * factors cost one product each (attention's QKᵀ), all in one product group. Ellipses broadcast;
 * repeated labels in one operand take its diagonal; without `->` the output is the ellipsis then the
 * labels seen once, in alphabetical order. Three or more computed factors in one term are refused.
 */
function einsum(ctx: OpContext): SymTensor[] {
  const equation = ctx.string('equation', '').replace(/\s/g, '');
  const [lhs, rhs] = equation.split('->');
  const terms = lhs.split(',');
  if (terms.length !== ctx.inputCount) ctx.fail(`equation "${equation}" names ${terms.length} operands, the node has ${ctx.inputCount}`);
  const operands = terms.map((_, i) => ctx.input(i));
  // Ellipsis dims get digit labels, right-aligned across operands.
  const ellRank = Math.max(0, ...terms.map((t, i) => (t.includes('...') ? operands[i].dims.length - t.replace('...', '').length : 0)));
  const ellLabels = Array.from({ length: ellRank }, (_, i) => String(i));
  const expand = (t: string, rank: number): string[] => {
    if (!t.includes('...')) return [...t];
    const [before, after] = t.split('...');
    const ell = rank - before.length - after.length;
    return [...before, ...ellLabels.slice(ellRank - ell), ...after];
  };
  const labels = terms.map((t, i) => expand(t, operands[i].dims.length));
  const sizes = new Map<string, number>();
  labels.forEach((ls, i) => {
    if (ls.length !== operands[i].dims.length) ctx.shapeError(`operand ${i} is [${operands[i].dims}], the equation gives it ${ls.length} labels`);
    ls.forEach((l, d) => {
      const n = operands[i].dims[d];
      const seen = sizes.get(l);
      if (seen !== undefined && seen !== n && seen !== 1 && n !== 1) ctx.shapeError(`label ${l} is ${seen} and ${n} long`);
      sizes.set(l, Math.max(seen ?? 1, n));
    });
  });
  const counts = new Map<string, number>();
  labels.flat().forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
  const out =
    rhs !== undefined
      ? expand(rhs, ellRank + rhs.replace('...', '').length)
      : [
          ...ellLabels,
          ...[...counts]
            .filter(([l, c]) => c === 1 && !/\d/.test(l))
            .map(([l]) => l)
            .sort(),
        ];
  const contracted = [...sizes.keys()].filter((l) => !out.includes(l));
  const outDims = out.map((l) => sizes.get(l) ?? ctx.shapeError(`output label ${l} is on no operand`));
  const inner = contracted.map((l) => sizes.get(l)!);
  const opStrides = operands.map((t) => strides(t.dims));
  const value = new Map<string, number>();
  const factor = (i: number): Affine => {
    let flat = 0;
    labels[i].forEach((l, d) => (flat += (operands[i].dims[d] === 1 ? 0 : value.get(l)!) * opStrides[i][d]));
    return operands[i].data[flat];
  };
  const linear: [Affine, number][][] = [];
  const pairs: [Affine[], Affine[]] = [[], []];
  const pairOf: [number, number][] = [];
  const visit = (dims: number[], names: string[], f: () => void) => {
    const st = strides(dims);
    for (let k = 0; k < sizeOf(dims); k++) {
      names.forEach((l, d) => value.set(l, Math.floor(k / st[d]) % dims[d]));
      f();
    }
  };
  visit(outDims, out, () => {
    const at = linear.push([]) - 1;
    visit(inner, contracted, () => {
      let coef = 1;
      const live: Affine[] = [];
      for (let i = 0; i < operands.length; i++) {
        const v = factor(i);
        if (isConstant(v)) coef *= v.bias;
        else live.push(v);
      }
      if (coef === 0) return;
      spend(1);
      if (live.length === 0) linear[at].push([constant(1), coef]);
      else if (live.length === 1) linear[at].push([live[0], coef]);
      else if (live.length === 2) {
        pairs[0].push(live[0]);
        pairs[1].push(live[1]);
        pairOf.push([at, coef]);
      } else ctx.fail('a product of three or more computed operands');
    });
  });
  const products = ctx.builder.product(pairs[0], pairs[1], ctx.origin);
  products.forEach((p, k) => linear[pairOf[k][0]].push([p, pairOf[k][1]]));
  const dtype = operands.some((t) => t.dtype === 'float') ? 'float' : operands[0].dtype;
  return [{ dims: outDims, dtype, data: linear.map((t) => combine(t)) }];
}

export const einsumOps: Record<string, OpImpl> = { Einsum: einsum };
