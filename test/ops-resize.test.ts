/**
 * Tile, Resize/Upsample and ConvTranspose: index maps and constant weights, no gadget.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { LSB, dotTol, checkOp, checkFolded } from './support/op-check.js';

test('Tile', async (t) => {
  const bytes = new OnnxBuilder().input('x', [2, 3]).initializerInt64('r', [2], [2, 3]).node('Tile', ['x', 'r'], ['y']).output('y', [4, 9]).build();
  await checkFolded(t, bytes, 0.5 * LSB);
});

test('Resize nearest (every nearest_mode), linear and cubic, by scales and by sizes; Upsample', async (t) => {
  const b = new OnnxBuilder({ opset: 13 })
    .input('x', [1, 2, 3, 4])
    .initializer('roi', [0], [])
    .initializer('up', [4], [1, 1, 2, 1.5])
    .initializer('none', [0], [])
    .initializerInt64('sizes', [4], [1, 2, 5, 3]);
  const outs: [string, number[]][] = [];
  const modes: [string, Record<string, string>, string, number[]][] = [
    ['n1', { mode: 'nearest' }, 'up', [1, 2, 6, 6]],
    ['n2', { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' }, 'up', [1, 2, 6, 6]],
    ['n3', { mode: 'nearest', nearest_mode: 'ceil', coordinate_transformation_mode: 'align_corners' }, 'sizes', [1, 2, 5, 3]],
    ['n4', { mode: 'nearest', nearest_mode: 'round_prefer_ceil', coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, 'up', [1, 2, 6, 6]],
    ['l1', { mode: 'linear' }, 'up', [1, 2, 6, 6]],
    ['l2', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, 'sizes', [1, 2, 5, 3]],
    ['l3', { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, 'sizes', [1, 2, 5, 3]],
    ['c1', { mode: 'cubic' }, 'up', [1, 2, 6, 6]],
    ['c2', { mode: 'cubic', exclude_outside: 1 as unknown as string, cubic_coeff_a: -0.5 as unknown as string }, 'sizes', [1, 2, 5, 3]],
  ];
  for (const [name, attrs, how, dims] of modes) {
    b.node('Resize', how === 'up' ? ['x', 'roi', 'up'] : ['x', 'roi', 'none', 'sizes'], [name], attrs);
    outs.push([name, dims]);
  }
  for (const [name, dims] of outs) b.output(name, dims);
  // Weights (products over two axes) are rounded to 2^-8 each: ≤ 16 taps of |w| ≤ 1.3 on |x| ≤ 1.
  const { plan } = await checkOp(t, b.build(), { tol: dotTol(16, 0.2, 1, 1) });
  assert.equal(plan.groups.length, 0);
  const up = new OnnxBuilder({ opset: 9 })
    .input('x', [1, 1, 2, 3])
    .initializer('s', [4], [1, 1, 2, 2])
    .node('Upsample', ['x', 's'], ['y'])
    .output('y', [1, 1, 4, 6])
    .build();
  await checkOp(t, up, { tol: 0.5 * LSB });
});

test('ConvTranspose: strides, pads, output_padding, dilations, groups, output_shape', async (t) => {
  const rng = mulberry32(33);
  const bytes = new OnnxBuilder()
    .input('x', [1, 4, 3, 3])
    .initializer('W', [4, 3, 3, 3], randomTensor(rng, [4, 3, 3, 3], 1))
    .initializer('Wg', [4, 1, 2, 2], randomTensor(rng, [4, 1, 2, 2], 1))
    .initializer('B', [3], randomTensor(rng, [3], 1))
    .node('ConvTranspose', ['x', 'W', 'B'], ['a'], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] })
    .node('ConvTranspose', ['x', 'Wg'], ['g'], { group: 2, dilations: [2, 1] })
    .node('ConvTranspose', ['x', 'W'], ['s'], { strides: [2, 2], output_shape: [7, 8] })
    .outputShapes({ a: [1, 3, 6, 6], g: [1, 2, 5, 4], s: [1, 3, 7, 8] })
    .build();
  // At most 4 channels × 9 taps = 36 terms, |w| ≤ 1.
  await checkFolded(t, bytes, dotTol(36, 1, 1, 1));
});
