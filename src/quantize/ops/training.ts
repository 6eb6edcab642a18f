import { constant } from '../affine.js';
import type { OpContext, OpImpl } from './context.js';

/**
 * Dropout at inference: the identity, and a mask of ones. In training mode (input 2 true) the output
 * is random, which no proof can pin down: refused by name. The ratio only matters in training.
 */
const dropout: OpImpl = (ctx: OpContext) => {
  const x = ctx.input(0);
  ctx.float('ratio', 0.5);
  const training = ctx.optional(2) ? ctx.constInput(2, 'training_mode').some((v) => v !== 0) : false;
  if (training) ctx.fail('training_mode true (a random output) is not supported');
  const outputs = [x];
  if (ctx.node.outputs[1]) outputs.push({ dims: [...x.dims], dtype: 'bool', data: x.data.map(() => constant(1)) });
  return outputs;
};

export const trainingOps: Record<string, OpImpl> = { Dropout: dropout };
