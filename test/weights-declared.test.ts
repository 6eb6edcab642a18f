/**
 * An op declares its weight inputs (issue 18): an op that reads a float initializer it does not declare as
 * a weight slot keeps it as a circuit constant even under weights=private|hashed. Every (op, input slot)
 * that takes a multi-element float initializer in the examples or the EZKL corpus must either be declared
 * in its op family's weight slots or be on the allow-list below, which says why it is not a weight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnx } from '../src/onnx/load.js';
import { OPS, WEIGHT_SLOTS } from '../src/quantize/ops/index.js';

const CORPUS = '/work/shared/conformance/ezkl';

/** Float constants that must be known when compiling, so they stay circuit constants (README "Privacy"). */
const NOT_WEIGHTS: Record<string, readonly number[]> = {
  // Normalization statistics and affine parameters: folded into per-channel constants when compiling.
  BatchNormalization: [1, 2, 3, 4],
  LayerNormalization: [1, 2],
  // Transposed-convolution kernels and bias: the scatter is built from the constant kernel.
  ConvTranspose: [1, 2],
  // The negative slope selects the gadget's coefficients.
  PRelu: [1],
  // Decision-tree thresholds and leaf tables compared against or indexed by the input.
  Less: [0, 1],
  Greater: [1],
  Gather: [0],
  // Tables a constant path reads (positional embeddings, masks): the graph's constant folding.
  Identity: [0],
  Slice: [0],
};

function models(): string[] {
  const dirs = [...readdirSync('examples').map((d) => join('examples', d))];
  if (existsSync(CORPUS)) dirs.push(...readdirSync(CORPUS).map((d) => join(CORPUS, d)));
  return dirs.map((d) => join(d, 'network.onnx')).filter((f) => existsSync(f));
}

test('the weight slots are declared by ops the compiler knows, as before the move from trace.ts', () => {
  for (const op of Object.keys(WEIGHT_SLOTS)) assert.ok(OPS[op], `${op} declares weight slots but is no op`);
  assert.deepEqual(
    { ...WEIGHT_SLOTS },
    { MatMul: [0, 1], Gemm: [0, 1, 2], Conv: [1, 2], Add: [0, 1], Sub: [0, 1], Mul: [0, 1], LSTM: [1, 2, 3, 7], GRU: [1, 2, 3], RNN: [1, 2, 3] },
  );
});

test('every float initializer an op reads is a declared weight slot or allow-listed as a constant', () => {
  const files = models();
  assert.ok(files.length >= 5, 'the examples are there');
  const undeclared = new Set<string>();
  for (const file of files) {
    const graph = loadOnnx(readFileSync(file));
    for (const node of graph.nodes) {
      if (!OPS[node.opType]) continue;
      node.inputs.forEach((name, slot) => {
        const t = graph.initializers.get(name);
        if (t?.dtype !== 'float' || t.data.length <= 1) return;
        if (WEIGHT_SLOTS[node.opType]?.includes(slot) || NOT_WEIGHTS[node.opType]?.includes(slot)) return;
        undeclared.add(`${node.opType} input ${slot} (${file})`);
      });
    }
  }
  assert.deepEqual([...undeclared], [], 'declare these as weight slots beside the op, or allow-list them with the reason');
});
