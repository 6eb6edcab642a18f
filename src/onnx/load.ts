import onnxProto from 'onnx-proto';
import { ZkError } from '../core/errors.js';
import { requireSelfContained } from './external.js';
import { type AttributeValue, boundedSize, dtypeOfElemType, type ConstTensor, type DType, type OnnxGraph, type OnnxNode, type ValueInfo } from './graph.js';

const { onnx } = onnxProto;
type Long = { toNumber(): number } | number;

const toNumber = (v: Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const T = onnx.TensorProto.DataType;

/** Names that JavaScript objects keyed by them would take for their own machinery: refused wherever a name keys an object. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function dtypeOf(elemType: number, where: string): DType {
  const dtype = dtypeOfElemType(elemType);
  if (!dtype) throw new ZkError('ONNX_UNSUPPORTED', `${where}: element type ${T[elemType] ?? elemType} is not supported`);
  return dtype;
}

/** Reads a TensorProto's values, from raw_data (little-endian, possibly unaligned) or typed fields. */
export function decodeTensor(t: onnxProto.onnx.ITensorProto, where: string): ConstTensor {
  const dims = (t.dims ?? []).map(toNumber);
  const elemType = t.dataType ?? 0;
  const dtype = dtypeOf(elemType, where);
  const n = boundedSize(dims, where);
  const data = new Float64Array(n);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (raw) {
    // rawData is an unaligned view into the file buffer: read through a DataView instead of casting.
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const reader = rawReader(elemType, where);
    if (raw.byteLength < n * reader.size) throw new ZkError('ONNX_MALFORMED', `${where}: raw data is shorter than its dims`);
    for (let i = 0; i < n; i++) data[i] = reader.read(view, i * reader.size);
  } else {
    const src: ArrayLike<Long> = t.floatData?.length
      ? t.floatData
      : t.doubleData?.length
        ? t.doubleData
        : t.int64Data?.length
          ? t.int64Data
          : t.int32Data?.length
            ? t.int32Data
            : t.uint64Data?.length
              ? t.uint64Data
              : [];
    if (src.length !== n) throw new ZkError('ONNX_MALFORMED', `${where}: ${src.length} values for dims [${dims}]`);
    for (let i = 0; i < n; i++) data[i] = toNumber(src[i]);
  }
  if (elemType === T.FLOAT16 || elemType === T.BFLOAT16) throw new ZkError('ONNX_UNSUPPORTED', `${where}: 16-bit floats are not supported`);
  return { dims, dtype, data, elemType };
}

function rawReader(elemType: number, where: string): { size: number; read: (v: DataView, o: number) => number } {
  switch (elemType) {
    case T.FLOAT:
      return { size: 4, read: (v, o) => v.getFloat32(o, true) };
    case T.DOUBLE:
      return { size: 8, read: (v, o) => v.getFloat64(o, true) };
    case T.INT64:
      return { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) };
    case T.UINT64:
      return { size: 8, read: (v, o) => Number(v.getBigUint64(o, true)) };
    case T.INT32:
      return { size: 4, read: (v, o) => v.getInt32(o, true) };
    case T.UINT32:
      return { size: 4, read: (v, o) => v.getUint32(o, true) };
    case T.INT16:
      return { size: 2, read: (v, o) => v.getInt16(o, true) };
    case T.UINT16:
      return { size: 2, read: (v, o) => v.getUint16(o, true) };
    case T.INT8:
      return { size: 1, read: (v, o) => v.getInt8(o) };
    case T.UINT8:
    case T.BOOL:
      return { size: 1, read: (v, o) => v.getUint8(o) };
    default:
      throw new ZkError('ONNX_UNSUPPORTED', `${where}: raw data of type ${T[elemType] ?? elemType}`);
  }
}

function decodeAttribute(a: onnxProto.onnx.IAttributeProto, where: string): AttributeValue {
  const A = onnx.AttributeProto.AttributeType;
  const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
  switch (a.type) {
    case A.FLOAT:
      return a.f ?? 0;
    case A.INT:
      return toNumber(a.i);
    case A.STRING:
      return text(a.s ?? new Uint8Array());
    case A.TENSOR:
      return decodeTensor(a.t ?? {}, `${where} attribute ${a.name}`);
    case A.FLOATS:
      return [...(a.floats ?? [])];
    case A.INTS:
      return (a.ints ?? []).map(toNumber);
    case A.STRINGS:
      return (a.strings ?? []).map(text);
    default:
      throw new ZkError('ONNX_UNSUPPORTED', `${where}: attribute ${a.name} of type ${A[a.type ?? 0]} is not supported`);
  }
}

