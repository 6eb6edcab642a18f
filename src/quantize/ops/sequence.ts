import { sizeOf } from '../../onnx/graph.js';
import { type Affine, add, combine, constant, sub } from '../affine.js';
import type { SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { clip } from './elementwise.js';
import { matmul } from './linear.js';

/**
 * The recurrent ops LSTM, GRU and RNN, unrolled over the sequence. Each step is the equations of
 * the ONNX operator docs: the input and recurrent projections are MatMuls (linear with constant
 * weights, one product per multiply with weights as wires), the gate activations are tables
 * (Sigmoid, Tanh) or ReLUs, and the gating is one product per element. Supported: direction
 * forward/reverse/bidirectional, layout 0 and 1, clip, constant sequence_lens, initial_h, initial_c,
 * peepholes P, GRU's linear_before_reset, and the activations Sigmoid, Tanh and Relu; anything else
 * (other activations, input_forget) is refused by name.
 */

type Kind = 'LSTM' | 'GRU' | 'RNN';

/** Gates per kind, in the order W, R and B hold them (LSTM iofc, GRU zrh). */
const GATES: Record<Kind, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTIVATIONS: Record<Kind, string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };

type Activation = (xs: Affine[]) => Affine[];

/** An activation by its ONNX name, with `clip` (when given) bounding its input to [−threshold, threshold]. */
function activation(ctx: OpContext, name: string, threshold: number | undefined): Activation {
  const clipped = (xs: Affine[]): Affine[] =>
    threshold === undefined ? xs : clip(ctx, { dims: [xs.length], dtype: 'float', data: xs }, -threshold, threshold).data;
  switch (name.toLowerCase()) {
    case 'sigmoid':
      return (xs) => ctx.builder.table(clipped(xs), { name: 'sigmoid', params: [] }, ctx.origin);
    case 'tanh':
      return (xs) => ctx.builder.table(clipped(xs), { name: 'tanh', params: [] }, ctx.origin);
    case 'relu':
      return (xs) => ctx.builder.relu(clipped(xs), ctx.origin);
    default:
      return ctx.fail(`activation ${name} (supported: Sigmoid, Tanh, Relu)`);
  }
}

/** A [rows, cols] tensor of forms. */
const matrix = (rows: number, cols: number, at: (r: number, c: number) => Affine): SymTensor => ({
  dims: [rows, cols],
  dtype: 'float',
  data: Array.from({ length: rows * cols }, (_, i) => at(Math.floor(i / cols), i % cols)),
});

/** The transposed weights of one direction: [cols, rows] from a [directions, rows, cols] tensor. */
function transposed(w: SymTensor, dir: number): SymTensor {
  const [, rows, cols] = w.dims;
  return matrix(cols, rows, (k, j) => w.data[(dir * rows + j) * cols + k]);
}

/** x·Wᵀ for rows of x (each a list of forms): [rows, G·hidden] as one list per row. */
function project(ctx: OpContext, xs: Affine[][], wT: SymTensor): Affine[][] {
  const width = wT.dims[1];
  const y = matmul(
    ctx,
    matrix(xs.length, wT.dims[0], (r, c) => xs[r][c]),
    wT,
  ).data;
  return xs.map((_, r) => y.slice(r * width, (r + 1) * width));
}

/**
 * One recurrent node: X [seq, batch, input] (or [batch, seq, input] with layout 1), W [dirs, G·h, input],
 * R [dirs, G·h, h], B [dirs, 2·G·h]; outputs Y [seq, dirs, batch, h], Y_h [dirs, batch, h] and, for
 * LSTM, Y_c (batch-major with layout 1). Steps past a sequence's length leave Y at 0 and the state as it
 * was, so Y_h is each sequence's last state (ONNX's rule).
 */
