import { toFixedPoint } from '../core/fixed-point.js';
import { ZkError } from '../core/errors.js';
import { sizeOf } from '../onnx/graph.js';

/** A graph input as the input parser needs it. */
export interface InputSpec {
  name: string;
  dims: number[];
  /** Accept any number of values (a symbolic dimension whose size the values decide). */
  anySize?: boolean;
}

/**
 * The keys an input document may have: the input in one of two forms, the commitments' salt (a proof
 * request), and the descriptive keys of the corpus files (EZKL's format: read by nothing, kept so that
 * those files are input documents as they are).
 */
const DOCUMENT_KEYS: ReadonlySet<string> = new Set(['input', 'input_data', 'salt', 'input_shapes', 'input_types', 'output_data', 'output_shapes', 'ops']);

/**
 * Reads an input document into one flat row-major array per graph input. Two forms:
 * - the corpus form `{"input_data": [[...], ...]}`: one flat array per graph input;
 * - `{"input": nested}` for a one-input model, or `{"input": {name: nested, ...}}` by input name,
 *   where `nested` is the tensor as nested arrays of the input's shape (or already flat).
 * Every value must be a finite number (a boolean is read as 1 or 0, for bool inputs); the error names the input and the offending position.
 * Nesting deeper than the input's rank is refused before it is walked (a hostile document nested
 * thousands deep must be a 400, not a stack overflow), and keys are only the document's own. Any
 * key but those of DOCUMENT_KEYS is refused.
 */
export function parseInputs(doc: unknown, specs: readonly InputSpec[]): number[][] {
  if (typeof doc !== 'object' || doc === null) fail('the input must be a JSON object with "input" or "input_data"');
  const body = doc as Record<string, unknown>;
  // A misspelled key ("sallt") would otherwise be dropped and its default used without a word.
  const unknown = Object.keys(body).filter((k) => !DOCUMENT_KEYS.has(k));
  if (unknown.length)
    fail(
      `the document has ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which is not a key of an input document (${[...DOCUMENT_KEYS].slice(0, 3).join(', ')})`,
    );
  // Two inputs in one document would leave which one is proven to our order of checks.
  if (Object.hasOwn(body, 'input_data') && Object.hasOwn(body, 'input')) fail('the document has both "input" and "input_data": give one');
  if (Object.hasOwn(body, 'input_data')) {
    const rows = body.input_data;
    if (!Array.isArray(rows) || rows.length !== specs.length) fail(`"input_data" must hold ${specs.length} array(s), one per graph input`);
    return specs.map((s, i) => flatten(rows[i], s));
  }
  if (Object.hasOwn(body, 'input')) {
    const input = body.input;
    if (specs.length === 1 && Array.isArray(input)) return [flatten(input, specs[0])];
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
      const byName = input as Record<string, unknown>;
      // A name the model does not have is a misspelling, not a value to drop silently.
      const unknown = Object.keys(byName).filter((k) => !specs.some((s) => s.name === k));
      if (unknown.length)
        fail(`"input" names ${unknown.map((k) => `"${k}"`).join(', ')}, which the model does not have (inputs: ${specs.map((s) => s.name).join(', ')})`);
      return specs.map((s) => {
        if (!Object.hasOwn(byName, s.name)) fail(`"input" has no value for graph input "${s.name}"`);
        return flatten(byName[s.name], s);
      });
    }
    fail(specs.length === 1 ? '"input" must be a (nested) array' : `"input" must be an object keyed by input name (${specs.map((s) => s.name).join(', ')})`);
  }
  fail('the input must have "input" or "input_data"');
}

function flatten(value: unknown, spec: InputSpec): number[] {
  const out: number[] = [];
  const rank = Math.max(spec.dims.length, 1);
  const walk = (v: unknown, path: string, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= rank) fail(`input "${spec.name}"${path}: nested deeper than its shape [${spec.dims}] (${rank} levels)`, { input: spec.name, path });
      return v.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    }
    if (typeof v === 'boolean') return void out.push(Number(v));
    // JSON.parse reads a number beyond the double range (1e400) as ±Infinity.
    if (v === Infinity || v === -Infinity) fail(`input "${spec.name}"${path}: the number overflowed (beyond ±1.8e308)`, { input: spec.name, path });
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(`input "${spec.name}"${path}: ${JSON.stringify(v) ?? String(v)} is not a finite number`, { input: spec.name, path });
    out.push(v);
  };
  walk(value, '', 0);
  const expected = sizeOf(spec.dims);
  if (out.length !== expected && !spec.anySize) {
    throw new ZkError('SHAPE_MISMATCH', `input "${spec.name}" has ${out.length} values; shape [${spec.dims}] needs ${expected}`, {
      input: spec.name,
      expected: spec.dims,
      got: out.length,
    });
  }
  return out;
}

function fail(message: string, details?: Record<string, unknown>): never {
  throw new ZkError('INPUT_INVALID', message, details);
}

/**
 * Inputs are fixed-point integers with |q| < 2^64 (booleans 0 or 1). The prover refuses larger ones
 * and the verifier rejects public signals outside this bound: the compiler proves (checkNoWrap) that
 * no affine form over bounded inputs can wrap around the field, so a huge input cannot alias a small
 * one through a layer's range check.
 */
export const INPUT_LIMIT = 2n ** 64n;

/** Why a decoded public input is outside what the circuit's soundness argument covers, if it is. */
export function inputBoundViolation(inputs: readonly bigint[][], specs: readonly { name: string; dtype: string }[]): string | undefined {
  for (let i = 0; i < specs.length; i++) {
    const bad = inputs[i].findIndex((v) => (specs[i].dtype === 'bool' ? v !== 0n && v !== 1n : v >= INPUT_LIMIT || v <= -INPUT_LIMIT));
    if (bad >= 0) return `input ${specs[i].name}[${bad}] is outside the range the circuit is sound for`;
  }
  return undefined;
}

/** Fixed-point encoding of graph inputs at their scales. */
export function quantizeInputs(values: readonly number[][], scales: readonly number[], names: readonly string[]): bigint[][] {
  return values.map((row, i) =>
    row.map((v, k) => {
      // 1e308 · 2^scale is Infinity, which has no integer: out of range like any other overflow.
      const q = Number.isFinite(v * 2 ** scales[i]) ? toFixedPoint(v, scales[i]) : undefined;
      if (q === undefined || q >= INPUT_LIMIT || q <= -INPUT_LIMIT) {
        throw new ZkError('INPUT_OUT_OF_RANGE', `input "${names[i]}"[${k}] = ${v} overflows the fixed-point range`, { input: names[i], index: k });
      }
      return q;
    }),
  );
}
