import { assertNever } from '../core/exhaustive.js';
import { chunkCount, digitOffset, type PackedTensor, poseidonChainConstraints } from '../commit/poseidon.js';
import type { CommitmentOf, PublicSegment } from '../commit/public.js';
import { needsSalt } from '../commit/visibility.js';
import { groupConstraints, groupSize, type GadgetGroup, type IntForm, type QuantizedGraph, type TableGroup } from '../quantize/plan.js';
import { sizeOf } from '../onnx/graph.js';

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

const tableName = (index: number): string => `Table${index}`;

/**
 * A string from the model (node, tensor or graph name) as it may appear in a `//` comment of
 * main.circom: quoted, cut to 64 characters, every character outside printable ASCII escaped
 * (`\n`, `\u2028`, …) and both comment delimiters broken, so no name can end its comment or line,
 * or open one, and become code.
 * Only identifiers we generate ever reach the code itself.
 */
export function commentText(s: string): string {
  const cut = s.length > 64 ? `${s.slice(0, 64)}...` : s;
  return JSON.stringify(cut)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\*\//g, '*\\/')
    .replace(/\/\*/g, '/\\*');
}

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
    body.push(`    // graph output ${commentText(out.name)} [${out.dims}] at scale 2^${out.scale}${visibility.output === 'public' ? '' : ` (${visibility.output})`}`);
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

const describeLayout = (layout: readonly PublicSegment[], inputs: string[], outputs: string[]): string =>
  layout
    .map((seg) => (seg.kind === 'output' ? outputs[seg.index] : seg.kind === 'input' ? inputs[seg.index] : seg.kind === 'weights' ? 'weights' : `${seg.of}Commitment`))
    .join(', ');

/**
 * The circuit's edges as visibility makes them: signal declarations in public-signal order, the
 * wiring of inputs and weights into `w`, their range checks (a private value must be proven in
 * range: it bounds every form after it, and makes its packing injective) and the Poseidon hashes.
 */
function ioSection(graph: QuantizedGraph, inputSignals: string[], outputSignals: string[]) {
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
    costs.push({ layer: -1, node, op: 'range check', gadget: `PackDigits(${spec.count}, ${spec.bits})`, count: spec.count, constraints: spec.count * spec.bits });
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
    wiring.push(`    // graph input ${commentText(inp.name)} [${inp.dims}], ${inp.dtype} at scale 2^${inp.scale} (${visibility.input}): wires ${inp.firstWire}..${inp.firstWire + n - 1}`);
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
    wiring.push(`    // weights ${commentText(wt.name)} [${wt.dims}] at scale 2^${wt.scale} (${visibility.weights}): wires ${wt.firstWire}..${wt.firstWire + n - 1}`);
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
    hash('output', graph.outputs.flatMap((o, i) => o.forms.map((_, j) => `${outputSignals[i]}[${j}]`)));
  }
  return { declarations, wiring, commitments, costs, publicLayout, packing };
}

/**
 * `bias + c*w[i] - c*w[j] ...`. circom evaluates a sum recursively, and a left-deep chain of hundreds
 * of terms overflows its stack, so runs of 8 terms are joined as a balanced tree of parentheses.
 */
function affine(f: IntForm): string {
  const terms = f.wires.map((wire, t) => {
    const c = f.coefs[t];
    const mag = c < 0n ? -c : c;
    return { negative: c < 0n, text: mag === 1n ? `w[${wire}]` : `${mag}*w[${wire}]` };
  });
  const chunks: string[] = [];
  for (let i = 0; i < terms.length; i += 8) {
    chunks.push(terms.slice(i, i + 8).map((t, k) => (k === 0 ? (t.negative ? '-' : '') + t.text : `${t.negative ? '-' : '+'} ${t.text}`)).join(' '));
  }
  const sum = balanced(chunks);
  if (!sum) return f.bias.toString();
  return f.bias === 0n ? sum : `${f.bias} + ${chunks.length > 1 ? sum : `(${sum})`}`;
}

function balanced(parts: string[]): string {
  if (parts.length <= 1) return parts[0] ?? '';
  const mid = Math.ceil(parts.length / 2);
  return `(${balanced(parts.slice(0, mid))})\n        + (${balanced(parts.slice(mid))})`;
}

/** `c*x` terms joined with signs: coefficients are bigints, x signal expressions. */
function linear(terms: ReadonlyArray<readonly [bigint, string]>, bias = 0n): string {
  const parts: string[] = [];
  for (const [c, x] of terms) {
    if (c === 0n) continue;
    const mag = c < 0n ? -c : c;
    const text = mag === 1n ? x : `${mag}*${x}`;
    parts.push(parts.length === 0 ? (c < 0n ? `-${text}` : text) : `${c < 0n ? '-' : '+'} ${text}`);
  }
  if (bias !== 0n || parts.length === 0) parts.push(parts.length === 0 ? String(bias) : `${bias < 0n ? '-' : '+'} ${bias < 0n ? -bias : bias}`);
  return parts.join(' ');
}

/**
 * The circom template of one table group (see TableGroup and table.ts). The input's decomposition
 * gives the window position w's bits; each internal node of the leaf tree splits its indicator by the
 * next bit of w, one multiplication (the root's split is linear unless the window flag gates it); the
 * leaves' indicators select the line by linear combinations, and one product applies the slope.
 * Outside the window (when the range is wider), a ZeroTest on the bits above it clears every
 * indicator and the output is the limit on the side of the input's sign.
 */
function tableTemplate(name: string, g: TableGroup, index: number): string[] {
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
