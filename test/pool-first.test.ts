/**
 * Max-pooling before the activation (src/onnx/rewrite.ts): `Conv → Relu → MaxPool` is traced as
 * `Conv → MaxPool → Relu`, so the rescaling ReLU runs once per pooled value. The rewrite must not
 * change what is computed: the plan's integers equal those of the unrewritten graph (the same graph
 * with the activation's output exposed, which the rewrite leaves alone) and of the other exporter
 * order, both are near onnxruntime, and the pooled circuit rejects every single-entry tampering of
 * its witness (real circom2, no mocks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildWitnessCalculator, toField, toSigned } from '../src/core/snarkjs.js';
import { quantizeInputs } from '../src/io/input.js';
import { compileCircom } from '../src/circuit/compile.js';
import { emitCircom } from '../src/circuit/emit.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles } from '../src/model/layout.js';
import type { OnnxGraph } from '../src/onnx/graph.js';
import { loadOnnx } from '../src/onnx/load.js';
import { poolBeforeActivation } from '../src/onnx/rewrite.js';
import { calibrate } from '../src/quantize/calibrate.js';
import { evaluate } from '../src/quantize/evaluate.js';
import type { QuantizedGraph } from '../src/quantize/plan.js';
import { planFromJson } from '../src/quantize/serialize.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { runReference } from '../src/reference/onnxruntime.js';
import { tempDir } from './support/env.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { assertNearReference } from './support/op-check.js';
import { nonConstantIndices, readR1cs, singleTamperSurvivors } from './support/witness.js';

const SCALE = 8;
const DIMS = [1, 1, 8, 8];

type Order = 'relu-pool' | 'pool-relu' | 'relu-pool-exposed';

/**
 * [1, 1, 8, 8] → Conv 3 channels 3×3 (pads 1) → Relu and MaxPool 2×2 in the given order → [1, 3, 4, 4];
 * `relu-pool-exposed` also makes the Relu's output a graph output (so the rewrite does not apply).
 */
