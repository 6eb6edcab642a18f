import type { OpImpl } from './context.js';
import { elementwiseOps } from './elementwise.js';
import { linearOps } from './linear.js';
import { logicOps } from './logic.js';
import { nonlinearOps } from './nonlinear.js';
import { normOps } from './norm.js';
import { poolOps } from './pool.js';
import { reduceOps } from './reduce.js';
import { sequenceOps } from './sequence.js';
import { einsumOps } from './einsum.js';
import { generateOps } from './generate.js';
import { rearrangeOps } from './rearrange.js';
import { mathOps } from './math.js';
import { mlOps } from './ml.js';
import { resizeOps } from './resize.js';
import { shapeOps } from './shape.js';
import { trainingOps } from './training.js';

/** Every ONNX op the compiler knows, by op type. */
export const OPS: Readonly<Record<string, OpImpl>> = { ...elementwiseOps, ...shapeOps, ...linearOps, ...poolOps, ...nonlinearOps, ...logicOps, ...resizeOps, ...normOps, ...trainingOps, ...reduceOps, ...sequenceOps, ...einsumOps, ...generateOps, ...rearrangeOps, ...mathOps, ...mlOps };
export { OpContext } from './context.js';
export { unhandledAttributes } from './attributes.js';
