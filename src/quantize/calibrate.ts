import { ZkError } from '../core/errors.js';
import { assertNever } from '../core/exhaustive.js';
import { abs, bitsFor, evaluate, max } from './evaluate.js';
import { checkNoWrap, NO_WRAP_LIMIT, walkBounds } from './no-wrap.js';
import type { GadgetGroup, QuantizedGraph, TableGroup } from './plan.js';
import { SATURATION_HEADROOM, fitTable, saturationWindow, tableInputScale } from './table.js';

/** Largest bit width a range check may have: a decomposition into at most 252 bits is unique in BN254's field. */
export const MAX_RANGE_BITS = 252;

function checkWidth(bits: number, g: GadgetGroup, i: number): number {
  if (bits > MAX_RANGE_BITS) {
    throw new ZkError('RANGE_TOO_WIDE', `layer ${i} (${g.op} node ${g.node}) needs ${bits} bits, more than the field allows; lower the scale`, {
      layer: i,
      node: g.node,
    });
  }
  return bits;
}

/**
 * Sets every range width from the peaks seen on calibration inputs, plus `headroom` bits of margin,
 * and fits the tables of `table` groups to their ranges. A shift's width must also cover the shift,
 * so the quotient keeps a sign bit. Groups are calibrated in order, each on the outputs of the
 * calibrated groups before it, so a table's approximation error is part of what later layers see.
 */
export function calibrate(graph: QuantizedGraph, samples: readonly bigint[][][], headroom: number): QuantizedGraph {
  let current = graph;
  // Tables change what later layers see once fitted: run again until every group is calibrated.
  const pending = () => current.groups.findIndex((g) => g.kind === 'table' && g.leaves.length === 0);
  for (let pass = 0; ; pass++) {
    const peaks = current.groups.map(() => [] as bigint[]);
    for (const s of samples) {
      evaluate(current, s, { checkRanges: false }).peaks.forEach((p, i) => p.forEach((v, j) => (peaks[i][j] = max(peaks[i][j] ?? 0n, v))));
    }
    const firstTable = pending();
    const groups = current.groups.map((g, i): GadgetGroup => {
      // Groups after an unfitted table wait for the next pass, when their inputs are final.
      if (firstTable >= 0 && i > firstTable) return g;
      return calibrateGroup(g, i, peaks[i], headroom, current.scale);
    });
    current = { ...current, groups };
    if (firstTable < 0) break;
    if (pass > current.groups.length) throw new ZkError('INTERNAL', 'calibration did not converge');
  }
  current = useProvenRanges({ ...current, inputs: calibrateInputs(current, samples, headroom) });
  checkNoWrap(current);
  return current;
}

/** Private and hashed inputs are range-checked in the circuit: to their calibrated width, like any range. */
function calibrateInputs(graph: QuantizedGraph, samples: readonly bigint[][][], headroom: number): QuantizedGraph['inputs'] {
  if (graph.visibility.input === 'public') return graph.inputs;
  return graph.inputs.map((inp, i) => {
    if (inp.dtype === 'bool') return { ...inp, range: { bits: 1, signed: false } };
    const values = samples.flatMap((s) => s[i]);
    const peak = values.reduce((a, v) => max(a, abs(v)), 0n);
    // Non-negative data (pixels, counts) saves the sign bit of every check.
    const signed = values.some((v) => v < 0n);
    return { ...inp, range: { bits: (signed ? bitsFor(peak) : peak.toString(2).length) + headroom, signed } };
  });
}

/**
 * Where the largest possible |input| of a range check is known from the gadgets before it (tables,
 * signs, booleans, checked ranges) rather than from the 2^64 input bound, and is narrower than the
 * calibrated width, the check takes the proven width: fewer constraints, and never out of range.
 * Shift groups marked `proven` (an op that needs it, such as LayerNorm's 1/σ, large for a row of
 * equal values) take it even when wider.
 */
function useProvenRanges(graph: QuantizedGraph): QuantizedGraph {
  const groups = [...graph.groups];
  walkBounds({ ...graph, groups }, (g, i, inputBound) => {
    if (g.kind !== 'shift' && g.kind !== 'round' && g.kind !== 'sign') return;
    if (inputBound >= NO_WRAP_LIMIT) return;
    const proven = Math.max(bitsFor(inputBound), g.kind === 'sign' ? 2 : g.shift + 2);
    if (proven < g.bits || (g.kind === 'shift' && g.proven && proven !== g.bits)) groups[i] = { ...g, bits: checkWidth(proven, g, i) };
    return groups[i];
  });
  return { ...graph, groups };
}

function calibrateGroup(g: GadgetGroup, i: number, peaks: bigint[], headroom: number, scale: number): GadgetGroup {
  const width = (peak: bigint | undefined) => bitsFor(peak ?? 0n) + headroom;
  switch (g.kind) {
    case 'product':
    case 'zero':
    case 'assert':
    case 'boolean':
    case 'linear':
      return g;
    case 'shift':
    case 'round':
      return { ...g, bits: checkWidth(Math.max(width(peaks[0]), g.shift + 2), g, i) };
    case 'sign':
      return { ...g, bits: checkWidth(Math.max(width(peaks[0]), 1), g, i) };
    case 'divide':
      return {
        ...g,
        bBits: checkWidth(g.bMax !== undefined ? bitsFor(g.bMax) : Math.max(width(peaks[0]), 2), g, i),
        qBits: checkWidth(g.qMax !== undefined ? bitsFor(g.qMax) : Math.max(width(peaks[1]), 2), g, i),
      };
    case 'table':
      return g.leaves.length ? g : calibrateTable(g, i, peaks[0] ?? 0n, headroom, scale);
    default:
      return assertNever(g, 'gadget kind');
  }
}

function calibrateTable(g: TableGroup, i: number, peak: bigint, headroom: number, scale: number): TableGroup {
  const inputScale = tableInputScale(g);
  const lsb = 2 ** -scale;
  let range = Math.max(bitsFor(peak) + headroom, g.shift + 2) - g.shift;
  const saturation = saturationWindow(g.fn, inputScale, lsb);
  let window = range;
  if (saturation !== undefined) {
    // Saturating functions cover a fixed window and return their limits beyond it, with a wider range check.
    window = saturation;
    range = Math.max(range, saturation) + SATURATION_HEADROOM;
  }
  const bits = checkWidth(range + g.shift, g, i);
  const fit = fitTable(g.fn, { scale: inputScale, outScale: g.outScale, window, saturates: saturation !== undefined, lsb });
  return { ...g, bits, window, ...fit };
}
