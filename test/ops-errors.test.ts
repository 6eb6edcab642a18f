/**
 * Refusals with a clear ZkError: unsupported ops, ops used in a way the quantizer cannot compile,
 * impossible shapes, undefined values and malformed ONNX bytes.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph, unsupportedNodes } from '../src/quantize/trace.js';
import { OnnxBuilder, mulberry32 } from './support/onnx-builder.js';
import { SCALE, assertZkError } from './support/op-check.js';

test('unsupported ops throw ONNX_UNSUPPORTED naming the node and the op', () => {
  const bytes = new OnnxBuilder().input('x', [1, 4]).node('Relu', ['x'], ['r']).node('Det', ['r'], ['s']).node('Unique', ['s'], ['y']).output('y').build();
  const graph = loadOnnx(bytes);
  graph.nodes[1].name = 'my_gate';
  assert.deepEqual(unsupportedNodes(graph), [
    { node: 'my_gate', op: 'Det' },
    { node: 'Unique_2', op: 'Unique' },
  ]);
  const e = assertZkError(() => quantizeGraph(graph, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'my_gate', 'Det', 'Unique_2', 'Unique');
  assert.deepEqual(e.details?.nodes, [
    { node: 'my_gate', op: 'Det' },
    { node: 'Unique_2', op: 'Unique' },
  ]);

  const one = loadOnnx(new OnnxBuilder().input('x', [1, 4]).node('NonZero', ['x'], ['y']).output('y').build());
  assertZkError(() => quantizeGraph(one, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'NonZero_0', 'NonZero');
});

test('an op used in a way the quantizer cannot compile throws ONNX_UNSUPPORTED naming the node', () => {
  const pow = loadOnnx(new OnnxBuilder().input('x', [2]).input('y', [2]).node('Pow', ['x', 'y'], ['z']).output('z', [2]).build());
  assertZkError(() => quantizeGraph(pow, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'Pow_0', 'Pow', 'exponent');
  // Conv multiplies by a computed kernel (a product per tap); ConvTranspose needs a constant one.
  const kernel = loadOnnx(
    new OnnxBuilder().input('x', [1, 1, 4]).input('w', [1, 1, 2]).node('ConvTranspose', ['x', 'w'], ['y']).output('y', [1, 1, 5]).build(),
  );
  assertZkError(() => quantizeGraph(kernel, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'ConvTranspose_0', 'kernel');
});

test('Reshape to an impossible shape throws SHAPE_MISMATCH', () => {
  const reshape = (shape: number[]) =>
    loadOnnx(new OnnxBuilder().input('x', [2, 3]).initializerInt64('s', [shape.length], shape).node('Reshape', ['x', 's'], ['y']).output('y').build());
  assertZkError(() => quantizeGraph(reshape([4, 2]), { scale: SCALE }), 'SHAPE_MISMATCH', 'Reshape_0');
  // 6 elements do not split into rows of 4: -1 would have to be 1.5.
  assertZkError(() => quantizeGraph(reshape([4, -1]), { scale: SCALE }), 'SHAPE_MISMATCH', 'Reshape_0');
  assertZkError(() => quantizeGraph(reshape([-1, -1]), { scale: SCALE }), 'SHAPE_MISMATCH', 'Reshape_0');
});

test('a graph reading an undefined value throws ONNX_MALFORMED', () => {
  const bytes = new OnnxBuilder().input('x', [2]).node('Relu', ['x'], ['r']).node('Neg', ['r'], ['y']).output('y', [2]).build();
  const graph = loadOnnx(bytes);
  graph.nodes[1].inputs[0] = 'ghost';
  assertZkError(() => quantizeGraph(graph, { scale: SCALE }), 'ONNX_MALFORMED', 'ghost', 'Neg_1');
  const noOutput = loadOnnx(bytes);
  noOutput.outputs[0] = { ...noOutput.outputs[0], name: 'nowhere' };
  assertZkError(() => quantizeGraph(noOutput, { scale: SCALE }), 'ONNX_MALFORMED', 'nowhere');
});

test('loadOnnx on random bytes or an empty buffer throws ONNX_MALFORMED', () => {
  assertZkError(() => loadOnnx(new Uint8Array(0)), 'ONNX_MALFORMED');
  for (let seed = 1; seed <= 200; seed++) {
    const rng = mulberry32(seed);
    const bytes = Uint8Array.from({ length: 1 + Math.floor(rng() * 256) }, () => Math.floor(rng() * 256));
    assertZkError(() => loadOnnx(bytes), 'ONNX_MALFORMED');
  }
  // A truncated real model is not a model either.
  const model = new OnnxBuilder().input('x', [2]).node('Relu', ['x'], ['y']).output('y', [2]).build();
  assertZkError(() => loadOnnx(model.subarray(0, model.length - 3)), 'ONNX_MALFORMED');
});
