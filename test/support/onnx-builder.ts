/**
 * A small ONNX writer for tests and benchmarks: models are built in code from a seed, so fixtures need no
 * Python toolchain and every run sees the same bytes.
 */
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';

const { ModelProto, AttributeProto, TensorProto } = onnxProto.onnx;
const AttrType = AttributeProto.AttributeType;

/** A dimension: a number, or a name for a symbolic dimension such as 'batch'. */
export type Dim = number | string;
export type ElemType = 'float32' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

const DATA_TYPE: Record<ElemType, number> = {
  float32: TensorProto.DataType.FLOAT,
  int64: TensorProto.DataType.INT64,
  int32: TensorProto.DataType.INT32,
  int8: TensorProto.DataType.INT8,
  uint8: TensorProto.DataType.UINT8,
  bool: TensorProto.DataType.BOOL,
};

export interface TensorValue {
  readonly dtype: ElemType;
  readonly dims: readonly number[];
  readonly values: ArrayLike<number>;
}

/**
 * An attribute value. Plain numbers are INT when integral and FLOAT otherwise; plain arrays likewise INTS or
 * FLOATS (an empty one is INTS). Attributes that ONNX types as FLOAT but whose value is integral (Gemm alpha = 1)
 * must be wrapped with OnnxBuilder.float / OnnxBuilder.floats, or runtimes reject the model.
 */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | readonly string[]
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly values: readonly number[] }
  | { readonly kind: 'tensor'; readonly tensor: TensorValue };

export interface OnnxBuilderOptions {
  /** Default 13, an opset every current runtime and converter supports. */
  readonly opset?: number;
  /** Default 8, the IR version of the onnx.proto (ONNX 1.10) that onnx-proto was generated from. */
  readonly irVersion?: number;
  readonly graphName?: string;
}

export class OnnxBuilder {
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly nodes: onnx.INodeProto[] = [];

  constructor(private readonly options: OnnxBuilderOptions = {}) {}

  static float(value: number): AttrValue {
    return { kind: 'float', value };
  }

  static floats(values: readonly number[]): AttrValue {
    return { kind: 'floats', values };
  }

  static tensor(dims: readonly number[], values: ArrayLike<number>, dtype: ElemType = 'float32'): AttrValue {
    return { kind: 'tensor', tensor: { dtype, dims, values } };
  }

  /** A graph input; `dims` may hold names for symbolic dimensions. */
  input(name: string, dims: readonly Dim[], dtype: ElemType = 'float32'): this {
    this.inputs.push(valueInfo(name, dtype, dims));
    return this;
  }

  /** A graph output; without `dims` its shape is left for the runtime to infer. */
  output(name: string, dims?: readonly Dim[], dtype: ElemType = 'float32'): this {
    this.outputs.push(valueInfo(name, dtype, dims));
    return this;
  }

  /** Several float graph outputs at once, in the order given: `{ name: dims, … }`. */
  outputShapes(dims: Readonly<Record<string, readonly Dim[]>>): this {
    for (const [name, d] of Object.entries(dims)) this.output(name, d);
    return this;
  }

  initializer(name: string, dims: readonly number[], values: Float32Array | readonly number[]): this {
    this.initializers.push(tensorProto(name, { dtype: 'float32', dims, values }));
    return this;
  }

  /** An int64 initializer, for the shape, axes and index operands that ONNX requires to be int64. */
  initializerInt64(name: string, dims: readonly number[], values: readonly number[]): this {
    this.initializers.push(tensorProto(name, { dtype: 'int64', dims, values }));
    return this;
  }

  /** An initializer of any element type (int32 sequence_lens, a bool mask…). */
  initializerOf(name: string, dtype: ElemType, dims: readonly number[], values: readonly number[]): this {
    this.initializers.push(tensorProto(name, { dtype, dims, values }));
    return this;
  }

  /**
   * Appends a node; nodes must be added in topological order, as ONNX requires. An empty input name
   * skips an optional input. `name` defaults to `opType_index`; `domain` to the default ONNX domain.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    { name, domain }: { name?: string; domain?: string } = {},
  ): this {
    this.nodes.push({
      opType,
      ...(domain ? { domain } : {}),
      name: name ?? `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)),
    });
    return this;
  }

  /** Encodes the model. Dangling names throw here rather than as an opaque load error in the runtime. */
  build(): Uint8Array {
    this.checkNames();
    return ModelProto.encode({
      irVersion: this.options.irVersion ?? 8,
      producerName: 'zkinfer-onnx-builder',
      opsetImport: [
        { domain: '', version: this.options.opset ?? 13 },
        // ai.onnx.ml ops (Scaler, LinearClassifier…) need their domain imported; version 3 has them all.
        ...(this.nodes.some((n) => n.domain === 'ai.onnx.ml') ? [{ domain: 'ai.onnx.ml', version: 3 }] : []),
      ],
      graph: {
        name: this.options.graphName ?? 'graph',
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      },
    }).finish();
  }

