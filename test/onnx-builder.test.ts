import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { EXAMPLES, tinyCnn } from '../scripts/example-models.js';

const { ModelProto, AttributeProto } = onnxProto.onnx;

async function run(model: Uint8Array, input: string, data: ArrayLike<number>, dims: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model);
  const result = await session.run({ [input]: new ort.Tensor('float32', Float32Array.from(data), dims) });
  return result[session.outputNames[0]];
}

/** alpha * A[m,k] * (B or Bᵀ) + beta * bias, with bias broadcast over rows: the reference for Gemm and MatMul+Add. */
function gemm(
  a: ArrayLike<number>,
  m: number,
  k: number,
  b: ArrayLike<number>,
  n: number,
  transB: boolean,
  bias: ArrayLike<number>,
  alpha = 1,
  beta = 1,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
      out.push(alpha * s + beta * bias[j]);
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `[${i}] ${actual[i]} vs ${expected[i]}`);
  }
}

test('Gemm+Relu MLP 4-3-2 matches a JS reference', async () => {
  const rng = mulberry32(7);
  const [w1, b1, w2, b2] = [randomTensor(rng, [3, 4], 0.5), randomTensor(rng, [3], 0.5), randomTensor(rng, [3, 2], 0.5), randomTensor(rng, [2], 0.5)];
  const x = randomTensor(rng, [1, 4], 1);
  const model = new OnnxBuilder()
    .input('x', [1, 4])
    .initializer('W1', [3, 4], w1)
    .initializer('B1', [3], b1)
    .initializer('W2', [3, 2], w2)
    .initializer('B2', [2], Array.from(b2))
    // alpha 1 must be forced to FLOAT; beta 0.5 is FLOAT by inference.
    .node('Gemm', ['x', 'W1', 'B1'], ['h'], { transB: 1, alpha: OnnxBuilder.float(1) })
    .node('Relu', ['h'], ['r'])
    .node('Gemm', ['r', 'W2', 'B2'], ['y'], { beta: 0.5 })
    .output('y', [1, 2])
    .build();
  const y = await run(model, 'x', x, [1, 4]);
  const h = gemm(x, 1, 4, w1, 3, true, b1).map((v) => Math.max(0, v));
  assert.deepEqual(y.dims, [1, 2]);
  assertClose(y.data as Float32Array, gemm(h, 1, 3, w2, 2, false, b2, 1, 0.5));
});

test('Conv+Relu+MaxPool+Flatten+Gemm runs with the expected output shape', async () => {
  const rng = mulberry32(8);
  const model = tinyCnn(8);
  const y = await run(model, 'input', randomTensor(rng, [1, 1, 6, 6], 1), [1, 1, 6, 6]);
  assert.deepEqual(y.dims, [1, 3]);
  assert.ok([...(y.data as Float32Array)].every(Number.isFinite));
});

test('MatMul+Add with a symbolic batch dimension matches a JS reference', async () => {
  const rng = mulberry32(9);
  const [w, bias, x] = [randomTensor(rng, [3, 4], 1), randomTensor(rng, [4], 1), randomTensor(rng, [2, 3], 1)];
  const model = new OnnxBuilder()
    .input('x', ['batch', 3])
    .initializer('W', [3, 4], w)
    .initializer('B', [4], bias)
    .node('MatMul', ['x', 'W'], ['m'])
    .node('Add', ['m', 'B'], ['y'])
    .output('y', ['batch', 4])
    .build();
  const y = await run(model, 'x', x, [2, 3]);
  assert.deepEqual(y.dims, [2, 4]);
  assertClose(y.data as Float32Array, gemm(x, 2, 3, w, 4, false, bias));
});

test('int64 initializers, tensor attributes and forced floats load and compute', async () => {
  const x = [1, -2, 3, -4, 5, -6];
  const model = new OnnxBuilder()
    .input('x', [2, 3])
    .initializerInt64('shape', [1], [-1])
    .node('Constant', [], ['k'], { value: OnnxBuilder.tensor([3], [1, 2, 3]) })
    .node('Mul', ['x', 'k'], ['m'])
    .node('Reshape', ['m', 'shape'], ['flat'])
    // An integral alpha left as a plain number would be an INT attribute, which the runtime rejects.
    .node('LeakyRelu', ['flat'], ['y'], { alpha: OnnxBuilder.float(2) })
    .output('y', [6])
    .build();
  const y = await run(model, 'x', x, [2, 3]);
  assert.deepEqual(y.dims, [6]);
  assertClose(y.data as Float32Array, [1, -8, 9, -8, 10, -36]);
});

test('attributes are encoded with the ONNX type their value implies', () => {
  const model = new OnnxBuilder()
    .input('x', [1, 2])
    .node('Op', ['x'], ['y'], {
      i: 1,
      f: 0.5,
      forced: OnnxBuilder.float(1),
      ints: [1, 2],
      floats: OnnxBuilder.floats([1, 2]),
      s: 'same',
    })
    .output('y')
    .build();
  const attrs = ModelProto.decode(model).graph!.node![0].attribute!;
  const T = AttributeProto.AttributeType;
  assert.deepEqual(Object.fromEntries(attrs.map((a) => [a.name, a.type])), {
    i: T.INT,
    f: T.FLOAT,
    forced: T.FLOAT,
    ints: T.INTS,
    floats: T.FLOATS,
    s: T.STRING,
  });
});

test('build() rejects names that nothing defines', () => {
  const b = new OnnxBuilder().input('x', [1]).node('Relu', ['typo'], ['y']).output('y');
  assert.throws(() => b.build(), /reads 'typo'/);
  assert.throws(() => new OnnxBuilder().input('x', [1]).output('y').build(), /'y' is never defined/);
  assert.throws(() => new OnnxBuilder().initializer('W', [2, 2], [1, 2, 3]), /3 values for dims \[2, 2\]/);
});

test('example models load, take their input.json data and are reproducible from the seed', async () => {
  for (const ex of EXAMPLES) {
    const [data] = ex.inputData();
    assert.equal(
      data.length,
      ex.inputShape.reduce((a, d) => a * d, 1),
      ex.name,
    );
    const y = await run(ex.model(), 'input', data, [...ex.inputShape]);
    assert.deepEqual(y.dims, ex.outputShape, ex.name);
    assert.ok([...(y.data as Float32Array)].every(Number.isFinite), ex.name);
    assert.deepEqual(ex.model(), ex.model(), ex.name);
    assert.notDeepEqual(ex.model(1), ex.model(2), ex.name);
  }
});
