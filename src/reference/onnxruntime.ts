import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { ZkError } from '../core/errors.js';
import type { ValueInfo } from '../onnx/graph.js';

const { ModelProto, TensorProto } = onnxProto.onnx;
const NARROW = new Set<number>([TensorProto.DataType.INT8, TensorProto.DataType.UINT8, TensorProto.DataType.INT16, TensorProto.DataType.UINT16]);

/**
 * The model with every 8- and 16-bit integer tensor widened to int32: Cast targets, initializers
 * and Constant values. onnxruntime has no int8 MatMul (exporters of tree ensembles emit one); for
 * values that fit (path counts, 0/1 indicators) the widened model computes the same numbers.
 */
function widenNarrowIntegers(model: Uint8Array): Uint8Array {
  const m = ModelProto.decode(model);
  const widen = (t: onnxProto.onnx.ITensorProto) => {
    if (t.dataType == null || !NARROW.has(t.dataType)) return;
    const raw = t.rawData?.length ? t.rawData : null;
    const n = (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1);
    const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
    const read = (i: number): number => {
      switch (t.dataType) {
        case TensorProto.DataType.INT8:
          return view ? view.getInt8(i) : t.int32Data![i];
        case TensorProto.DataType.UINT8:
          return view ? view.getUint8(i) : t.int32Data![i];
        case TensorProto.DataType.INT16:
          return view ? view.getInt16(2 * i, true) : t.int32Data![i];
        default:
          return view ? view.getUint16(2 * i, true) : t.int32Data![i];
      }
    };
    const values = Array.from({ length: n }, (_, i) => read(i));
    t.dataType = TensorProto.DataType.INT32;
    t.rawData = undefined;
    t.int32Data = values;
  };
  for (const t of m.graph?.initializer ?? []) widen(t);
  for (const node of m.graph?.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (node.opType === 'Cast' && a.name === 'to' && NARROW.has(Number(a.i))) a.i = TensorProto.DataType.INT32;
      if (a.t) widen(a.t);
    }
  }
  for (const v of [...(m.graph?.input ?? []), ...(m.graph?.output ?? []), ...(m.graph?.valueInfo ?? [])]) {
    const tt = v.type?.tensorType;
    if (tt?.elemType != null && NARROW.has(tt.elemType)) tt.elemType = TensorProto.DataType.INT32;
  }
  return ModelProto.encode(m).finish();
}

/**
 * The model with each ZipMap (ai.onnx.ml) replaced by an Identity of its probabilities tensor, the
 * graph output retyped to that tensor: onnxruntime-node returns no sequences of maps, and zkinfer
 * proves the tensor (see load.ts). Other models are returned as they are.
 */
function unzipMaps(model: Uint8Array): Uint8Array {
  const m = ModelProto.decode(model);
  const zips = (m.graph?.node ?? []).filter((n) => n.opType === 'ZipMap');
  if (!zips.length) return model;
  for (const n of zips) {
    n.opType = 'Identity';
    n.domain = '';
    n.attribute = [];
    const out = m.graph!.output?.find((o) => o.name === n.output?.[0]);
    if (out) out.type = { tensorType: { elemType: TensorProto.DataType.FLOAT } };
  }
  return ModelProto.encode(m).finish();
}

async function createSession(model0: Uint8Array): Promise<{ session: ort.InferenceSession; widened: boolean }> {
  const model = unzipMaps(model0);
  try {
    return { session: await ort.InferenceSession.create(model), widened: false };
  } catch (e) {
    // onnxruntime refuses some 8-bit integer kernels (MatMul): retry on the widened model.
    if (!/tensor\(u?int(8|16)\)/.test((e as Error).message)) throw e;
    return { session: await ort.InferenceSession.create(widenNarrowIntegers(model)), widened: true };
  }
}

/**
 * onnxruntime's message, cut to 1,000 characters. The paths it may name (its own sources', a
 * model's) are scrubbed where errors leave for clients (src/api/errors.ts clientError).
 */
const ortMessage = (e: unknown): string => ((e as Error)?.message ?? String(e)).slice(0, 1000);

/** Refuses (ONNX_MALFORMED) a model onnxruntime cannot load, at once (the service's upload) rather than in its build. */
export async function checkLoads(model: Uint8Array): Promise<void> {
  await (await ReferenceSession.load(model)).release();
}

const NARROW_TYPES = new Set(['int8', 'uint8', 'int16', 'uint16']);

/**
 * An input as the tensor its declared element type asks for: onnxruntime refuses a feed of another
 * type. Integers are rounded; float16 goes as its IEEE half-precision bit patterns.
 */
