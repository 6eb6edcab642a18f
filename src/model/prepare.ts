import { ZkError } from '../core/errors.js';
import { parseInputs } from '../io/input.js';
import { boundedSize, type OnnxGraph, sizeOf, type ValueInfo } from '../onnx/graph.js';
import { RESERVED_NAMES } from '../onnx/load.js';

/**
 * What the user settles about a graph before it is quantized: the size of each symbolic dimension
 * (`--dim sequence=4`) and the values of inputs that only set an op's parameters (`--fix axes=[1]`:
 * ONNX's operator suite passes axes, shapes, scales, pads, k and depth as graph inputs, where
 * exporters write constants).
 */
export interface GraphSettings {
  /** Symbolic dimension name → size. */
  dims?: Record<string, number>;
  /** Graph input name → its values (row-major), fixed as a constant of the circuit. */
  fix?: Record<string, number[]>;
}

/** The graph as the compiler sees it, and what onnxruntime needs to run the original model. */
/** Whether any dim is sized or input fixed (empty settings change nothing, so none are recorded). */
export const hasGraphSettings = (s: GraphSettings | undefined): s is GraphSettings =>
  !!s && (Object.keys(s.dims ?? {}).length > 0 || Object.keys(s.fix ?? {}).length > 0);

export interface PreparedGraph {
  /** Fixed inputs are initializers here and symbolic dims have their sizes. */
  graph: OnnxGraph;
  /** Every input of the ONNX file, in its order, with dims resolved: what onnxruntime is fed. */
  referenceInputs: ValueInfo[];
  /** A sample for the compiled inputs → the feed of every reference input (fixed ones filled in). */
  referenceValues(sample: readonly number[][]): number[][];
  /** The symbolic dims and the size each got. */
  dims: Record<string, number>;
}

/**
 * Applies the settings to a loaded graph. Symbolic dims not named take their size from the first
 * calibration sample: an input's element count gives its one unknown dim (with several, the batch
 * ones, by name or else the leading ones, are 1); dims no sample decides are 1.
 * Errors: INPUT_INVALID for a setting that names no input or dim, or a fixed value of the wrong size;
 * TOO_LARGE for an input or output sized past MAX_ELEMENTS.
 */
export function prepareGraph(graph: OnnxGraph, settings: GraphSettings = {}, firstSample?: readonly number[][]): PreparedGraph {
  const dims = resolveDimSizes(graph, settings, firstSample);
  const sized = (v: ValueInfo): ValueInfo => (v.dimParams ? { ...v, dims: v.dims.map((d, i) => (v.dimParams![i] ? (dims[v.dimParams![i]] ?? d) : d)) } : v);
  const referenceInputs = graph.inputs.map(sized);
  // A dim set by hand (or by a sample) sizes tensors the upload's checks never saw: bound them before
  // calibration allocates samples of that size (dim batch=100000000 ran the service out of memory).
  for (const inp of referenceInputs) boundedSize(inp.dims, `input ${inp.name}`);
  for (const out of graph.outputs) boundedSize(sized(out).dims, `output ${out.name}`);
  const fix = settings.fix ?? {};
  for (const name of Object.keys(fix)) {
    if (!graph.inputs.some((i) => i.name === name))
      throw new ZkError('INPUT_INVALID', `fix ${name}: the model has no input ${name} (inputs: ${graph.inputs.map((i) => i.name).join(', ')})`, {
        setting: 'fix',
        name,
      });
  }
  const initializers = new Map(graph.initializers);
  for (const inp of referenceInputs) {
    const values = fix[inp.name];
    if (!values) continue;
    // A fixed parameter input of one element or a list: its declared shape may be symbolic.
    const declared = sizeOf(inp.dims);
    const shape = declared === values.length ? inp.dims : inp.dims.length <= 1 ? [values.length] : undefined;
    if (!shape)
      throw new ZkError('INPUT_INVALID', `fix ${inp.name}: ${values.length} values; its shape [${inp.dims}] needs ${declared}`, {
        setting: 'fix',
        name: inp.name,
      });
    initializers.set(inp.name, { dims: shape, dtype: inp.dtype, data: Float64Array.from(values) });
  }
  const fixedRef = referenceInputs.map((inp) => (fix[inp.name] ? { ...inp, dims: [...initializers.get(inp.name)!.dims] } : inp));
  const kept = referenceInputs.filter((i) => !fix[i.name]);
  return {
    graph: { ...graph, inputs: kept, outputs: graph.outputs.map(sized), initializers },
    referenceInputs: fixedRef,
    referenceValues: (sample) => {
      let k = 0;
      return referenceInputs.map((inp) => fix[inp.name] ?? (sample[k++] as number[]));
    },
    dims,
  };
}