  private checkNames(): void {
    const defined = new Set<string>();
    for (const { name } of [...this.inputs, ...this.initializers]) defined.add(name!);
    for (const n of this.nodes) {
      for (const i of n.input!) {
        if (i !== '' && !defined.has(i)) throw new Error(`node ${n.name} reads '${i}', which nothing before it defines`);
      }
      for (const o of n.output!) {
        if (defined.has(o)) throw new Error(`node ${n.name} redefines '${o}'`);
        defined.add(o);
      }
    }
    for (const { name } of this.outputs) {
      if (!defined.has(name!)) throw new Error(`graph output '${name}' is never defined`);
    }
  }
}

function valueInfo(name: string, dtype: ElemType, dims?: readonly Dim[]): onnx.IValueInfoProto {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType: DATA_TYPE[dtype], shape } } };
}

function tensorProto(name: string, t: TensorValue): onnx.ITensorProto {
  const count = t.dims.reduce((a, d) => a * d, 1);
  if (t.values.length !== count) {
    throw new Error(`tensor '${name}': ${t.values.length} values for dims [${t.dims.join(', ')}] (${count})`);
  }
  // raw_data, little-endian as the ONNX spec requires, is the encoding exporters such as PyTorch emit.
  const width = t.dtype === 'float32' || t.dtype === 'int32' ? 4 : t.dtype === 'bool' || t.dtype === 'int8' || t.dtype === 'uint8' ? 1 : 8;
  const view = new DataView(new ArrayBuffer(count * width));
  for (let i = 0; i < count; i++) {
    const v = t.values[i];
    if (t.dtype === 'float32') {
      view.setFloat32(i * 4, v, true);
    } else if (t.dtype === 'bool') {
      view.setUint8(i, v ? 1 : 0);
    } else if (t.dtype === 'int8') {
      view.setInt8(i, v);
    } else if (t.dtype === 'uint8') {
      view.setUint8(i, v);
    } else if (t.dtype === 'int32') {
      view.setInt32(i * 4, v, true);
    } else {
      if (!Number.isSafeInteger(v)) throw new Error(`tensor '${name}': int64 value ${v} is not a safe integer`);
      view.setBigInt64(i * 8, BigInt(v), true);
    }
  }
  return { name, dims: [...t.dims], dataType: DATA_TYPE[t.dtype], rawData: new Uint8Array(view.buffer) };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttrType.INT, i: v } : { name, type: AttrType.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if ('kind' in v) {
    switch (v.kind) {
      case 'float':
        return { name, type: AttrType.FLOAT, f: v.value };
      case 'floats':
        return { name, type: AttrType.FLOATS, floats: [...v.values] };
      case 'tensor':
        return { name, type: AttrType.TENSOR, t: tensorProto('', v.tensor) };
    }
  }
  if (v.some((x) => typeof x === 'string')) return { name, type: AttrType.STRINGS, strings: (v as readonly string[]).map((x) => new TextEncoder().encode(x)) };
  const nums = v as readonly number[];
  return nums.every(Number.isInteger) ? { name, type: AttrType.INTS, ints: [...nums] } : { name, type: AttrType.FLOATS, floats: [...nums] };
}

/** A seeded generator of uniform floats in [0, 1). */
export type Rng = () => number;

/** The mulberry32 generator: 32 bits of state, fast, and well enough mixed for fixture data (not for secrets). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = Math.imul(state ^ (state >>> 15), state | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Values uniform in [-scale, scale), row-major for `dims`. */
export function randomTensor(rng: Rng, dims: readonly number[], scale: number): Float32Array {
  const out = new Float32Array(dims.reduce((a, d) => a * d, 1));
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng() - 1) * scale;
  return out;
}

/**
 * Moves initializer `name`'s raw data out of the model, as ONNX external data at `location`
 * (PyTorch's dynamo exporter writes `network.onnx.data` so). Returns the model and the moved bytes.
 * With `keepRaw`, the raw data stays too: a model that shows one value to a reader of raw_data and
 * sends onnxruntime to read `location` (the file-read attack of issue 13).
 */
export function externalize(
  model: Uint8Array,
  name: string,
  location: string,
  options: { keepRaw?: boolean; offset?: number } = {},
): { model: Uint8Array; data: Uint8Array } {
  const m = ModelProto.decode(model);
  const t = m.graph!.initializer!.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  const data = new Uint8Array(t.rawData!);
  const offset = options.offset ?? 0;
  t.dataLocation = TensorProto.DataLocation.EXTERNAL;
  t.externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    { key: 'length', value: String(data.length) },
  ];
  if (!options.keepRaw) t.rawData = new Uint8Array();
  const file = new Uint8Array(offset + data.length);
  file.set(data, offset);
  return { model: ModelProto.encode(m).finish(), data: file };
}
