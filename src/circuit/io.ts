import { chunkCount, digitOffset, type PackedTensor, poseidonChainConstraints } from '../commit/poseidon.js';
import type { CommitmentOf, PublicSegment } from '../commit/public.js';
import { needsSalt } from '../commit/visibility.js';
import { sizeOf } from '../onnx/graph.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import type { LayerCost } from './emit.js';
import { commentText } from './text.js';

/** The public signals in circom's order, named, for main.circom's header. */
export const describeLayout = (layout: readonly PublicSegment[], inputs: string[], outputs: string[]): string =>
  layout
    .map((seg) =>
      seg.kind === 'output' ? outputs[seg.index] : seg.kind === 'input' ? inputs[seg.index] : seg.kind === 'weights' ? 'weights' : `${seg.of}Commitment`,
    )
    .join(', ');

/**
 * The circuit's edges as visibility makes them: signal declarations in public-signal order, the
 * wiring of inputs and weights into `w`, their range checks (a private value must be proven in
 * range: it bounds every form after it, and makes its packing injective) and the Poseidon hashes.
 */
export function ioSection(graph: QuantizedGraph, inputSignals: string[], outputSignals: string[]) {
  const { visibility } = graph;
  const declarations: string[] = [];
  const wiring: string[] = [];
  const commitments: string[] = [];
  const costs: LayerCost[] = [];
  const publicLayout: PublicSegment[] = [];
  const packing: Partial<Record<CommitmentOf, PackedTensor[]>> = {};
  const salted = needsSalt(visibility);

  // Outputs of main first (public), then public inputs: circom's order of public signals.
  graph.outputs.forEach((o, i) => {
    const isPublic = visibility.output === 'public';
    declarations.push(`    signal ${isPublic ? 'output ' : ''}${outputSignals[i]}[${o.forms.length}];`);
    if (isPublic) publicLayout.push({ kind: 'output', index: i, count: o.forms.length });
  });
  const hashed = (['input', 'weights', 'output'] as const).filter((part) => visibility[part] === 'hashed' && (part !== 'weights' || graph.weights.length > 0));
  for (const of of hashed) {
    declarations.push(`    signal output ${of}Commitment;`);
    publicLayout.push({ kind: 'commitment', of });
  }
  graph.inputs.forEach((inp, i) => {
    const n = sizeOf(inp.dims);
    declarations.push(`    signal input ${inputSignals[i]}[${n}];`);
    if (visibility.input === 'public') publicLayout.push({ kind: 'input', index: i, count: n });
  });
  const weightCount = graph.weights.reduce((s, w) => s + w.values.length, 0);
  if (weightCount) {
    declarations.push(`    signal input weights[${weightCount}];`);
    if (visibility.weights === 'public') publicLayout.push({ kind: 'weights', count: weightCount });
  }
  if (salted) declarations.push('    signal input salt; // blinds the input and output commitments: low-entropy data cannot be guessed from them');

  /** Range-checks and packs `count` values of `source` from `offset`; returns the packed chunk expressions. */
  const pack = (name: string, spec: PackedTensor, source: string, offset: number, node: string): string[] => {
    wiring.push(`    component ${name} = PackDigits(${spec.count}, ${spec.bits}, ${digitOffset(spec)});`);
    wiring.push(`    for (var j = 0; j < ${spec.count}; j++) ${name}.in[j] <== ${source}[${offset} + j];`);
    costs.push({
      layer: -1,
      node,
      op: 'range check',
      gadget: `PackDigits(${spec.count}, ${spec.bits})`,
      count: spec.count,
      constraints: spec.count * spec.bits,
    });
    return Array.from({ length: chunkCount(spec) }, (_, c) => `${name}.out[${c}]`);
  };
  const hash = (of: CommitmentOf, parts: string[]) => {
    const all = salted && of !== 'weights' ? ['salt', ...parts] : parts;
    commitments.push(`    // ${of} commitment: Poseidon over ${all.length} field elements${salted && of !== 'weights' ? ' (the salt first)' : ''}`);
    commitments.push(`    component ${of}Hash = PoseidonChain(${all.length});`);
    all.forEach((p, k) => commitments.push(`    ${of}Hash.in[${k}] <== ${p};`));
    commitments.push(`    ${of}Commitment <== ${of}Hash.out;`, '');
    costs.push({ layer: -1, node: of, op: 'commitment', gadget: `PoseidonChain(${all.length})`, count: 1, constraints: poseidonChainConstraints(all.length) });
  };

  const inputChunks: string[] = [];
  graph.inputs.forEach((inp, i) => {
    const n = sizeOf(inp.dims);
    wiring.push(
      `    // graph input ${commentText(inp.name)} [${inp.dims}], ${inp.dtype} at scale 2^${inp.scale} (${visibility.input}): wires ${inp.firstWire}..${inp.firstWire + n - 1}`,
    );
    wiring.push(`    for (var j = 0; j < ${n}; j++) w[${inp.firstWire} + j] <== ${inputSignals[i]}[j];`);
    if (inp.range) {
      const spec: PackedTensor = { name: inp.name, count: n, ...inp.range };
      (packing.input ??= []).push(spec);
      inputChunks.push(...pack(`inRange${i}`, spec, inputSignals[i], 0, inp.name));
    }
    wiring.push('');
  });
  let offset = 0;
  const weightChunks: string[] = [];
  for (const [t, wt] of graph.weights.entries()) {
    const n = wt.values.length;
    wiring.push(
      `    // weights ${commentText(wt.name)} [${wt.dims}] at scale 2^${wt.scale} (${visibility.weights}): wires ${wt.firstWire}..${wt.firstWire + n - 1}`,
    );
    wiring.push(`    for (var j = 0; j < ${n}; j++) w[${wt.firstWire} + j] <== weights[${offset} + j];`);
    if (visibility.weights !== 'public') {
      const spec: PackedTensor = { name: wt.name, count: n, bits: wt.bits, signed: true };
      (packing.weights ??= []).push(spec);
      weightChunks.push(...pack(`weightRange${t}`, spec, 'weights', offset, wt.name));
    }
    wiring.push('');
    offset += n;
  }
  if (visibility.input === 'hashed') hash('input', inputChunks);
  if (hashed.includes('weights')) hash('weights', weightChunks);
  if (visibility.output === 'hashed') {
    packing.output = graph.outputs.map((o) => ({ name: o.name, count: o.forms.length, bits: 0, signed: true }));
    hash(
      'output',
      graph.outputs.flatMap((o, i) => o.forms.map((_, j) => `${outputSignals[i]}[${j}]`)),
    );
  }
  return { declarations, wiring, commitments, costs, publicLayout, packing };
}
