import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileModel } from '../src/model/compile.js';
import { OnnxBuilder } from './support/onnx-builder.js';
import { tempDir } from './support/env.js';
import { SMALL_WEIGHTS_SAMPLES, smallWeights } from './support/models.js';

const samples = SMALL_WEIGHTS_SAMPLES;

test('calibration picks a larger scale when the default misses the tolerance, and reports it', async () => {
  const dir = tempDir('compile');
  const fixed = await compileModel(smallWeights(), join(dir, 'fixed'), { scale: 8, samples, acceptError: true });
  assert.equal(fixed.scale, 8);
  assert.equal(fixed.accuracy.withinTolerance, false, `error ${fixed.accuracy.maxAbsError} at scale 8`);
  // No scale up to 14 is within the tightening tolerance either: accepted, to compare the errors.
  const auto = await compileModel(smallWeights(), join(dir, 'auto'), { samples, acceptError: true });
  assert.ok(auto.scale > 8, `chose scale ${auto.scale}`);
  assert.ok(auto.accuracy.maxAbsError < fixed.accuracy.maxAbsError / 4, `${auto.accuracy.maxAbsError} vs ${fixed.accuracy.maxAbsError}`);
});

test('a model within tolerance at the default scale keeps the default (the cheapest circuit)', async () => {
  const tiny = new OnnxBuilder()
    .input('x', [1, 2])
    .initializer('W', [2, 2], [0.5, -0.25, 0.75, 1])
    .node('MatMul', ['x', 'W'], ['h'])
    .node('Relu', ['h'], ['y'])
    .output('y', [1, 2])
    .build();
  const info = await compileModel(tiny, join(tempDir('compile'), 'm'), { samples: [[[0.3, -0.6]], [[0.9, 0.1]]] });
  assert.equal(info.scale, 8);
  assert.ok(info.accuracy.withinTolerance);
});
