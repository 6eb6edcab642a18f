/**
 * Wide affine forms materialised as wires (`linear` groups): a linear op over forms that are sums of
 * many distinct wires (attention's output projection over its per-token sums) multiplies terms when
 * folded; the tracer measures both ways and keeps the cheaper, with the wire pinned by one linear
 * constraint that the reference evaluation, the mock witness check and the circuit all enforce.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildWitnessCalculator, releaseCurve, toField } from '../src/core/snarkjs.js';
import { quantizeInputs } from '../src/io/input.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles } from '../src/model/layout.js';
import { loadOnnx } from '../src/onnx/load.js';
import { evaluate } from '../src/quantize/evaluate.js';
import type { IntForm, LinearGroup, QuantizedGraph } from '../src/quantize/plan.js';
import { planFromJson } from '../src/quantize/serialize.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { checkWitness } from '../src/quantize/witness-check.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { tempDir } from './support/env.js';
import { namesByIndex, readSymbols, tamperedWitnessesFail, witnessIndex } from './support/witness.js';

/**
 * s = ReduceSum(x·x, axis 2) is 64 sums of 16 distinct product wires; t = s·B reads each sum 128
 * times: 4·128·256 = 131,072 terms folded (over the default budget), 64·17 + 4·128·16 = 9,280 materialised.
 */
function sumThenDense(): Uint8Array {
  return new OnnxBuilder()
    .input('x', [4, 16, 16])
    .initializerInt64('axes', [1], [2])
    .initializer('B', [16, 128], randomTensor(mulberry32(7), [16, 128], 0.5))
    .node('Mul', ['x', 'x'], ['y'])
    .node('ReduceSum', ['y', 'axes'], ['s'], { keepdims: 0 })
    .node('MatMul', ['s', 'B'], ['t'])
    .output('t', [4, 128])
    .build();
}

const sample = (seed: number): number[][] => [Array.from(randomTensor(mulberry32(seed), [4, 16, 16], 1))];
const terms = (g: QuantizedGraph): number => {
  const forms: IntForm[] = [
    ...g.outputs.flatMap((o) => o.forms),
    ...g.groups.flatMap((x) => (x.kind === 'product' || x.kind === 'divide' ? [...x.a, ...x.b] : x.inputs)),
  ];
  return forms.reduce((s, f) => s + f.wires.length, 0);
};
const linearGroups = (g: QuantizedGraph): LinearGroup[] => g.groups.filter((x): x is LinearGroup => x.kind === 'linear');

test('a dense layer over wide sums: the sums become wires, the terms fall 14x, the outputs are the same integers', () => {
  const graph = loadOnnx(sumThenDense());
  const materialised = quantizeGraph(graph, { scale: 8 });
  const folded = quantizeGraph(graph, { scale: 8, foldBudget: Infinity });
  assert.deepEqual(linearGroups(folded), []);
  const [linear] = linearGroups(materialised);
  assert.ok(linear, 'a linear group');
  assert.equal(linear.inputs.length, 64);
  assert.equal(linear.node, 'MatMul_2');
  assert.equal(terms(folded), 4 * 128 * 256 + 2 * 1024);
  assert.ok(terms(materialised) * 10 < terms(folded), `${terms(materialised)} terms against ${terms(folded)} folded`);
  // The sums are exact at their scale: both plans compute the same integers.
  const ints = quantizeInputs(sample(3), [8], ['x']);
  assert.deepEqual(evaluate(materialised, ints, { checkRanges: true }).outputs, evaluate(folded, ints, { checkRanges: true }).outputs);
});

test('where folding is cheaper (a dense layer over single wires or a second one over the same wires) nothing is materialised', () => {
  const onnx = new OnnxBuilder()
    .input('x', [1, 64])
    .initializer('A', [64, 64], randomTensor(mulberry32(1), [64, 64], 0.2))
    .initializer('B', [64, 64], randomTensor(mulberry32(2), [64, 64], 0.2))
    .node('MatMul', ['x', 'A'], ['h'])
    .node('MatMul', ['h', 'B'], ['y'])
    .output('y', [1, 64])
    .build();
  // Each h is 64 terms over the same 64 inputs: y folds into 64 terms each too, and a wire would add.
  assert.deepEqual(linearGroups(quantizeGraph(loadOnnx(onnx), { scale: 8, foldBudget: 100 })), []);
});

test('mock: a tampered materialised wire breaks its linear constraint', () => {
  const plan = quantizeGraph(loadOnnx(sumThenDense()), { scale: 8 });
  const { wires } = evaluate(plan, quantizeInputs(sample(4), [8], ['x']), { checkRanges: true });
  assert.deepEqual(checkWitness(plan, wires), []);
  const [linear] = linearGroups(plan);
  for (const k of [0, 37, 63]) {
    const tampered = [...wires];
    tampered[linear.firstWire + k] += 1n;
    assert.deepEqual(
      checkWitness(plan, tampered).map((v) => [v.node, v.element, v.what]),
      [['MatMul_2', k, 'out ≠ its linear form']],
    );
  }
});

test('circuit: each materialised wire is one linear constraint (none non-linear), and tampering any of them fails the R1CS', async () => {
  const dir = tempDir('materialise');
  const info = await compileModel(sumThenDense(), dir, { samples: [1, 2, 3].map(sample), scale: 8, name: 'sum_then_dense' });
  const plan = planFromJson(readFileSync(modelFiles(dir).plan, 'utf8'));
  const [linear] = linearGroups(plan);
  // model.json: the linear layer costs no non-linear constraint; the 1,024 products one each; circom agrees.
  const layer = info.layers.find((l) => l.gadget === 'linear');
  assert.deepEqual(layer && [layer.count, layer.constraints], [64, 0]);
  assert.equal(info.constraints.layers, 1024);
  assert.equal(info.constraints.nonLinear, 1024);
  assert.ok(info.constraints.r1cs >= 1024 + 64, `${info.constraints.r1cs} constraints: the 64 linear ones are kept`);
  const input = sample(1);
  const ints = quantizeInputs(input, [8], ['x']);
  const wasm = await buildWitnessCalculator(readFileSync(modelFiles(dir).wasm));
  const witness = await wasm.calculateWitness({ [info.inputs[0].signal]: ints[0].map((v) => toField(v).toString()) }, true);
  const symbols = readSymbols(`${modelFiles(dir).buildDir}/main.sym`);
  const indices = Array.from({ length: 64 }, (_, k) => witnessIndex(symbols, `main.w[${linear.firstWire + k}]`));
  assert.equal(await tamperedWitnessesFail(modelFiles(dir).r1cs, witness, indices, namesByIndex(symbols)), 64);
});

after(() => releaseCurve());
