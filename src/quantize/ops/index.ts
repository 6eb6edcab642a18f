import type { OpImpl } from './context.js';
import { elementwiseOps, elementwiseWeightSlots } from './elementwise.js';
import { linearOps, linearWeightSlots } from './linear.js';
import { logicOps } from './logic.js';
import { nonlinearOps } from './nonlinear.js';
import { normOps } from './norm.js';
import { poolOps } from './pool.js';
import { reduceOps } from './reduce.js';
import { sequenceOps, sequenceWeightSlots } from './sequence.js';
import { einsumOps } from './einsum.js';
import { generateOps } from './generate.js';
import { rearrangeOps } from './rearrange.js';
import { mathOps } from './math.js';
import { mlOps } from './ml.js';
import { resizeOps } from './resize.js';
import { shapeOps } from './shape.js';
import { trainingOps } from './training.js';

/** Every ONNX op the compiler knows, by op type. */
export const OPS: Readonly<Record<string, OpImpl>> = {
  ...elementwiseOps,
  ...shapeOps,
  ...linearOps,
  ...poolOps,
  ...nonlinearOps,
  ...logicOps,
  ...resizeOps,
  ...normOps,
  ...trainingOps,
  ...reduceOps,
  ...sequenceOps,
  ...einsumOps,
  ...generateOps,
  ...rearrangeOps,
  ...mathOps,
  ...mlOps,
};
/**
 * Which inputs of which ops are weights, declared by each op family beside its ops: the data operands of
 * the linear ops, where a computed tensor (a private or hashed weight's wires) may stand in for a constant.
 * An op absent here keeps every initializer it reads as a circuit constant, whatever the visibility.
 */
export const WEIGHT_SLOTS: Readonly<Record<string, readonly number[]>> = { ...elementwiseWeightSlots, ...linearWeightSlots, ...sequenceWeightSlots };
export { OpContext } from './context.js';
export { unhandledAttributes } from './attributes.js';
