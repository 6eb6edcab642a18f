import type { TableGroup } from '../quantize/plan.js';
import { commentText, linear } from './text.js';

/** The name of the circom template of table group `index`. */
export const tableName = (index: number): string => `Table${index}`;

/**
 * The circom template of one table group (see TableGroup and table.ts). The input's decomposition
 * gives the window position w's bits; each internal node of the leaf tree splits its indicator by the
 * next bit of w, one multiplication (the root's split is linear unless the window flag gates it); the
 * leaves' indicators select the line by linear combinations, and one product applies the slope.
 * Outside the window (when the range is wider), a ZeroTest on the bits above it clears every
 * indicator and the output is the limit on the side of the input's sign.
 */
export function tableTemplate(name: string, g: TableGroup, index: number): string[] {
  const bits = g.bits;
  const m = g.window;
  const range = bits - g.shift;
  const windowed = range > m;
  const sign = `b.out[${bits - 1}]`;
  /** Bit j of the window position w = v + 2^(m−1): the sign for the top bit, else the decomposition's bits above the shift. */
  const bit = (j: number): string => (j === m - 1 ? sign : `b.out[${g.shift + j}]`);
  const lines: string[] = [
    `// layer ${index}: ${commentText(`${g.fn.name}(${g.fn.params.join(', ')})`)} at input scale 2^${g.inScale - g.shift}, output scale 2^${g.outScale}; ${g.leaves.length} leaves over a window of ${m} bits, max error ${g.maxError.toExponential(2)}`,
    `template ${name}() {`,
    '    signal input in;',
    '    signal output out;',
    `    component b = Num2Bits(${bits});`,
    `    b.in <== in + ${1n << BigInt(bits - 1)};`,
    `    signal w <== ${linear(Array.from({ length: m }, (_, j) => [1n << BigInt(j), bit(j)] as const))};`,
  ];
  let root = '1';
  if (windowed) {
    // v's bits m−1 .. range−2 lie above the window: v is inside iff they all equal 1 − sign.
    const n = range - m;
    const above = Array.from({ length: n }, (_, i) => [1n, `b.out[${g.shift + m - 1 + i}]`] as const);
    lines.push('    component inside = ZeroTest();', `    inside.in <== ${linear([...above, [BigInt(n), sign]], -BigInt(n))};`);
    root = 'inside.out';
  }
  // Indicators: the tree's nodes are every proper prefix of a leaf.
  const indicator = new Map<string, string>([['0:0', root]]);
  const key = (d: number, i: number) => `${d}:${i}`;
  const internal = new Set<string>();
  for (const l of g.leaves) for (let d = 0; d < l.depth; d++) internal.add(key(d, l.index >> (l.depth - d)));
  const order = [...internal].map((k) => k.split(':').map(Number)).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [d, i] of order) {
    const e = indicator.get(key(d, i))!;
    const x = bit(m - 1 - d);
    const one = `e${d + 1}_${2 * i + 1}`;
    const zero = `e${d + 1}_${2 * i}`;
    if (e === '1') {
      indicator.set(key(d + 1, 2 * i + 1), x);
      indicator.set(key(d + 1, 2 * i), `(1 - ${x})`);
    } else {
      lines.push(`    signal ${one} <== ${e} * ${x};`, `    signal ${zero} <== ${e} - ${one};`);
      indicator.set(key(d + 1, 2 * i + 1), one);
      indicator.set(key(d + 1, 2 * i), zero);
    }
  }
  const leafInd = g.leaves.map((l) => indicator.get(key(l.depth, l.index))!);
  const slopes = new Set(g.leaves.map((l) => l.c1));
  const terms: string[] = [linear(g.leaves.map((l, k) => [l.c0, leafInd[k]] as const))];
  if (slopes.size > 1 || (windowed && !slopes.has(0n))) {
    lines.push(`    signal slope <== ${linear(g.leaves.map((l, k) => [l.c1, leafInd[k]] as const))};`, '    signal p <== slope * w;');
    terms.push('p');
  } else if (!slopes.has(0n)) {
    terms.push(`${[...slopes][0]}*w`);
  }
  if (windowed) {
    // zs = inside·sign: the root's upper child, or its own product when the root is a leaf.
    let zs = indicator.get(key(1, 1));
    if (!zs) {
      lines.push(`    signal zs <== inside.out * ${sign};`);
      zs = 'zs';
    }
    terms.push(`${g.high}*(${sign} - ${zs})`, `${g.low}*(1 - ${sign} - inside.out + ${zs})`);
  }
  lines.push(`    out <== ${terms.join(' + ')};`, '}', '');
  return lines;
}