/** ONNX element types by the names onnxruntime gives them. */
const ORT_TYPES: Record<number, string> = {
  [T.FLOAT]: 'float32',
  [T.DOUBLE]: 'float64',
  [T.FLOAT16]: 'float16',
  [T.BOOL]: 'bool',
  [T.INT8]: 'int8',
  [T.INT16]: 'int16',
  [T.INT32]: 'int32',
  [T.INT64]: 'int64',
  [T.UINT8]: 'uint8',
  [T.UINT16]: 'uint16',
  [T.UINT32]: 'uint32',
  [T.UINT64]: 'uint64',
};

/** The domain of the classical-ML ops (skl2onnx's Scaler, LinearClassifier…), compiled beside the standard ones. */
const ML_DOMAIN = 'ai.onnx.ml';

function valueInfo(v: onnxProto.onnx.IValueInfoProto): ValueInfo {
  const name = v.name ?? '';
  // ZipMap's sequence of {label: probability} maps is proven as the probabilities tensor it is made from.
  const zipped = v.type?.sequenceType?.elemType?.mapType?.valueType?.tensorType;
  const tensorType = v.type?.tensorType ?? zipped;
  if (!tensorType) throw new ZkError('ONNX_UNSUPPORTED', `graph value ${name}: only tensor inputs and outputs are supported`);
  // A symbolic or unknown dimension is 1 (one example at a time) until the user names its size.
  const shape = tensorType.shape?.dim ?? [];
  // Any dim_value but protobuf's default 0 is a size, so boundedSize below refuses a negative one (it was
  // read as a symbolic dim of size 1).
  const fixed = (d: (typeof shape)[number]) => d.dimValue != null && toNumber(d.dimValue) !== 0;
  const dims = shape.map((d) => (fixed(d) ? toNumber(d.dimValue) : 1));
  const dimParams = shape.map((d, i) => (fixed(d) ? '' : d.dimParam || `${name}:${i}`));
  // Dim sizes are keyed by these names (--dim, calibration documents).
  const reserved = dimParams.find((p) => RESERVED_NAMES.has(p));
  if (reserved)
    throw new ZkError(
      'ONNX_UNSUPPORTED',
      `graph value ${name}: its symbolic dimension ${JSON.stringify(reserved)} has a name reserved in JavaScript objects; rename it`,
      {
        name,
      },
    );
  boundedSize(dims, `graph value ${name}`);
  const elemType = ORT_TYPES[tensorType.elemType ?? 0];
  return {
    name,
    dims,
    dtype: dtypeOf(tensorType.elemType ?? 0, `graph value ${name}`),
    ...(elemType ? { elemType } : {}),
    ...(dimParams.some(Boolean) ? { dimParams } : {}),
  };
}

/**
 * Decodes ONNX bytes into an OnnxGraph. Throws ONNX_MALFORMED for anything that is not a model,
 * INPUT_INVALID for external data left in it (see external.ts: inline it first).
 */
export function loadOnnx(bytes: Uint8Array): OnnxGraph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ZkError('ONNX_MALFORMED', `not an ONNX model: ${(e as Error).message}`);
  }
  // Whatever reads these bytes next (onnxruntime) must not resolve a path the model names.
  requireSelfContained(model);
  const g = model.graph;
  if (!g?.node || (g.node.length === 0 && (g.output ?? []).length === 0)) {
    throw new ZkError('ONNX_MALFORMED', 'not an ONNX model: it has no graph');
  }
  if ((g.output ?? []).length === 0) throw new ZkError('ONNX_MALFORMED', 'the graph has no outputs: there is nothing to prove');
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) {
    // Input documents and onnxruntime's feeds are keyed by these names.
    if (RESERVED_NAMES.has(v.name ?? ''))
      throw new ZkError('ONNX_UNSUPPORTED', `graph value ${JSON.stringify(v.name)}: this name is reserved in JavaScript objects; rename it`, { name: v.name });
  }
  const defaultDomain = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const initializers = new Map<string, ConstTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', decodeTensor(t, `initializer ${t.name}`));
  const nodes: OnnxNode[] = (g.node ?? []).map((n, i) => {
    const name = n.name || `${n.opType}_${i}`;
    if (n.domain && n.domain !== 'ai.onnx' && n.domain !== ML_DOMAIN) {
      throw new ZkError('ONNX_UNSUPPORTED', `node ${name}: op ${n.domain}.${n.opType} is outside the standard ONNX domain`, { node: name, op: n.opType });
    }
    const attributes: Record<string, AttributeValue> = {};
    for (const a of n.attribute ?? []) attributes[a.name ?? ''] = decodeAttribute(a, `node ${name}`);
    return { name, opType: n.opType ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attributes };
  });
  return {
    name: g.name ?? 'model',
    opset: toNumber(defaultDomain?.version) || 13,
    // Old exporters list initializers among the inputs as well; those are constants, not inputs.
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(valueInfo),
    outputs: (g.output ?? []).map(valueInfo),
    initializers,
    nodes,
  };
}
