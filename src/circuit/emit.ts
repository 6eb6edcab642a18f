import { assertNever } from '../core/exhaustive.js';
import type { PackedTensor } from '../commit/poseidon.js';
import type { CommitmentOf, PublicSegment } from '../commit/public.js';
import { groupConstraints, groupSize, type GadgetGroup, type IntForm, type QuantizedGraph } from '../quantize/plan.js';
import { describeLayout, ioSection } from './io.js';
import { tableName, tableTemplate } from './table-template.js';
import { affine, commentText } from './text.js';

/** The circom program for a quantized graph, and what each layer costs. */
export interface CircuitSource {
  /** main.circom's text. */
  code: string;
  /** Signal names of the witness input, one per graph input, in graph order. */
  inputSignals: string[];
  outputSignals: string[];
  layers: LayerCost[];
  /** The public signals, in circom's order. */
  publicLayout: PublicSegment[];
  /** How each hashed part is packed, as the circuit does it. */
  packing: Partial<Record<CommitmentOf, PackedTensor[]>>;
}

export interface LayerCost {
  /** Index of the gadget group; −1 for the range checks and hashes of inputs, weights and outputs. */
  layer: number;
  node: string;
  op: string;
  gadget: string;
  count: number;
  constraints: number;
}

export const LIBRARY_INCLUDES = ['zkinfer/fixedpoint.circom', 'zkinfer/commit.circom'];

function gadgetName(g: GadgetGroup, index: number): string {
  switch (g.kind) {
    case 'product':
      return 'Product';
    case 'shift':
      return g.relu ? `RescaleRelu(${g.shift}, ${g.bits})` : `Rescale(${g.shift}, ${g.bits})`;
    case 'table':
      return `${tableName(index)}()`;
    case 'divide':
      return g.positive ? `DividePositive(${g.k}, ${g.bBits}, ${g.qBits})` : `DivideSigned(${g.k}, ${g.bBits}, ${g.qBits})`;
    case 'zero':
      return 'ZeroTest()';
    case 'sign':
      return `NonNegative(${g.bits})`;
    case 'round':
      return g.mode === 'trunc' ? `TruncShift(${g.shift}, ${g.bits})` : `RoundHalfEven(${g.shift}, ${g.bits})`;
    case 'assert':
      return 'assertion';
    case 'linear':
      return 'linear';
    case 'boolean':
      return 'Boolean()';
    default:
      return assertNever(g, 'gadget kind');
  }
}

/** What a layer's gadget is, for model.json: the template, and for tables the function and its leaves. */
const gadgetLabel = (g: GadgetGroup, index: number): string =>
  g.kind === 'table'
    ? `Table(${g.fn.name}${g.fn.params.length ? ` ${g.fn.params.join(',')}` : ''}: ${g.leaves.length} leaves, window ${g.window} bits, range ${g.bits} bits)`
    : gadgetName(g, index);

/**
 * Prints the graph as one readable circom template. All signals live in one wire array `w`; each
 * gadget group is a component array whose inputs are written out as explicit affine expressions
 * over earlier wires, one line per element, with the weights as integer constants. (Explicit
 * expressions also compile about 20x faster in circom than accumulating them in a `var` loop.)
 * A model past `split.mainTerms` terms gets its gadget input forms in templates of their own (FormSplit).
 */
