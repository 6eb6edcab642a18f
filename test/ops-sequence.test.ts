/**
 * LSTM, GRU and RNN unrolled into tables and products, against onnxruntime: every direction, both
 * layouts, constant sequence_lens, initial states, peepholes, GRU's linear_before_reset, clip; weights
 * as wires (weights=private) give the same output and are declared as weights; unsupported
 * attributes are refused by name. Also the lstm_seq case with onnxruntime's value. No new gadget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkError } from '../src/core/errors.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { OnnxBuilder, mulberry32, randomTensor, type AttrValue } from './support/onnx-builder.js';
import { CASES, NODE_SUITE, checkAgainstOrt, runCase } from './support/op-check.js';

type Kind = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Kind, number> = { LSTM: 4, GRU: 3, RNN: 1 };

interface Spec {
  kind: Kind;
  seq?: number;
  batch?: number;
  input?: number;
  hidden?: number;
  directions?: 1 | 2;
  attrs?: Record<string, AttrValue>;
  lens?: number[];
  initialH?: boolean;
  initialC?: boolean;
  peepholes?: boolean;
  layout?: 0 | 1;
}

function recurrentModel(s: Spec): Uint8Array {
  const [seq, batch, input, hidden, dirs] = [s.seq ?? 3, s.batch ?? 2, s.input ?? 3, s.hidden ?? 4, s.directions ?? 1];
  const g = GATES[s.kind];
  const rng = mulberry32(7);
  const layout = s.layout ?? 0;
  const b = new OnnxBuilder({ opset: 14 }).input('X', layout ? [batch, seq, input] : [seq, batch, input]);
  b.initializer('W', [dirs, g * hidden, input], randomTensor(rng, [dirs, g * hidden, input], 0.8));
  b.initializer('R', [dirs, g * hidden, hidden], randomTensor(rng, [dirs, g * hidden, hidden], 0.8));
  b.initializer('B', [dirs, 2 * g * hidden], randomTensor(rng, [dirs, 2 * g * hidden], 0.5));
  const inputs = ['X', 'W', 'R', 'B', '', '', '', ''];
  if (s.lens) {
    b.initializerOf('lens', 'int32', [batch], s.lens);
    inputs[4] = 'lens';
  }
  const stateDims = layout ? [batch, dirs, hidden] : [dirs, batch, hidden];
  if (s.initialH) b.input('h0', stateDims), (inputs[5] = 'h0');
  if (s.initialC) b.input('c0', stateDims), (inputs[6] = 'c0');
  if (s.peepholes) b.initializer('P', [dirs, 3 * hidden], randomTensor(rng, [dirs, 3 * hidden], 0.5)), (inputs[7] = 'P');
  const used = s.kind === 'LSTM' ? inputs : inputs.slice(0, 6);
  while (used.at(-1) === '') used.pop();
  const outputs = s.kind === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  b.node(s.kind, used, outputs, { hidden_size: hidden, ...(dirs === 2 ? { direction: 'bidirectional' } : {}), ...(layout ? { layout } : {}), ...s.attrs });
  for (const o of outputs) b.output(o);
  return b.build();
}

// Each step is a table (≤ ½ LSB) and products of rounded operands; errors stay within a few LSBs per step.
const TOL = 0.03;

test('LSTM forward with bias: Y, Y_h and Y_c as onnxruntime', async () => {
  await checkAgainstOrt(recurrentModel({ kind: 'LSTM' }), { tol: TOL });
});

test('LSTM bidirectional with initial_h, initial_c and peepholes', async () => {
  await checkAgainstOrt(recurrentModel({ kind: 'LSTM', directions: 2, initialH: true, initialC: true, peepholes: true }), { tol: TOL });
});

test('LSTM reverse with sequence_lens [3, 1]', async () => {
  await checkAgainstOrt(recurrentModel({ kind: 'LSTM', attrs: { direction: 'reverse' }, lens: [3, 1] }), { tol: TOL });
});

test('LSTM layout 1 (batch-major) as the ONNX reference computes it (onnxruntime refuses layout 1)', () => {
  const dir = join(NODE_SUITE, 'test_lstm_batchwise');
  const expected = (JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')) as { output_data: number[][] }).output_data;
  const { outputs } = runCase(dir);
  outputs.forEach((o, k) => o.forEach((v, i) => assert.ok(Math.abs(v - expected[k][i]) <= TOL, `output ${k}[${i}]: ${v} vs ${expected[k][i]}`)));
});

test('LSTM with clip bounds the gate inputs', async () => {
  await checkAgainstOrt(recurrentModel({ kind: 'LSTM', attrs: { clip: OnnxBuilder.float(0.5) } }), { tol: TOL, amp: 2 });
});

test('GRU forward, bidirectional with linear_before_reset, reverse with sequence_lens and initial_h', async () => {
  await checkAgainstOrt(recurrentModel({ kind: 'GRU' }), { tol: TOL });
  await checkAgainstOrt(recurrentModel({ kind: 'GRU', directions: 2, attrs: { linear_before_reset: 1 } }), { tol: TOL });
  await checkAgainstOrt(recurrentModel({ kind: 'GRU', attrs: { direction: 'reverse' }, lens: [2, 3], initialH: true }), { tol: TOL });
});

test('RNN forward (Tanh), bidirectional, Relu activation with initial_h', async () => {
  await checkAgainstOrt(recurrentModel({ kind: 'RNN' }), { tol: TOL });
  await checkAgainstOrt(recurrentModel({ kind: 'RNN', directions: 2, lens: [1, 3] }), { tol: TOL });
  await checkAgainstOrt(recurrentModel({ kind: 'RNN', initialH: true, attrs: { activations: ['Relu'] } }), { tol: TOL });
});

test('weights=private: W, R and B become weight wires, and the output is unchanged', async () => {
  for (const kind of ['LSTM', 'GRU', 'RNN'] as const) {
    const { plan } = await checkAgainstOrt(recurrentModel({ kind, seq: 2 }), {
      tol: TOL,
      visibility: { input: 'public', weights: 'private', output: 'public' },
    });
    assert.deepEqual(plan.weights.map((w) => w.name).sort(), ['B', 'R', 'W'], kind);
  }
});

test('unsupported recurrent attributes are refused by name', () => {
  const refused = (bytes: Uint8Array, what: RegExp) =>
    assert.throws(
      () => quantizeGraph(loadOnnx(bytes), { scale: 8 }),
      (e: unknown) => e instanceof ZkError && e.code === 'ONNX_UNSUPPORTED' && what.test(e.message),
    );
  refused(recurrentModel({ kind: 'LSTM', attrs: { input_forget: 1 } }), /input_forget/);
  refused(recurrentModel({ kind: 'RNN', attrs: { activations: ['Softsign'] } }), /activation Softsign/);
  refused(recurrentModel({ kind: 'GRU', attrs: { layout: 2 } }), /layout 2/);
});

test("case lstm_seq (nn.LSTM, hidden 2, sequence 3, then a Linear) gives onnxruntime's 0.024393", () => {
  const { outputs } = runCase(join(CASES, 'lstm_seq'));
  assert.ok(Math.abs(outputs[0][0] - 0.024393) <= 0.005, `${outputs[0][0]}`);
});
