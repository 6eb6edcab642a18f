/**
 * Fidelity: the proven output is the model's output. Real exports from users' reports
 * (../shared/cases, README there) against onnxruntime's value on their input, through mock (the
 * plan with every gadget constraint checked on its witness); the compile's accuracy guard; every
 * attribute implemented or refused by name; and the mock's own soundness (a tampered witness fails).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isZkError } from '../src/core/errors.js';
import { quantizeModel } from '../src/model/compile.js';
import { mockModel } from '../src/model/mock.js';
import { parseDims, prepareWithDocs } from '../src/model/prepare.js';
import { loadOnnx } from '../src/onnx/load.js';
import { evaluate } from '../src/quantize/evaluate.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { checkWitness } from '../src/quantize/witness-check.js';
import { toIntegers } from '../src/model/accuracy.js';
import { CASES, ONNX_NODE, REPO_ROOT } from './support/env.js';
import { OnnxBuilder } from './support/onnx-builder.js';
import { SMALL_WEIGHTS_SAMPLES, smallWeights } from './support/models.js';

const read = (c: string, file = 'network.onnx') => readFileSync(join(CASES, c, file));
const doc = (c: string, file = 'input.json') => JSON.parse(readFileSync(join(CASES, c, file), 'utf8')) as unknown;

/** Mocks a case on its input.json; the expected values are onnxruntime's (README of ../shared/cases). */
async function mockCase(c: string, settings = {}) {
  const onnx = read(c);
  const { samples } = prepareWithDocs(loadOnnx(onnx), settings, [doc(c)]);
  const r = await mockModel(onnx, samples[0], { settings });
  assert.deepEqual(r.violations, [], `${c}: constraints broken`);
  assert.ok(r.withinTolerance, `${c}: error ${r.maxAbsError} above ${r.tolerance}`);
  return r;
}

const close = (got: number[], want: number[], tol: number, what: string) => {
  assert.equal(got.length, want.length, what);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol, `${what}[${i}]: ${v} vs onnxruntime ${want[i]} (tolerance ${tol})`));
};

test('Shape start/end (torch dynamo): dims[start:end], the right output, not a silent wrong one', async () => {
  const r = await mockCase('shape_start_end');
  close(r.outputs[0].values, [-0.313441, 0.471671, -0.362784], r.tolerance, 'shape_start_end');
  const silent = await mockCase('shape_start_end/silent');
  // onnxruntime: x / sqrt(3), the size of the last axis.
  close(silent.outputs[0].values, silent.outputs[0].reference, silent.tolerance, 'silent');
});

test('AveragePool ceil_mode + count_include_pad: the divisor counts window taps inside the padded input', async () => {
  const want = [0.097222, 0.208333, 0.125, 0.395833, 0.6875, 0.375, 0.28125, 0.46875, 0.25];
  for (const c of ['avgpool_ceil_include_pad', 'avgpool_ceil_include_pad/opset19']) close((await mockCase(c)).outputs[0].values, want, 2 ** -7, c);
});

test('inputs typed int32, uint8 and float64 reach onnxruntime in their declared type', async () => {
  const want: Record<string, number[]> = {
    int32_token_inputs: [0.160654, -0.331506],
    'int32_token_inputs/uint8': [0.462182, 0.277061],
    'int32_token_inputs/double': [1.12427, 0.802887],
  };
  for (const [c, values] of Object.entries(want)) {
    const r = await mockCase(c);
    close(r.outputs[0].reference, values, 1e-5, `${c} onnxruntime`);
    close(r.outputs[0].values, values, r.tolerance, c);
  }
});

test('symbolic dims: named with --dim, or taken from the calibration input (a 4-token BERT block)', async () => {
  const graph = loadOnnx(read('bert_tiny_block'));
  assert.ok(
    graph.inputs.some((i) => i.dimParams?.includes('sequence')),
    'the export names its sequence dim',
  );
  const named = await mockCase('bert_tiny_block', { dims: { sequence: 4 } });
  const fromInput = await mockCase('bert_tiny_block');
  const fixedExport = await mockCase('bert_tiny_block/static');
  assert.deepEqual(named.outputs[0].dims, fixedExport.outputs[0].dims);
  assert.deepEqual(fromInput.outputs[0].values, named.outputs[0].values);
  assert.throws(() => prepareWithDocs(graph, { dims: { nope: 2 } }, [doc('bert_tiny_block')]), /no symbolic dimension nope/);
  // A size past a safe integer is the setting's fault, not the model's (it was ONNX_MALFORMED).
  assert.throws(
    () => prepareWithDocs(graph, { dims: { sequence: 1e308 } }, []),
    (e) => isZkError(e) && e.code === 'INPUT_INVALID',
  );
  assert.throws(() => parseDims(['sequence=4', 'sequence=8'], 'dim'), /dim sequence: given twice/);
});

test('a causal mask of −inf or finfo.min before Softmax: a masked position drops out (exp = 0), no 150-bit range checks', async () => {
  const inf = await mockCase('nanogpt_causal_attn');
  const min = await mockCase('nanogpt_causal_attn/finfo_min');
  assert.deepEqual(inf.outputs[0].values, min.outputs[0].values);
  // Before: −inf was refused and finfo.min cost 6,034 constraints for 4×4 scores.
  assert.ok(min.constraints < 2500, `${min.constraints} constraints`);
});

const samples = SMALL_WEIGHTS_SAMPLES;

