/**
 * The Reduce family beyond Sum/Mean/Max/Min (ReduceL1, L2, SumSquare, LogSum, LogSumExp, Prod), each
 * against onnxruntime at opset 18 (axes as input 1) and opset 13 (axes as attribute), keepdims on
 * and off, and noop_with_empty_axes. No new gadget: products, ReLUs and tables, whose soundness the
 * soundness suites cover. Also the l2_normalize case (F.normalize's ReduceL2) with onnxruntime's value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { OnnxBuilder } from './support/onnx-builder.js';
import { CASES, checkAgainstOrt, runCase } from './support/op-check.js';

const LSB = 2 ** -8;

function reduceModel(op: string, opts: { opset: number; axes?: number[]; keepdims?: number; noop?: number }): Uint8Array {
  const b = new OnnxBuilder({ opset: opts.opset }).input('x', [2, 3, 4]);
  const attrs: Record<string, number | number[]> = {};
  if (opts.keepdims !== undefined) attrs.keepdims = opts.keepdims;
  if (opts.noop !== undefined) attrs.noop_with_empty_axes = opts.noop;
  const inputs = ['x'];
  if (opts.axes && opts.opset >= 18) {
    b.initializerInt64('axes', [opts.axes.length], opts.axes);
    inputs.push('axes');
  } else if (opts.axes) attrs.axes = opts.axes;
  return b.node(op, inputs, ['y'], attrs).output('y').build();
}

// Tolerances: 24 elements of |x| < 1 at 2^-8; a square root or log table adds half an LSB per table.
const CASES_BY_OP: [string, number, { offset?: number }][] = [
  ['ReduceL1', 12 * LSB, {}],
  ['ReduceL2', 8 * LSB, {}],
  ['ReduceSumSquare', 12 * LSB, {}],
  ['ReduceLogSum', 8 * LSB, { offset: 2 }],
  ['ReduceLogSumExp', 8 * LSB, {}],
  ['ReduceProd', 8 * LSB, { offset: 1 }],
];

for (const [op, tol, range] of CASES_BY_OP) {
  test(`${op}: axes as input (opset 18), keepdims 1`, async () => {
    await checkAgainstOrt(reduceModel(op, { opset: 18, axes: [1] }), { tol, ...range });
  });
  test(`${op}: negative axes as input, keepdims 0`, async () => {
    await checkAgainstOrt(reduceModel(op, { opset: 18, axes: [-1, 0], keepdims: 0 }), { tol, ...range });
  });
  test(`${op}: no axes reduces everything; attribute axes at opset 13`, async () => {
    // A product of 24 factors in [0.75, 1.25) stays within the calibrated range of fresh samples.
    await checkAgainstOrt(reduceModel(op, { opset: 18 }), { tol: 3 * tol, ...(op === 'ReduceProd' ? { offset: 1, amp: 0.25 } : range) });
    await checkAgainstOrt(reduceModel(op, { opset: 13, axes: [2], keepdims: 0 }), { tol, ...range });
  });
}

test('noop_with_empty_axes without axes reduces each element alone (ReduceL2 gives |x|, SumSquare x², as onnxruntime)', async () => {
  for (const [op, , range] of CASES_BY_OP) await checkAgainstOrt(reduceModel(op, { opset: 18, noop: 1 }), { tol: 4 * LSB, ...range });
});

test("case l2_normalize (F.normalize: ReduceL2, Clip, Expand, Div) and its workaround give onnxruntime's output", () => {
  const expected = [0.8196097016334534, -0.44826236367225647, 0.3567923903465271];
  for (const dir of ['l2_normalize', 'l2_normalize/workaround']) {
    const { outputs } = runCase(join(CASES, dir));
    outputs[0].forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 0.01, `${dir}[${i}]: ${v} vs ${expected[i]}`));
  }
});