function resolveDimSizes(graph: OnnxGraph, settings: GraphSettings, firstSample?: readonly number[][]): Record<string, number> {
  const names = new Set(graph.inputs.flatMap((i) => i.dimParams?.filter(Boolean) ?? []));
  const dims: Record<string, number> = {};
  for (const [name, size] of Object.entries(settings.dims ?? {})) {
    if (!names.has(name))
      throw new ZkError('INPUT_INVALID', `dim ${name}: the model has no symbolic dimension ${name}${names.size ? ` (it has ${[...names].join(', ')})` : ''}`, {
        setting: 'dim',
        name,
      });
    if (!Number.isSafeInteger(size) || size < 1)
      throw new ZkError('INPUT_INVALID', `dim ${name}: ${size} is not a positive whole number`, { setting: 'dim', name });
    dims[name] = size;
  }
  // From the calibration sample: an input whose one unknown dim is fixed by its element count.
  const unfixed = graph.inputs.filter((i) => !settings.fix?.[i.name]);
  for (let pass = 0; firstSample && pass < names.size; pass++) {
    unfixed.forEach((inp, k) => {
      let open = (inp.dimParams ?? []).map((p, i) => ({ p, i })).filter(({ p }) => p && dims[p] === undefined);
      const count = firstSample[k]?.length;
      if (open.length === 0 || count === undefined) return;
      // Several unknown dims in one input: the batch ones (by name, else the leading ones) are 1.
      if (open.length > 1) {
        const batch = open.filter(({ p }) => /batch/i.test(p));
        for (const { p } of batch.length && batch.length < open.length ? batch : open.slice(0, -1)) dims[p] = 1;
        open = open.filter(({ p }) => dims[p] === undefined);
        if (open.length !== 1) return;
      }
      const known = inp.dims.reduce((a, d, i) => (i === open[0].i ? a : a * (inp.dimParams![i] ? (dims[inp.dimParams![i]] ?? 1) : d)), 1);
      if (known > 0 && count % known === 0 && count / known >= 1) dims[open[0].p] = count / known;
    });
  }
  for (const name of names) dims[name] ??= 1;
  return dims;
}

/** Parses `name=value` settings: `--dim sequence=4`, `--fix axes=[0,1]` or `--fix k=3`. */
export function parseSetting(text: string, flag: string): [string, number[]] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ZkError('INPUT_INVALID', `${flag} ${text}: write name=value`);
  const name = text.slice(0, eq);
  // Settings are kept as objects keyed by these names: `__proto__` would vanish without a word.
  if (RESERVED_NAMES.has(name)) throw new ZkError('INPUT_INVALID', `${flag} ${name}: this name is reserved in JavaScript objects`);
  let value: unknown;
  try {
    value = JSON.parse(text.slice(eq + 1));
  } catch {
    throw new ZkError('INPUT_INVALID', `${flag} ${text}: the value must be a number or a JSON array of numbers`);
  }
  const flat = [value].flat(Infinity);
  if (!flat.every((v) => typeof v === 'number' && Number.isFinite(v)))
    throw new ZkError('INPUT_INVALID', `${flag} ${text}: the value must be a number or a JSON array of numbers`);
  return [name, flat as number[]];
}

/** `name=size` settings (the CLI's repeated --dim, the API's comma-separated dim) as sizes by name; INPUT_INVALID otherwise. */
export function parseDims(texts: readonly string[], flag: string): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const d of texts) {
    const [name, [size, ...rest]] = parseSetting(d, flag);
    if (rest.length) throw new ZkError('INPUT_INVALID', `${flag} ${name}: one size`);
    // Two sizes for one dim would leave the choice to the order of the list.
    if (Object.hasOwn(dims, name)) throw new ZkError('INPUT_INVALID', `${flag} ${name}: given twice`);
    dims[name] = size;
  }
  return dims;
}

/**
 * Input documents (calibration or a mock input) against a graph and its settings: symbolic dims are
 * sized first (settings, else the first document), then every document is read strictly. In the
 * `input_data` form (or by name) a document may also carry the values of fixed inputs (the operator suite's files
 * do): those rows are dropped, the fixed value wins.
 */
export function prepareWithDocs(graph: OnnxGraph, settings: GraphSettings, docs: readonly unknown[]): { prepared: PreparedGraph; samples: number[][][] } {
  const fixed = new Set(Object.keys(settings.fix ?? {}));
  const dropFixed = (doc: unknown): unknown => {
    if (!fixed.size) return doc;
    const { input_data: rows, input } = (doc ?? {}) as { input_data?: unknown; input?: unknown };
    if (Array.isArray(rows) && rows.length === graph.inputs.length)
      return { ...(doc as object), input_data: rows.filter((_, i) => !fixed.has(graph.inputs[i].name)) };
    if (typeof input === 'object' && input !== null && !Array.isArray(input))
      return { ...(doc as object), input: Object.fromEntries(Object.entries(input).filter(([name]) => !fixed.has(name))) };
    return doc;
  };
  const kept = graph.inputs.filter((i) => !fixed.has(i.name));
  const first = docs.length
    ? parseInputs(
        dropFixed(docs[0]),
        kept.map((i) => ({ ...i, anySize: !!i.dimParams })),
      )
    : undefined;
  const prepared = prepareGraph(graph, settings, first);
  return { prepared, samples: docs.map((d) => parseInputs(dropFixed(d), prepared.graph.inputs)) };
}
