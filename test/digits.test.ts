/**
 * A real trained classifier (examples/digits_mlp: PyTorch MLP 64-32-10 on scikit-learn's 8×8
 * digits, classic exporter): the quantized plan's class equals the float model's on all 100 test
 * images of test.json (mock, every constraint checked), and one image is proven and verified.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { releaseCurve } from '../src/core/snarkjs.js';
import { planOutputs, toIntegers } from '../src/model/accuracy.js';
import { compileModel, quantizeModel } from '../src/model/compile.js';
import { setupModel } from '../src/model/setup.js';
import { ModelProver } from '../src/prove/prover.js';
import { evaluate } from '../src/quantize/evaluate.js';
import { checkWitness } from '../src/quantize/witness-check.js';
import { loadVerificationKey } from '../src/setup/index.js';
import { parseProofBundle, verifyBundle } from '../src/verify/verify.js';
import { bundleFromSignals } from '../src/prove/bundle.js';
import { REPO_ROOT, TEST_DATA_DIR, tempDir } from './support/env.js';

after(() => releaseCurve());

const dir = join(REPO_ROOT, 'examples', 'digits_mlp');
const onnx = readFileSync(join(dir, 'network.onnx'));
const data = JSON.parse(readFileSync(join(dir, 'test.json'), 'utf8')) as { inputs: number[][]; labels: number[]; float_predictions: number[] };
const argmax = (v: readonly number[]) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
/** Calibrated on the example input and the first 20 test images; the other 80 are unseen. */
const calibration = [JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')).input_data as number[][], ...data.inputs.slice(0, 20).map((x) => [x])];

test("digits_mlp: the plan's class equals the float model's on all 100 test images, every constraint holding", async () => {
  const { quantized, accuracy } = await quantizeModel(onnx, { samples: calibration });
  assert.ok(accuracy.withinTolerance);
  let agree = 0;
  data.inputs.forEach((image, k) => {
    const { wires } = evaluate(quantized, toIntegers(quantized.inputs, [image]), { checkRanges: true });
    assert.deepEqual(checkWitness(quantized, wires), [], `image ${k}`);
    const cls = argmax(planOutputs(quantized, [image])[0]);
    assert.equal(cls, data.float_predictions[k], `image ${k}: class ${cls}, float model ${data.float_predictions[k]}`);
    if (cls === data.labels[k]) agree++;
  });
  assert.equal(agree, 97, 'the float model gets 97 of the first 100 right');
});

test("digits_mlp: one image proven and verified, with the float model's class", async () => {
  const out = join(tempDir('digits'), 'm');
  await compileModel(onnx, out, { samples: calibration, name: 'digits_mlp' });
  await setupModel(out, { dataDir: TEST_DATA_DIR, log: () => {} });
  const prover = await ModelProver.load(out);
  const k = 42;
  const bundle = await prover.prove([data.inputs[k]]);
  assert.equal((await verifyBundle(prover.info, await loadVerificationKey(out), bundle)).valid, true);
  assert.equal(argmax(bundle.outputs[0].values), data.float_predictions[k]);
  assert.equal(bundle.model.acceptedError, undefined);
  // A model compiled with --accept-error says so on every proof of it, and the bundle still parses.
  const accepted = { ...prover.info, accuracy: { ...prover.info.accuracy, accepted: true } };
  const shown = bundleFromSignals(accepted, bundle.system, bundle.proof, bundle.publicSignals);
  assert.deepEqual(shown.model.acceptedError, { maxAbsError: prover.info.accuracy.maxAbsError, tolerance: prover.info.accuracy.tolerance });
  assert.deepEqual(parseProofBundle(JSON.parse(JSON.stringify(shown))).model.acceptedError, shown.model.acceptedError);
});
