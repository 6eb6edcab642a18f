import { fromFixedPoint, toFixedPoint } from '../core/fixed-point.js';
import { ZkError } from '../core/errors.js';
import { evalFunction, functionSpec } from './functions.js';
import type { TableFunction, TableGroup, TableLeaf } from './plan.js';

/**
 * Piecewise-linear tables for the `table` gadget: choosing the window, fitting the leaves, and the
 * integer semantics the circuit implements.
 *
 * The input's bit decomposition (its range check) already holds the bits of the window position w,
 * so a leaf is a prefix of w's bits: leaves form a binary tree over the window, split greedily where
 * the function bends most until every leaf's line is within the target error. Selecting a leaf costs
 * one multiplication per split (the indicator of a node times the next bit), so a table costs about
 * one constraint per leaf, however wide the window: flat stretches of a function are single leaves.
 */

/** Largest error of a leaf's line, in LSBs of the working scale, times max(1, |f|) on the leaf. */
export const DEFAULT_TARGET_LSB = 0.5;
export const MAX_LEAVES = 128;
/** Extra range bits a saturating table accepts beyond its window or calibrated range (then saturates). */
export const SATURATION_HEADROOM = 2;
/** Windows up to this many bits are fitted and checked on every point; wider ones on samples. */
const EXHAUSTIVE_BITS = 20;
const SAMPLES = 1 << 14;

export const tableInputScale = (g: Pick<TableGroup, 'inScale' | 'shift'>): number => g.inScale - g.shift;

/**
 * For a function with limits at ±∞: the bits m of the smallest window [−2^(m−1), 2^(m−1)) (in
 * units of 2^−scale) outside which the function is within lsb/8 of its limits. Undefined otherwise.
 */
export function saturationWindow(fn: TableFunction, scale: number, lsb: number): number | undefined {
  const limits = functionSpec(fn).limits?.(fn.params);
  if (!limits) return undefined;
  const tol = lsb / 8;
  for (let e = -scale; e <= 40; e++) {
    const w = 2 ** e;
    let ok = true;
    for (let i = 0; i <= 64 && ok; i++) {
      const x = w * 2 ** (i / 8);
      ok = Math.abs(evalFunction(fn, x) - limits.high) <= tol && Math.abs(evalFunction(fn, -x) - limits.low) <= tol;
    }
    if (ok) return e + scale + 1;
  }
  throw new ZkError('INTERNAL', `${fn.name} does not reach its limits`);
}

interface Fit {
  c0: number;
  c1: number;
  /** Largest |c0 + c1·w − y| over the leaf, in output units. */
  err: number;
  /** Largest |f| on the leaf, real units. */
  maxAbs: number;
}

interface Node {
  depth: number;
  index: number;
  fit: Fit;
}

export interface TableFit {
  leaves: TableLeaf[];
  low: bigint;
  high: bigint;
  /** Largest |table − f| over the grid of the window (and the saturation bound outside it), real units. */
  maxError: number;
}

export interface FitOptions {
  /** Scale of the table's input v (fraction bits). */
  scale: number;
  outScale: number;
  /** Window bits m: positions w ∈ [0, 2^m) stand for v = w − 2^(m−1). */
  window: number;
  /** Whether the table saturates outside its window (the function has limits). */
  saturates: boolean;
  /** The working scale's LSB, which the target error is measured in. */
  lsb: number;
  targetLsb?: number;
  maxLeaves?: number;
}