function recurrent(ctx: OpContext, kind: Kind): SymTensor[] {
  const gates = GATES[kind];
  const layout = ctx.int('layout', 0);
  if (layout !== 0 && layout !== 1) ctx.fail(`layout ${layout}`);
  if (kind === 'LSTM' && ctx.int('input_forget', 0) !== 0) ctx.fail('input_forget = 1 (coupled input and forget gates)');
  const direction = ctx.string('direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) ctx.fail(`direction ${direction}`);
  const directions = direction === 'bidirectional' ? 2 : 1;
  const x0 = ctx.input(0);
  const w = ctx.input(1);
  const r = ctx.input(2);
  const hidden = ctx.int('hidden_size', r.dims[2]);
  // layout 1 is batch-major: [batch, seq, input]; the steps below read [seq, batch, input].
  const [seqLen, batch, inputSize] = layout === 0 ? x0.dims : [x0.dims[1], x0.dims[0], x0.dims[2]];
  const xAt = (t: number, b: number, k: number): Affine => x0.data[layout === 0 ? (t * batch + b) * inputSize + k : (b * seqLen + t) * inputSize + k];
  if (w.dims[0] !== directions || w.dims[1] !== gates * hidden || w.dims[2] !== inputSize)
    ctx.shapeError(`W is [${w.dims}], expected [${directions}, ${gates * hidden}, ${inputSize}]`);
  if (r.dims[0] !== directions || r.dims[1] !== gates * hidden || r.dims[2] !== hidden)
    ctx.shapeError(`R is [${r.dims}], expected [${directions}, ${gates * hidden}, ${hidden}]`);
  const bias = ctx.optional(3);
  const lens = ctx.optional(4) ? ctx.constInput(4, 'sequence_lens') : new Array<number>(batch).fill(seqLen);
  if (lens.length !== batch || lens.some((l) => !Number.isInteger(l) || l < 0 || l > seqLen))
    ctx.shapeError(`sequence_lens [${lens}] for ${batch} sequences of ${seqLen}`);
  // initial_h, initial_c: [directions, batch, hidden], or [batch, directions, hidden] with layout 1.
  const stateAt = (t: SymTensor | undefined, d: number, b: number, j: number): Affine =>
    t ? t.data[layout === 0 ? (d * batch + b) * hidden + j : (b * directions + d) * hidden + j] : constant(0);
  const h0 = ctx.optional(5);
  const c0 = kind === 'LSTM' ? ctx.optional(6) : undefined;
  const peep = kind === 'LSTM' ? ctx.optional(7) : undefined;
  const names = (ctx.attr('activations') as string[] | undefined) ?? [...DEFAULT_ACTIVATIONS[kind], ...(directions === 2 ? DEFAULT_ACTIVATIONS[kind] : [])];
  const perDir = DEFAULT_ACTIVATIONS[kind].length;
  if (names.length !== perDir * directions) ctx.fail(`${names.length} activations for ${directions} direction(s) (${perDir} each)`);
  const threshold = ctx.attr('clip') === undefined ? undefined : ctx.float('clip', 0);
  const lbr = ctx.int('linear_before_reset', 0) !== 0;

  const y: Affine[] = new Array(seqLen * directions * batch * hidden).fill(constant(0));
  const yh: Affine[] = new Array(directions * batch * hidden);
  const yc: Affine[] = new Array(directions * batch * hidden);
  const yAt = (t: number, d: number, b: number, j: number): number =>
    layout === 0 ? ((t * directions + d) * batch + b) * hidden + j : ((b * seqLen + t) * directions + d) * hidden + j;
  const stateIndex = (d: number, b: number, j: number): number => (layout === 0 ? (d * batch + b) * hidden + j : (b * directions + d) * hidden + j);

  for (let d = 0; d < directions; d++) {
    const reverse = direction === 'reverse' || d === 1;
    // clip bounds the gates' inputs; LSTM's output activation h reads the cell state unclipped.
    const [f, g, h] = names.slice(d * perDir, (d + 1) * perDir).map((n, k) => activation(ctx, n, kind === 'LSTM' && k === 2 ? undefined : threshold));
    const wT = transposed(w, d);
    const rT = transposed(r, d);
    // Wb and Rb of gate k, element j; 0 without B.
    const wb = (k: number, j: number) => (bias ? bias.data[d * 2 * gates * hidden + k * hidden + j] : constant(0));
    const rb = (k: number, j: number) => (bias ? bias.data[d * 2 * gates * hidden + (gates + k) * hidden + j] : constant(0));
    const p = (k: number, j: number) => (peep ? peep.data[d * 3 * hidden + k * hidden + j] : constant(0));
    const H = Array.from({ length: batch }, (_, b) => Array.from({ length: hidden }, (_, j) => stateAt(h0, d, b, j)));
    const C = Array.from({ length: batch }, (_, b) => Array.from({ length: hidden }, (_, j) => stateAt(c0, d, b, j)));
    for (let s = 0; s < seqLen; s++) {
      // The sequences still running at this step, and the time each reads (reverse: from its own end).
      const active = lens.flatMap((len, b) => (s < len ? [b] : []));
      if (!active.length) break;
      const times = active.map((b) => (reverse ? lens[b] - 1 - s : s));
      const xw = project(
        ctx,
        active.map((b, i) => Array.from({ length: inputSize }, (_, k) => xAt(times[i], b, k))),
        wT,
      );
      const hr = project(
        ctx,
        active.map((b) => H[b]),
        rT,
      );
      const gate = (k: number, extra: (i: number, j: number) => Affine[] = () => []) =>
        active.flatMap((_, i) =>
          Array.from({ length: hidden }, (_, j) =>
            combine([[xw[i][k * hidden + j], 1], [hr[i][k * hidden + j], 1], [wb(k, j), 1], [rb(k, j), 1], ...extra(i, j).map((e) => [e, 1] as const)]),
          ),
        );
      const flatState = (S: Affine[][]) => active.flatMap((b) => S[b]);
      const at = (i: number, j: number) => i * hidden + j;
      let next: Affine[];
      if (kind === 'RNN') {
        next = f(gate(0));
      } else if (kind === 'GRU') {
        const z = f(gate(0));
        const rg = f(gate(1));
        const hPrev = flatState(H);
        let pre: Affine[];
        if (lbr) {
          // h̃ = g(xW_h + Wb_h + r ⊙ (H·R_hᵀ + Rb_h))
          const gated = ctx.builder.product(
            rg,
            active.flatMap((_, i) => Array.from({ length: hidden }, (_, j) => add(hr[i][2 * hidden + j], rb(2, j)))),
            ctx.origin,
          );
          pre = active.flatMap((_, i) =>
            Array.from({ length: hidden }, (_, j) =>
              combine([
                [xw[i][2 * hidden + j], 1],
                [wb(2, j), 1],
                [gated[at(i, j)], 1],
              ]),
            ),
          );
        } else {
          // h̃ = g(xW_h + (r ⊙ H)·R_hᵀ + Rb_h + Wb_h)
          const rh = ctx.builder.product(rg, hPrev, ctx.origin);
          const rhR = project(
            ctx,
            active.map((_, i) => rh.slice(i * hidden, (i + 1) * hidden)),
            rT,
          );
          pre = active.flatMap((_, i) =>
            Array.from({ length: hidden }, (_, j) =>
              combine([
                [xw[i][2 * hidden + j], 1],
                [rhR[i][2 * hidden + j], 1],
                [wb(2, j), 1],
                [rb(2, j), 1],
              ]),
            ),
          );
        }
        const cand = g(pre);
        // H = (1 − z) ⊙ h̃ + z ⊙ H_prev = h̃ + z ⊙ (H_prev − h̃)
        const mix = ctx.builder.product(
          z,
          hPrev.map((v, e) => sub(v, cand[e])),
          ctx.origin,
        );
        next = cand.map((v, e) => add(v, mix[e]));
      } else {
        const cPrev = flatState(C);
        const peephole = (k: number, state: Affine[]) =>
          peep
            ? ctx.builder.product(
                active.flatMap((_, _i) => Array.from({ length: hidden }, (_, j) => p(k, j))),
                state,
                ctx.origin,
              )
            : undefined;
        const pi = peephole(0, cPrev);
        const pf = peephole(2, cPrev);
        const it = f(gate(0, (i, j) => (pi ? [pi[at(i, j)]] : [])));
        const ft = f(gate(2, (i, j) => (pf ? [pf[at(i, j)]] : [])));
        const ct = g(gate(3));
        const kept = ctx.builder.product(ft, cPrev, ctx.origin);
        const added = ctx.builder.product(it, ct, ctx.origin);
        const cNext = kept.map((v, e) => add(v, added[e]));
        const po = peephole(1, cNext);
        const ot = f(gate(1, (i, j) => (po ? [po[at(i, j)]] : [])));
        next = ctx.builder.product(ot, h(cNext), ctx.origin);
        active.forEach((b, i) => (C[b] = cNext.slice(i * hidden, (i + 1) * hidden)));
      }
      active.forEach((b, i) => {
        H[b] = next.slice(i * hidden, (i + 1) * hidden);
        H[b].forEach((v, j) => (y[yAt(times[i], d, b, j)] = v));
      });
    }
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < hidden; j++) {
        yh[stateIndex(d, b, j)] = H[b][j];
        yc[stateIndex(d, b, j)] = C[b][j];
      }
    }
  }
  const yDims = layout === 0 ? [seqLen, directions, batch, hidden] : [batch, seqLen, directions, hidden];
  const stateDims = layout === 0 ? [directions, batch, hidden] : [batch, directions, hidden];
  if (sizeOf(yDims) !== y.length) ctx.shapeError('inconsistent sizes');
  const out: SymTensor[] = [
    { dims: yDims, dtype: 'float', data: y },
    { dims: stateDims, dtype: 'float', data: yh },
  ];
  if (kind === 'LSTM') out.push({ dims: stateDims, dtype: 'float', data: yc });
  return out;
}

/** Input slots of these ops that are weights: W, R, B (and LSTM's peepholes P); see weightInitializers in trace.ts. */
export const sequenceWeightSlots: Record<string, readonly number[]> = { LSTM: [1, 2, 3, 7], GRU: [1, 2, 3], RNN: [1, 2, 3] };

export const sequenceOps: Record<string, OpImpl> = {
  LSTM: (ctx) => recurrent(ctx, 'LSTM'),
  GRU: (ctx) => recurrent(ctx, 'GRU'),
  RNN: (ctx) => recurrent(ctx, 'RNN'),
};
