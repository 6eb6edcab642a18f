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
    const raw = t.rawData && t.rawData.length ? t.rawData : null;
    const n = (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1);
    const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
    const read = (i: number): number => {
      switch (t.dataType) {
        case TensorProto.DataType.INT8: return view ? view.getInt8(i) : t.int32Data![i];
        case TensorProto.DataType.UINT8: return view ? view.getUint8(i) : t.int32Data![i];
        case TensorProto.DataType.INT16: return view ? view.getInt16(2 * i, true) : t.int32Data![i];
        default: return view ? view.getUint16(2 * i, true) : t.int32Data![i];
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

async function createSession(model0: Uint8Array): Promise<ort.InferenceSession> {
  const model = unzipMaps(model0);
  try {
    return await ort.InferenceSession.create(model);
  } catch (e) {
    // onnxruntime refuses some 8-bit integer kernels (MatMul): retry on the widened model.
    if (!/tensor\(u?int(8|16)\)/.test((e as Error).message)) throw e;
    return await ort.InferenceSession.create(widenNarrowIntegers(model));
  }
}

const tensorType = (v: ValueInfo): ort.Tensor.Type => (v.dtype === 'float' ? 'float32' : v.dtype === 'bool' ? 'bool' : 'int64');

/** Runs the float model with onnxruntime-node: the reference the quantized circuit is measured against. */
export async function runReference(model: Uint8Array, inputs: readonly ValueInfo[], values: readonly number[][]): Promise<number[][]> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(model);
  } catch (e) {
    throw new ZkError('ONNX_MALFORMED', `onnxruntime cannot load the model: ${(e as Error).message}`);
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    inputs.forEach((inp, i) => {
      const type = tensorType(inp);
      const data = type === 'float32' ? Float32Array.from(values[i]) : type === 'bool' ? Uint8Array.from(values[i]) : BigInt64Array.from(values[i], (v) => BigInt(Math.round(v)));
      feeds[inp.name] = new ort.Tensor(type, data as never, inp.dims);
    });
    const result = await session.run(feeds);
    return session.outputNames.map((name) => Array.from(result[name].data as ArrayLike<number | bigint | boolean>, Number));
  } finally {
    await session.release();
  }
}
