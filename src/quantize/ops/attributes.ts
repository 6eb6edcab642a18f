import type { AttributeValue } from '../../onnx/graph.js';
import type { OpContext } from './context.js';

type Neutral = (value: AttributeValue, ctx: OpContext) => boolean;

const sameList = (v: AttributeValue, dims: readonly number[]): boolean => Array.isArray(v) && v.length === dims.length && v.every((x, i) => x === dims[i]);
const always: Neutral = () => true;

/**
 * Attributes an op implementation may leave unread, and when: they restate what the inputs already
 * say (Conv's kernel_shape is the weight's shape, Split's num_outputs the node's output count) or do
 * not change what inference computes (Dropout's seed, BatchNormalization's momentum). Every other
 * attribute of a node is either read by its op (implemented) or refused by name: an op never
 * silently ignores an attribute that changes the result (issue 15: Shape's start/end were).
 */
const NEUTRAL: Record<string, Record<string, Neutral>> = {
  Conv: { kernel_shape: (v, ctx) => sameList(v, ctx.input(1).dims.slice(2)) },
  ConvTranspose: { kernel_shape: (v, ctx) => sameList(v, ctx.input(1).dims.slice(2)) },
  ConvInteger: { kernel_shape: (v, ctx) => sameList(v, ctx.input(1).dims.slice(2)) },
  Split: { num_outputs: (v, ctx) => v === ctx.node.outputs.length },
  Dropout: { seed: always },
  // Inference mode computes with the given statistics; training mode (1) would compute batch statistics.
  BatchNormalization: { momentum: always, training_mode: (v) => v === 0, spatial: (v) => v === 1, is_test: always, consumed_inputs: always },
  // sorted = 0 leaves the order unspecified: the sorted order is one valid answer.
  TopK: { sorted: always },
  // The precision of the statistics: ours are exact integers (the mean and variance of the quantized row).
  LayerNormalization: { stash_type: always },
  GroupNormalization: { stash_type: always },
  // Saturation applies to float8 targets only, which we refuse by type.
  Cast: { saturate: always },
  // Only tf_crop_and_resize samples outside the input, and that mode is refused by Resize itself.
  Resize: { extrapolation_value: always },
  // onnxruntime reads it and computes the same scores either way (test/ops-ml.test.ts checks a
  // skl2onnx pipeline with multi_class=1 against onnxruntime): the scores and post_transform decide.
  LinearClassifier: { multi_class: always },
  // The map's keys: zkinfer proves the probabilities tensor, in the order of the labels (load.ts).
  ZipMap: { classlabels_int64s: always, classlabels_strings: always },
};

/** The node's attributes its op neither read nor may leave unread: to be refused by name. */
export function unhandledAttributes(ctx: OpContext): string[] {
  const neutral = NEUTRAL[ctx.node.opType] ?? {};
  return Object.entries(ctx.node.attributes)
    .filter(([name, value]) => !ctx.read.has(name) && !neutral[name]?.(value, ctx))
    .map(([name]) => name);
}