export function feedTensor(inp: ValueInfo, values: readonly number[]): ort.Tensor {
  const type = (inp.elemType ?? (inp.dtype === 'float' ? 'float32' : inp.dtype === 'bool' ? 'bool' : 'int64')) as ort.Tensor.Type;
  const ints = (v: number) => Math.round(v);
  const data: Record<string, () => unknown> = {
    float32: () => Float32Array.from(values),
    float64: () => Float64Array.from(values),
    float16: () => Uint16Array.from(values, toHalf),
    bool: () => Uint8Array.from(values, (v) => (v ? 1 : 0)),
    int8: () => Int8Array.from(values, ints),
    uint8: () => Uint8Array.from(values, ints),
    int16: () => Int16Array.from(values, ints),
    uint16: () => Uint16Array.from(values, ints),
    int32: () => Int32Array.from(values, ints),
    uint32: () => Uint32Array.from(values, ints),
    int64: () => BigInt64Array.from(values, (v) => BigInt(ints(v))),
    uint64: () => BigUint64Array.from(values, (v) => BigInt(ints(v))),
  };
  const make = data[type];
  if (!make) throw new ZkError('ONNX_UNSUPPORTED', `graph input ${inp.name}: element type ${type} cannot be fed to onnxruntime`);
  return new ort.Tensor(type, make() as never, inp.dims);
}

/** IEEE 754 binary16 bits of a number, rounded to nearest even (no library in our stack does this on Node 20). */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let h = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return h;
}

/**
 * An onnxruntime session of one model, to run many times: the service keeps one per model version
 * (src/service/models.ts) rather than loading the model for every proof request. Runs may overlap;
 * release() waits for those under way.
 */
export class ReferenceSession {
  private running = 0;
  private closed = false;
  private onIdle = (): void => {};

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly widened: boolean,
  ) {}

  /** ONNX_MALFORMED (with onnxruntime's error as the cause) when onnxruntime cannot load the model. */
  static async load(model: Uint8Array): Promise<ReferenceSession> {
    try {
      const { session, widened } = await createSession(model);
      return new ReferenceSession(session, widened);
    } catch (e) {
      throw new ZkError('ONNX_MALFORMED', `onnxruntime cannot load the model: ${ortMessage(e)}`, undefined, { cause: e });
    }
  }

  /** The float outputs (one flat array per model output) for one input (one flat array per `inputs` entry). */
  async run(inputs: readonly ValueInfo[], values: readonly number[][]): Promise<number[][]> {
    if (this.closed) throw new ZkError('INTERNAL', 'the onnxruntime session was released');
    // The widened model declares its narrow integer inputs int32.
    const declared = (inp: ValueInfo): ValueInfo => (this.widened && NARROW_TYPES.has(inp.elemType ?? '') ? { ...inp, elemType: 'int32' } : inp);
    const feeds = Object.fromEntries(inputs.map((inp, i) => [inp.name, feedTensor(declared(inp), values[i])]));
    this.running++;
    try {
      const result = await this.session.run(feeds);
      return this.session.outputNames.map((name) => Array.from(result[name].data as ArrayLike<number | bigint | boolean>, Number));
    } catch (e) {
      throw new ZkError('INPUT_INVALID', `onnxruntime cannot run the model on this input: ${ortMessage(e)}`, undefined, { cause: e });
    } finally {
      if (--this.running === 0) this.onIdle();
    }
  }

  /** Frees onnxruntime's memory once the runs under way end; later runs are refused. */
  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => (this.running === 0 ? resolve() : (this.onIdle = resolve)));
    await this.session.release();
  }
}

/** Runs the float model once with onnxruntime-node: the reference the quantized circuit is measured against. */
export async function runReference(model: Uint8Array, inputs: readonly ValueInfo[], values: readonly number[][]): Promise<number[][]> {
  const session = await ReferenceSession.load(model);
  try {
    return await session.run(inputs, values);
  } finally {
    await session.release();
  }
}

/** How close one quantized output is to onnxruntime's float output for the same input. */
export interface OutputAccuracy {
  name: string;
  /** Largest |quantized − float| over the tensor, in the output's own units. */
  maxAbsError: number;
  /** onnxruntime's float values, row-major. */
  reference: number[];
}

/**
 * Per-output accuracy of a quantized run: `ours` (floats, one flat array per model output, in the
 * order of `outputs`) against onnxruntime's float run of the same input `values` on `session`.
 */
export async function outputAccuracy(
  session: ReferenceSession,
  inputs: readonly ValueInfo[],
  outputs: readonly { name: string }[],
  values: readonly number[][],
  ours: readonly number[][],
): Promise<OutputAccuracy[]> {
  const reference = await session.run(inputs, values);
  return outputs.map(({ name }, o) => ({
    name,
    maxAbsError: ours[o].reduce((m, v, k) => Math.max(m, Math.abs(v - reference[o][k])), 0),
    reference: reference[o],
  }));
}