test('a compile whose error exceeds its stated tolerance fails, naming the worst output and the first diverging node', async () => {
  await assert.rejects(quantizeModel(smallWeights(), { scale: 8, samples }), (e) => {
    assert.ok(isZkError(e) && e.code === 'INACCURATE', String(e));
    assert.match(e.message, /output y\[0\] is .* where onnxruntime gives/);
    // h = x·W1 is tiny: within the tolerance of its own size, the last MatMul is where it shows.
    assert.match(e.message, /first node to diverge is MatMul_2 \(MatMul\)/);
    assert.match(e.message, /--accept-error/);
    return true;
  });
  const accepted = await quantizeModel(smallWeights(), { scale: 8, samples, acceptError: true });
  assert.equal(accepted.accuracy.accepted, true);
  assert.equal(accepted.accuracy.withinTolerance, false);
  assert.equal(accepted.accuracy.worst?.output, 'y');
});

test('every attribute is implemented or refused by name, and one refusal lists every node', () => {
  const graph = loadOnnx(
    new OnnxBuilder()
      .input('x', [1, 4])
      .node('Relu', ['x'], ['a'], { made_up: 1 })
      .node('Shape', ['a'], ['s'], { start: 1 })
      .node('Sigmoid', ['a'], ['b'], { other: 2 })
      .output('b', [1, 4])
      .build(),
  );
  assert.throws(
    () => quantizeGraph(graph, { scale: 8 }),
    (e) => {
      assert.ok(isZkError(e) && e.code === 'ONNX_UNSUPPORTED');
      assert.match(e.message, /Relu_0 \(Relu\): attribute made_up=1 not supported/);
      // Sigmoid reads a refused node's output: it is not tried, but a node on another path would be.
      return true;
    },
  );
  const two = loadOnnx(
    new OnnxBuilder()
      .input('x', [1, 4])
      .node('Relu', ['x'], ['a'], { made_up: 1 })
      .node('Sigmoid', ['x'], ['b'], { other: 2 })
      .node('Add', ['a', 'b'], ['y'])
      .output('y', [1, 4])
      .build(),
  );
  assert.throws(() => quantizeGraph(two, { scale: 8 }), /2 nodes cannot be compiled: .*Relu_0 .*made_up.*; .*Sigmoid_1 .*other/);
  const dropout = loadOnnx(new OnnxBuilder().input('x', [1, 4]).initializer('t', [], [1]).node('Dropout', ['x', '', 't'], ['y']).output('y', [1, 4]).build());
  assert.throws(() => quantizeGraph(dropout, { scale: 8 }), /Dropout_0 \(Dropout\): training_mode true/);
  // Cast to a type we do not compute in (8 = STRING) is refused, not taken for an integer type.
  const castToString = loadOnnx(new OnnxBuilder().input('x', [1, 4]).node('Cast', ['x'], ['y'], { to: 8 }).output('y', [1, 4]).build());
  assert.throws(() => quantizeGraph(castToString, { scale: 8 }), /Cast_0 \(Cast\): to = element type 8/);
});

test('mock checks every gadget constraint: a tampered witness breaks one', async () => {
  const onnx = read('digits_mlp');
  const input = prepareWithDocs(loadOnnx(onnx), {}, [doc('digits_mlp')]).samples[0];
  const { quantized } = await quantizeModel(onnx, { samples: [input] });
  const { wires } = evaluate(quantized, toIntegers(quantized.inputs, input), { checkRanges: true });
  assert.deepEqual(checkWitness(quantized, wires), []);
  for (const g of quantized.groups) {
    const tampered = [...wires];
    tampered[g.firstWire] += 1n;
    const broken = checkWitness(quantized, tampered);
    assert.ok(
      broken.some((v) => v.node === g.node),
      `changing the first output of ${g.kind} group ${g.node} breaks nothing`,
    );
  }
});

test('CLI: zkinfer mock with --dim and --fix, exit 0 when every constraint holds; a bad setting is a clear error', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'mock', ...args], { encoding: 'utf8' });
  const bert = cli(join(CASES, 'bert_tiny_block', 'network.onnx'), '--input', join(CASES, 'bert_tiny_block', 'input.json'), '--dim', 'sequence=4');
  assert.equal(bert.status, 0, bert.stderr);
  assert.match(bert.stdout, /logits \[1,4,2\]/);
  assert.match(bert.stdout, /mock: ok, every constraint holds/);
  const bad = cli(join(CASES, 'bert_tiny_block', 'network.onnx'), '--input', join(CASES, 'bert_tiny_block', 'input.json'), '--dim', 'seq=4');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /INPUT_INVALID.*no symbolic dimension seq/);
  // ONNX's suite passes ReduceSum's axes as an input: fixed, it compiles; its row is dropped from input_data.
  const reduce = join(ONNX_NODE, 'test_reduce_sum_keepdims_example');
  const fixed = cli(join(reduce, 'network.onnx'), '--input', join(reduce, 'input.json'), '--fix', 'axes=[1]');
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.match(fixed.stdout, /reduced \[3,1,2\]: 4, 6, 12, 14, 20, 22/);
  const unfixed = cli(join(reduce, 'network.onnx'), '--input', join(reduce, 'input.json'));
  assert.equal(unfixed.status, 1);
  assert.match(unfixed.stderr, /ONNX_UNSUPPORTED.*ReduceSum.*axes/);
});
