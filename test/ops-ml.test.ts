/**
 * The ai.onnx.ml ops of skl2onnx's linear models, pipelines and SVM regressors, each against
 * onnxruntime: Scaler, Normalizer (MAX, L1, L2), LinearClassifier (NONE, SOFTMAX, LOGISTIC),
 * LinearRegressor, Binarizer, OneHotEncoder, SVMRegressor (linear, poly, RBF, sigmoid), SVMClassifier, ZipMap; their
 * attribute weights honour weights=private; unsupported attributes are refused by name. Also the
 * sklearn_logreg_zipmap case (with and without ZipMap) with onnxruntime's values. No new gadget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ZkError } from '../src/core/errors.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { OnnxBuilder, mulberry32, randomTensor, type AttrValue } from './support/onnx-builder.js';
import { CASES, checkAgainstOrt, runCase } from './support/op-check.js';

const LSB = 2 ** -8;
const ML = { domain: 'ai.onnx.ml' };
const rng = mulberry32(21);
const rand = (n: number, amp = 1) => OnnxBuilder.floats(Array.from(randomTensor(rng, [n], amp)));

function mlModel(op: string, attrs: Record<string, AttrValue>, outputs: [string, 'float32' | 'int64'][], dims = [3, 4]): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 }).input('x', dims).node(
    op,
    ['x'],
    outputs.map(([n]) => n),
    attrs,
    ML,
  );
  for (const [n, t] of outputs) b.output(n, undefined, t);
  return b.build();
}

test('Scaler (per feature) and Normalizer MAX, L1, L2', async () => {
  await checkAgainstOrt(mlModel('Scaler', { offset: rand(4), scale: rand(4, 2) }, [['y', 'float32']]), { tol: 2 * LSB });
  await checkAgainstOrt(mlModel('Normalizer', { norm: 'MAX' }, [['y', 'float32']]), { tol: 4 * LSB, offset: 2 });
  await checkAgainstOrt(mlModel('Normalizer', { norm: 'L1' }, [['y', 'float32']]), { tol: 2 * LSB, offset: 1.5 });
  await checkAgainstOrt(mlModel('Normalizer', { norm: 'L2' }, [['y', 'float32']]), { tol: 6 * LSB });
});

test('LinearClassifier: labels and scores for post_transform NONE, SOFTMAX, LOGISTIC', async () => {
  for (const post of ['NONE', 'SOFTMAX', 'LOGISTIC']) {
    const attrs = { classlabels_ints: [3, 5, 7], coefficients: rand(12), intercepts: rand(3), post_transform: post };
    await checkAgainstOrt(
      mlModel('LinearClassifier', attrs, [
        ['label', 'int64'],
        ['scores', 'float32'],
      ]),
      { tol: 6 * LSB, amp: 2 },
    );
  }
});

test('LinearRegressor with two targets; Binarizer; OneHotEncoder over numeric categories', async () => {
  await checkAgainstOrt(mlModel('LinearRegressor', { coefficients: rand(8), intercepts: rand(2), targets: 2 }, [['y', 'float32']]), { tol: 4 * LSB });
  await checkAgainstOrt(mlModel('Binarizer', { threshold: OnnxBuilder.float(0.25) }, [['y', 'float32']]), { tol: 0 });
  const onehot = new OnnxBuilder({ opset: 13 })
    .input('x', [2, 3], 'int64')
    .node('OneHotEncoder', ['x'], ['y'], { cats_int64s: [-2, 0, 1, 3] }, ML)
    .output('y');
  await checkAgainstOrt(onehot.build(), { tol: 0 });
});

test('SVMRegressor with linear, polynomial, RBF and sigmoid kernels', async () => {
  const base = { n_supports: 3, support_vectors: rand(12), coefficients: rand(3), rho: rand(1), kernel_params: OnnxBuilder.floats([0.5, 0, 0]) };
  await checkAgainstOrt(mlModel('SVMRegressor', { ...base, kernel_type: 'LINEAR' }, [['y', 'float32']]), { tol: 6 * LSB });
  await checkAgainstOrt(mlModel('SVMRegressor', { ...base, kernel_type: 'POLY', kernel_params: OnnxBuilder.floats([0.5, 1, 2]) }, [['y', 'float32']]), {
    tol: 12 * LSB,
  });
  await checkAgainstOrt(mlModel('SVMRegressor', { ...base, kernel_type: 'RBF', kernel_params: OnnxBuilder.floats([0.5, 0, 0]) }, [['y', 'float32']]), {
    tol: 8 * LSB,
  });
  await checkAgainstOrt(mlModel('SVMRegressor', { ...base, kernel_type: 'SIGMOID', kernel_params: OnnxBuilder.floats([0.5, 0.25, 0]) }, [['y', 'float32']]), {
    tol: 8 * LSB,
  });
});

test('SVMClassifier one-vs-one: binary and three classes, linear and RBF kernels, labels by votes and the decision values', async () => {
  for (const [classes, perClass] of [
    [
      [0, 1],
      [2, 2],
    ],
    [
      [4, 5, 6],
      [1, 2, 2],
    ],
  ] as const) {
    const vectors = perClass.reduce((a, b) => a + b, 0);
    for (const kernel of ['LINEAR', 'RBF']) {
      const attrs = {
        classlabels_ints: [...classes],
        vectors_per_class: [...perClass],
        support_vectors: rand(vectors * 4, 1.5),
        coefficients: rand((classes.length - 1) * vectors, 2),
        rho: rand((classes.length * (classes.length - 1)) / 2, 0.5),
        kernel_type: kernel,
        kernel_params: OnnxBuilder.floats([0.5, 0, 3]),
      };
      await checkAgainstOrt(
        mlModel('SVMClassifier', attrs, [
          ['label', 'int64'],
          ['scores', 'float32'],
        ]),
        { tol: 12 * LSB },
      );
    }
  }
});

test('weights=private: LinearClassifier coefficients and intercepts become weight wires with the same output', async () => {
  const attrs = { classlabels_ints: [0, 1, 2], coefficients: rand(12), intercepts: rand(3), post_transform: 'SOFTMAX' };
  const { plan } = await checkAgainstOrt(
    mlModel('LinearClassifier', attrs, [
      ['label', 'int64'],
      ['scores', 'float32'],
    ]),
    {
      tol: 6 * LSB,
      visibility: { input: 'public', weights: 'private', output: 'public' },
    },
  );
  assert.deepEqual(
    plan.weights.map((w) => w.name),
    ['LinearClassifier_0.coefficients', 'LinearClassifier_0.intercepts'],
  );
});

test('unsupported ML attributes are refused by name', () => {
  const refused = (bytes: Uint8Array, what: RegExp) =>
    assert.throws(
      () => quantizeGraph(loadOnnx(bytes), { scale: 8 }),
      (e: unknown) => e instanceof ZkError && e.code === 'ONNX_UNSUPPORTED' && what.test(e.message),
    );
  refused(
    mlModel('LinearClassifier', { classlabels_ints: [0, 1, 2], coefficients: rand(12), post_transform: 'PROBIT' }, [
      ['l', 'int64'],
      ['s', 'float32'],
    ]),
    /post_transform PROBIT/,
  );
  refused(mlModel('Normalizer', { norm: 'L3' }, [['y', 'float32']]), /norm L3/);
  refused(
    mlModel('SVMRegressor', { n_supports: 1, support_vectors: rand(4), coefficients: rand(1), kernel_type: 'CUSTOM' }, [['y', 'float32']]),
    /kernel_type CUSTOM/,
  );
});

test("case sklearn_logreg_zipmap (Scaler, LinearClassifier, Normalizer, ZipMap) and nozipmap give onnxruntime's label and probabilities", () => {
  const expected = [0.9784644842147827, 0.02153508923947811, 4.0861539218894904e-7];
  for (const dir of ['sklearn_logreg_zipmap', 'sklearn_logreg_zipmap/nozipmap']) {
    const { outputs } = runCase(join(CASES, dir));
    assert.deepEqual(outputs[0], [0], `${dir} label`);
    outputs[1].forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 0.005, `${dir}[${i}]: ${v} vs ${expected[i]}`));
  }
});