/** Fits the leaves of a table for `fn` (see the module comment). */
export function fitTable(fn: TableFunction, o: FitOptions): TableFit {
  const m = o.window;
  const half = 2 ** (m - 1);
  const outUnit = 2 ** o.outScale;
  const exhaustive = m <= EXHAUSTIVE_BITS;
  const grid = exhaustive ? Float64Array.from({ length: 2 ** m }, (_, w) => evalFunction(fn, fromFixedPoint(w - half, o.scale))) : undefined;
  const valueAt = (w: number): number => (grid ? grid[w] : evalFunction(fn, fromFixedPoint(w - half, o.scale)));
  const targetLsb = o.targetLsb ?? DEFAULT_TARGET_LSB;
  const maxLeaves = o.maxLeaves ?? MAX_LEAVES;

  const fit = (depth: number, index: number): Fit => {
    const size = 2 ** (m - depth);
    const lo = index * size;
    const step = exhaustive || size <= SAMPLES ? 1 : size / SAMPLES;
    const ws: number[] = [];
    for (let i = 0; i < size; i += step) ws.push(lo + Math.floor(i));
    if (ws[ws.length - 1] !== lo + size - 1) ws.push(lo + size - 1);
    const ys = ws.map((w) => valueAt(w) * outUnit);
    const n = ws.length;
    const candidates = new Set<number>([0]);
    if (n > 1) {
      const secant = (ys[n - 1] - ys[0]) / (ws[n - 1] - ws[0]);
      const mw = ws.reduce((s, w) => s + w, 0) / n;
      const my = ys.reduce((s, y) => s + y, 0) / n;
      let sxy = 0;
      let sxx = 0;
      ws.forEach((w, i) => ((sxy += (w - mw) * (ys[i] - my)), (sxx += (w - mw) ** 2)));
      for (const s of [secant, sxy / sxx]) for (const c of [Math.floor(s), Math.ceil(s)]) candidates.add(c);
    }
    let best: Fit | undefined;
    for (const c1 of candidates) {
      let hi = -Infinity;
      let lo2 = Infinity;
      for (let i = 0; i < n; i++) {
        const r = ys[i] - c1 * ws[i];
        if (r > hi) hi = r;
        if (r < lo2) lo2 = r;
      }
      const c0 = Math.round((hi + lo2) / 2);
      const err = Math.max(hi - c0, c0 - lo2);
      if (!best || err < best.err) best = { c0, c1, err, maxAbs: 0 };
    }
    best!.maxAbs = ys.reduce((s, y) => Math.max(s, Math.abs(y)), 0) / outUnit;
    return best!;
  };
  const excess = (node: Node): number => node.fit.err / outUnit / (targetLsb * o.lsb * Math.max(1, node.fit.maxAbs));

  let leaves: Node[] = [{ depth: 0, index: 0, fit: fit(0, 0) }];
  while (leaves.length < maxLeaves) {
    let worst = -1;
    let ratio = 1;
    leaves.forEach((l, i) => {
      const r = excess(l);
      if (r > ratio && l.depth < m) {
        ratio = r;
        worst = i;
      }
    });
    if (worst < 0) break;
    const { depth, index } = leaves[worst];
    leaves = [
      ...leaves.slice(0, worst),
      { depth: depth + 1, index: 2 * index, fit: fit(depth + 1, 2 * index) },
      { depth: depth + 1, index: 2 * index + 1, fit: fit(depth + 1, 2 * index + 1) },
      ...leaves.slice(worst + 1),
    ];
  }
  const limits = o.saturates ? functionSpec(fn).limits!(fn.params) : undefined;
  // Outside the window the table returns the limit; the window was chosen so that f is within lsb/8 of it there.
  const saturationError = limits
    ? Math.max(Math.abs(evalFunction(fn, half / 2 ** o.scale) - limits.high), Math.abs(evalFunction(fn, -half / 2 ** o.scale - 2 ** -o.scale) - limits.low))
    : 0;
  const toBig = (v: number): bigint => {
    if (!Number.isFinite(v)) throw new ZkError('RANGE_TOO_WIDE', `the table of ${fn.name} has a coefficient that is not finite`);
    return BigInt(Math.round(v));
  };
  return {
    leaves: leaves.map((l) => ({ depth: l.depth, index: l.index, c0: toBig(l.fit.c0), c1: toBig(l.fit.c1) })),
    low: limits ? toBig(limits.low * outUnit) : 0n,
    high: limits ? toBig(limits.high * outUnit) : 0n,
    maxError: Math.max(saturationError, ...leaves.map((l) => l.fit.err / outUnit)),
  };
}

/** Start of a leaf's interval of window positions. */
const leafStart = (l: TableLeaf, window: number): bigint => BigInt(l.index) << BigInt(window - l.depth);

/** The leaf holding window position w (leaves are sorted by start and tile [0, 2^window)). */
export function findLeaf(leaves: readonly TableLeaf[], window: number, w: bigint): TableLeaf {
  let lo = 0;
  let hi = leaves.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (leafStart(leaves[mid], window) <= w) lo = mid;
    else hi = mid - 1;
  }
  return leaves[lo];
}

/**
 * The table's integer output for a range-checked input x (exactly what the circuit computes). Before
 * calibration (no leaves yet) it is the function itself, rounded: calibration only needs the values.
 */
export function evalTable(g: TableGroup, x: bigint): bigint {
  const v = x >> BigInt(g.shift);
  if (g.leaves.length === 0) return toFixedPoint(evalFunction(g.fn, fromFixedPoint(v, tableInputScale(g))), g.outScale);
  const half = 1n << BigInt(g.window - 1);
  if (v < -half) return g.low;
  if (v >= half) return g.high;
  const w = v + half;
  const leaf = findLeaf(g.leaves, g.window, w);
  return leaf.c0 + leaf.c1 * w;
}

/** Largest |output| of a calibrated table, for the no-wrap proof: lines are extreme at their leaf's ends. */
export function tableOutputBound(g: TableGroup): bigint {
  const abs = (v: bigint) => (v < 0n ? -v : v);
  let bound = abs(g.low) > abs(g.high) ? abs(g.low) : abs(g.high);
  for (const l of g.leaves) {
    const start = leafStart(l, g.window);
    const end = start + (1n << BigInt(g.window - l.depth)) - 1n;
    for (const w of [start, end]) {
      const y = abs(l.c0 + l.c1 * w);
      if (y > bound) bound = y;
    }
  }
  return bound;
}