function convPool(order: Order, activation: 'Relu' | 'Clip' = 'Relu'): Uint8Array {
  const rng = mulberry32(11);
  const b = new OnnxBuilder()
    .input('x', DIMS)
    .initializer('W', [3, 1, 3, 3], randomTensor(rng, [3, 1, 3, 3], 0.6))
    .initializer('B', [3], randomTensor(rng, [3], 0.3))
    .node('Conv', ['x', 'W', 'B'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const act = (x: string, y: string) =>
    activation === 'Relu'
      ? b.node('Relu', [x], [y])
      : b.initializer('lo', [], Float32Array.of(0)).initializer('hi', [], Float32Array.of(0.75)).node('Clip', [x, 'lo', 'hi'], [y]);
  const pool = (x: string, y: string) => b.node('MaxPool', [x], [y], { kernel_shape: [2, 2], strides: [2, 2] });
  if (order === 'pool-relu') pool('c', 'p'), act('p', 'y');
  else act('c', 'r'), pool('r', 'y');
  b.output('y', [1, 3, 4, 4]);
  if (order === 'relu-pool-exposed') b.output('r', [1, 3, 8, 8]);
  return b.build();
}

const samples = (count: number, seed: number): number[][][] => {
  const rng = mulberry32(seed);
  return Array.from({ length: count }, () => [Array.from(randomTensor(rng, DIMS, 1), Math.fround)]);
};

/** The calibrated plan of a model, and its outputs on `inputs` (integers, range checks on). */
function planOf(bytes: Uint8Array, calibration: number[][][], inputs: number[][][]): { plan: QuantizedGraph; outputs: bigint[][] } {
  const raw = quantizeGraph(loadOnnx(bytes), { scale: SCALE });
  const toInts = (s: number[][]) =>
    quantizeInputs(
      s,
      raw.inputs.map((i) => i.scale),
      raw.inputs.map((i) => i.name),
    );
  const plan = calibrate(raw, calibration.map(toInts), 2);
  return { plan, outputs: inputs.map((s) => evaluate(plan, toInts(s), { checkRanges: true }).outputs[0]) };
}

/** The plan's non-linear constraints: a shift group costs bits + 1 per value (RescaleRelu). */
const shiftCost = (plan: QuantizedGraph): number => plan.groups.reduce((n, g) => n + (g.kind === 'shift' ? g.inputs.length * (g.bits + 1) : 0), 0);
const ops = (g: OnnxGraph): string =>
  g.nodes.map((n) => `${n.opType}(${n.inputs.filter((i) => !/^[WB]$|^lo$|^hi$/.test(i)).join(',')})→${n.outputs.join(',')}`).join(' ');

test('poolBeforeActivation: Relu/Clip → MaxPool swapped (chains too); left alone when the activation output is read elsewhere, LeakyRelu, Indices', () => {
  assert.equal(ops(poolBeforeActivation(loadOnnx(convPool('relu-pool')))), 'Conv(x)→c MaxPool(c)→y/pooled Relu(y/pooled)→y');
  assert.equal(ops(poolBeforeActivation(loadOnnx(convPool('relu-pool', 'Clip')))), 'Conv(x)→c MaxPool(c)→y/pooled Clip(y/pooled)→y');
  const exposed = loadOnnx(convPool('relu-pool-exposed'));
  assert.equal(poolBeforeActivation(exposed), exposed, 'the Relu output is a graph output');
  const chain = new OnnxBuilder()
    .input('x', [1, 1, 8, 8])
    .node('Relu', ['x'], ['r'])
    .node('MaxPool', ['r'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('GlobalMaxPool', ['p'], ['g'])
    .output('g', [1, 1, 1, 1])
    .build();
  assert.equal(ops(poolBeforeActivation(loadOnnx(chain))), 'MaxPool(x)→p/pooled GlobalMaxPool(p/pooled)→g/pooled Relu(g/pooled)→g');
  const leaky = new OnnxBuilder()
    .input('x', [1, 1, 4, 4])
    .node('LeakyRelu', ['x'], ['r'])
    .node('MaxPool', ['r'], ['y'], { kernel_shape: [2, 2], strides: [2, 2] })
    .output('y', [1, 1, 2, 2])
    .build();
  assert.equal(ops(poolBeforeActivation(loadOnnx(leaky))), 'LeakyRelu(x)→r MaxPool(r)→y', 'LeakyRelu is not monotone in the plan integers');
  const twoReaders = new OnnxBuilder()
    .input('x', [1, 1, 4, 4])
    .node('Relu', ['x'], ['r'])
    .node('MaxPool', ['r'], ['y'], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('Neg', ['r'], ['n'])
    .output('y', [1, 1, 2, 2])
    .output('n', [1, 1, 4, 4])
    .build();
  assert.equal(ops(poolBeforeActivation(loadOnnx(twoReaders))), 'Relu(x)→r MaxPool(r)→y Neg(r)→n');
  const indices = new OnnxBuilder()
    .input('x', [1, 1, 4, 4])
    .node('Relu', ['x'], ['r'])
    .node('MaxPool', ['r'], ['y', 'i'], { kernel_shape: [2, 2], strides: [2, 2] })
    .output('y', [1, 1, 2, 2])
    .build();
  assert.equal(ops(poolBeforeActivation(loadOnnx(indices))), 'Relu(x)→r MaxPool(r)→y,i');
});

for (const activation of ['Relu', 'Clip'] as const) {
  test(`Conv → ${activation} → MaxPool: the plan's integers equal the unrewritten plan's and the other order's, near onnxruntime, for fewer constraints`, async (t) => {
    const calibration = samples(4, 5);
    const fresh = samples(4, 6);
    const pooled = planOf(convPool('relu-pool', activation), calibration, fresh);
    const plain = planOf(convPool('relu-pool-exposed', activation), calibration, fresh);
    const otherOrder = planOf(convPool('pool-relu', activation), calibration, fresh);
    assert.deepEqual(pooled.outputs, plain.outputs, 'the same integers as the activation on every value, then the pool');
    assert.deepEqual(otherOrder.outputs, pooled.outputs, 'Conv → MaxPool → activation, as some exporters write it, is the same circuit');
    assert.equal(shiftCost(otherOrder.plan), shiftCost(pooled.plan));
    const [before, after] = [shiftCost(plain.plan), shiftCost(pooled.plan)];
    assert.ok(after < 0.8 * before, `constraints ${after} against ${before} without the rewrite`);
    const bytes = convPool('relu-pool', activation);
    const graph = loadOnnx(bytes);
    let maxErr = 0;
    for (const s of fresh) {
      const ints = quantizeInputs(
        s,
        pooled.plan.inputs.map((i) => i.scale),
        pooled.plan.inputs.map((i) => i.name),
      );
      // 9 terms of |w| ≤ 0.6 on |x| ≤ 1, each coefficient and input rounded to 2^-9, then one rounding.
      maxErr = Math.max(maxErr, assertNearReference(pooled.plan, ints, await runReference(bytes, graph.inputs, s), ((9 * 1.6) / 2 + 1) * 2 ** -SCALE));
    }
    t.diagnostic(`${activation}: ${after} non-linear constraints pooled first, ${before} without; max |err| against onnxruntime ${maxErr.toExponential(3)}`);
  });
}

test('the pooled layout in circom: the witness is the plan, and every single-entry tampering breaks a constraint', async (t) => {
  const dir = tempDir('pool-first');
  const calibration = samples(4, 7);
  const info = await compileModel(convPool('relu-pool'), dir, { samples: calibration, scale: SCALE, name: 'pool-first' });
  assert.deepEqual(
    info.layers.map((l) => l.op),
    ['MaxPool', 'MaxPool', 'Relu'],
    'two levels of exact maxima, then one ReLU per pooled value',
  );
  const files = modelFiles(dir);
  const plan = planFromJson(readFileSync(files.plan, 'utf8'));
  const ints = quantizeInputs(
    calibration[1],
    plan.inputs.map((i) => i.scale),
    plan.inputs.map((i) => i.name),
  );
  const wasm = await buildWitnessCalculator(readFileSync(files.wasm));
  const w = await wasm.calculateWitness({ [info.inputs[0].signal]: ints[0].map((v) => toField(v).toString()) }, true);
  const expected = evaluate(plan, ints, { checkRanges: true }).outputs[0];
  assert.deepEqual(w.slice(1, 1 + expected.length).map(toSigned), expected, 'the outputs come first in the witness');
  const all = nonConstantIndices(w.length);
  assert.deepEqual(singleTamperSurvivors(readR1cs(files.r1cs), w, all), [], 'unconstrained witness entries');
  t.diagnostic(`${all.length} tampered witnesses of ${info.layers.map((l) => `${l.count} x ${l.gadget}`).join(', ')} all rejected`);
});

test("gadget input forms split into templates of their own (as LeNet-5's are): the same witness, every single-entry tampering fails", async (t) => {
  const calibration = samples(4, 8);
  const { plan } = planOf(convPool('relu-pool'), calibration, []);
  // Forced on this small model: at most 40 terms per template (LeNet-5 gets 100,000 past 150,000 in all).
  const source = emitCircom(plan, 'split', { mainTerms: 0, formTerms: 40 });
  const parts = source.code.match(/^template L\d+Forms\d+\(\)/gm) ?? [];
  assert.ok(parts.length > 3, `forms in ${parts.length} templates`);
  const compiled = await compileCircom(tempDir('split-forms'), source.code, { optimization: 1 });
  assert.equal(
    compiled.nonLinear,
    source.layers.reduce((n, l) => n + l.constraints, 0),
  );
  const ints = quantizeInputs(
    calibration[2],
    plan.inputs.map((i) => i.scale),
    plan.inputs.map((i) => i.name),
  );
  const wasm = await buildWitnessCalculator(readFileSync(compiled.wasmPath));
  const w = await wasm.calculateWitness({ [source.inputSignals[0]]: ints[0].map((v) => toField(v).toString()) }, true);
  const expected = evaluate(plan, ints, { checkRanges: true }).outputs[0];
  assert.deepEqual(w.slice(1, 1 + expected.length).map(toSigned), expected);
  assert.deepEqual(singleTamperSurvivors(readR1cs(compiled.r1csPath), w, nonConstantIndices(w.length)), [], 'unconstrained witness entries');
  t.diagnostic(`${parts.length} form templates, ${compiled.constraints} constraints (${compiled.nonLinear} non-linear)`);
});