export function emitCircom(graph: QuantizedGraph, modelName: string, split: FormSplit = FORM_SPLIT): CircuitSource {
  const { visibility } = graph;
  const inputSignals = graph.inputs.map((_, i) => `in${i}`);
  const outputSignals = graph.outputs.map((_, i) => `out${i}`);
  const body: string[] = [];
  const layers: LayerCost[] = [];
  const io = ioSection(graph, inputSignals, outputSignals);
  body.push(...io.wiring);
  const templates: string[] = [];
  const splitForms = termCount(graph) > split.mainTerms;
  graph.groups.forEach((g, index) => {
    const name = `l${index}`;
    const count = groupSize(g);
    const constraints = groupConstraints(g);
    const gadget = gadgetName(g, index);
    layers.push({ layer: index, node: g.node, op: g.op, gadget: gadgetLabel(g, index), count, constraints });
    body.push(`    // layer ${index}: ${commentText(g.op)} ${commentText(g.node)}: ${count} x ${gadgetLabel(g, index)}, ${constraints} constraints`);
    const out = `out: wires ${g.firstWire}..${g.firstWire + count - 1}`;
    switch (g.kind) {
      case 'product':
        body.push(`    // ${out} at scale 2^${g.outScale}`);
        g.a.forEach((a, j) => body.push(`    w[${g.firstWire + j}] <== (${affine(a)}) * (${affine(g.b[j])});`));
        break;
      case 'linear':
        // One linear constraint per wire (kept as such under --O1): later forms read one wire instead of these terms.
        body.push(`    // ${out} at scale 2^${g.outScale}, each pinned to its form by one linear constraint`);
        g.inputs.forEach((f, j) => body.push(`    w[${g.firstWire + j}] <== ${affine(f)};`));
        break;
      case 'assert':
        body.push(`    // each must be 0: ${commentText(g.what)}`);
        g.inputs.forEach((f) => body.push(`    ${affine(f)} === 0;`));
        break;
      case 'divide':
        body.push(`    // a / b rounded: a·2^${g.k} / b, ${out} at scale 2^${g.outScale}`);
        body.push(`    component ${name}[${count}];`);
        body.push(`    for (var j = 0; j < ${count}; j++) ${name}[j] = ${gadget};`);
        g.a.forEach((a, j) => body.push(`    ${name}[${j}].a <== ${affine(a)};`, `    ${name}[${j}].b <== ${affine(g.b[j])};`));
        body.push(`    for (var j = 0; j < ${count}; j++) w[${g.firstWire} + j] <== ${name}[j].out;`);
        break;
      case 'shift':
      case 'table':
      case 'zero':
      case 'sign':
      case 'round':
      case 'boolean': {
        if (g.kind === 'table') templates.push(...tableTemplate(tableName(index), g, index));
        const range = g.kind === 'zero' ? 'tested for zero' : g.kind === 'boolean' ? 'checked to be 0 or 1' : `range-checked to ${g.bits} signed bits`;
        const scales = g.kind === 'shift' || g.kind === 'table' || g.kind === 'round' ? ` at scale 2^${g.inScale}` : '';
        const outScale = g.kind === 'shift' || g.kind === 'table' || g.kind === 'round' ? ` at scale 2^${g.outScale}` : ' (0 or 1)';
        body.push(`    // in: affine forms${scales}, ${range}; ${out}${outScale}`);
        body.push(`    component ${name}[${count}];`);
        body.push(`    for (var j = 0; j < ${count}; j++) ${name}[j] = ${gadget};`);
        if (splitForms) body.push(...formTemplates(name, g.inputs, g.firstWire, split.formTerms, templates));
        else g.inputs.forEach((f, j) => body.push(`    ${name}[${j}].in <== ${affine(f)};`));
        body.push(`    for (var j = 0; j < ${count}; j++) w[${g.firstWire} + j] <== ${name}[j].out;`);
        break;
      }
      default:
        assertNever(g, 'gadget kind');
    }
    body.push('');
  });

  graph.outputs.forEach((out, i) => {
    body.push(
      `    // graph output ${commentText(out.name)} [${out.dims}] at scale 2^${out.scale}${visibility.output === 'public' ? '' : ` (${visibility.output})`}`,
    );
    out.forms.forEach((f, j) => body.push(`    ${outputSignals[i]}[${j}] <== ${affine(f)};`));
    body.push('');
  });
  body.push(...io.commitments);
  layers.push(...io.costs);

  const total = layers.reduce((s, l) => s + l.constraints, 0);
  const publicNames = io.publicLayout.flatMap((seg) => (seg.kind === 'input' ? [inputSignals[seg.index]] : seg.kind === 'weights' ? ['weights'] : []));
  const publicList = publicNames.length ? ` {public [${publicNames.join(', ')}]}` : '';
  const code = [
    'pragma circom 2.1.0;',
    '',
    `// Generated by zkinfer from the ONNX model ${commentText(modelName)}. Fixed point: a value v is the integer`,
    `// round(v * 2^scale) in BN254's scalar field (negatives as p - |v|), working scale 2^${graph.scale}.`,
    `// Visibility: input ${visibility.input}, weights ${visibility.weights}, output ${visibility.output}. ${total} non-linear constraints.`,
    `// Public signals, in order: ${describeLayout(io.publicLayout, inputSignals, outputSignals) || 'none'}.`,
    '',
    ...LIBRARY_INCLUDES.map((f) => `include "${f}";`),
    '',
    ...templates,
    'template Model() {',
    ...io.declarations,
    `    signal w[${graph.wireCount}];`,
    '',
    ...body,
    '}',
    '',
    `component main${publicList} = Model();`,
    '',
  ].join('\n');
  return { code, inputSignals, outputSignals, layers, publicLayout: io.publicLayout, packing: io.packing };
}

/**
 * V8 refuses to compile a WebAssembly function over 7,654,321 bytes, and circom writes each template
 * as one function: about 34 bytes per term of an affine form (measured on LeNet-5, whose 560,000
 * terms made a 19 MB function). Past this many terms in the model's forms, the gadgets' input forms
 * move into templates of at most `formTerms` terms each (formTemplates); smaller models print as before.
 */
export interface FormSplit {
  mainTerms: number;
  formTerms: number;
}
export const FORM_SPLIT: FormSplit = { mainTerms: 150_000, formTerms: 100_000 };

function termCount(graph: QuantizedGraph): number {
  const forms = (g: GadgetGroup): IntForm[] => (g.kind === 'product' || g.kind === 'divide' ? [...g.a, ...g.b] : g.inputs);
  return [...graph.groups.flatMap(forms), ...graph.outputs.flatMap((o) => o.forms)].reduce((n, f) => n + f.wires.length, 0);
}

/**
 * The input forms of component array `name` computed in templates of their own (pushed onto
 * `templates`), each reading the wires before the group (`w[0..firstWire)`, copies that circom --O1
 * merges away) and giving its forms as outputs; the lines of main that wire them in. The linear
 * constraints are the same ones, one per form; the gadget inputs become signal-to-signal links.
 */
function formTemplates(name: string, forms: readonly IntForm[], firstWire: number, formTerms: number, templates: string[]): string[] {
  const lines: string[] = [];
  for (let start = 0, part = 0; start < forms.length; part++) {
    let end = start;
    for (let terms = 0; end < forms.length && (end === start || terms + forms[end].wires.length <= formTerms); end++) terms += forms[end].wires.length;
    const template = `${name.toUpperCase()}Forms${part}`;
    templates.push(`template ${template}() {`, `    signal input w[${firstWire}];`, `    signal output out[${end - start}];`);
    for (let j = start; j < end; j++) templates.push(`    out[${j - start}] <== ${affine(forms[j])};`);
    templates.push('}', '');
    const c = `${name}f${part}`;
    lines.push(
      `    component ${c} = ${template}();`,
      `    for (var j = 0; j < ${firstWire}; j++) ${c}.w[j] <== w[j];`,
      `    for (var j = 0; j < ${end - start}; j++) ${name}[${start} + j].in <== ${c}.out[j];`,
    );
    start = end;
  }
  return lines;
}
