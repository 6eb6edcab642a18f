import * as ort from 'onnxruntime-node';
import { ZkError } from '../core/errors.js';
import type { ValueInfo } from '../onnx/graph.js';

const tensorType = (v: ValueInfo): ort.Tensor.Type => (v.dtype === 'float' ? 'float32' : v.dtype === 'bool' ? 'bool' : 'int64');

/** Runs the float model with onnxruntime-node: the reference the quantized circuit is measured against. */
export async function runReference(model: Uint8Array, inputs: readonly ValueInfo[], values: readonly number[][]): Promise<number[][]> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model);
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
