/**
 * Recomputing a proof's commitments outside the circuit: what a client runs to check that a proof's
 * input commitment is its own data (with the salt it chose or was given), or to open an output
 * commitment. The values are quantized exactly as the prover does.
 */
import { ZkError } from '../core/errors.js';
import { quantizeInputs } from '../io/input.js';
import type { ModelInfo } from '../model/layout.js';
import { commit, type PackedTensor } from './poseidon.js';

/** What recomputing a commitment needs of a model: model.json, or the API's model view. */
export type CommittingModel = Pick<ModelInfo, 'name' | 'inputs' | 'commitments'>;

/** Poseidon commitment to float inputs (one flat row-major array per graph input), as a decimal string. */
export async function inputCommitment(info: CommittingModel, values: readonly number[][], salt: bigint | string): Promise<string> {
  const specs = specsOf(info, 'input');
  const integers = quantizeInputs(values, info.inputs.map((t) => t.scale), info.inputs.map((t) => t.name));
  return committed(integers, specs, salt);
}

/** Poseidon commitment to fixed-point outputs (the integers of a proof's opening). */
export function outputCommitment(info: CommittingModel, integers: readonly (readonly bigint[])[], salt: bigint | string): Promise<string> {
  return committed(integers, specsOf(info, 'output'), salt);
}

function specsOf(info: CommittingModel, part: 'input' | 'output'): PackedTensor[] {
  const specs = info.commitments[part];
  if (!specs) throw new ZkError('INPUT_INVALID', `model ${info.name} does not commit to its ${part} (it is not hashed)`);
  return specs;
}

async function committed(tensors: readonly (readonly bigint[])[], specs: readonly PackedTensor[], salt: bigint | string): Promise<string> {
  return String(await commit(tensors, specs, BigInt(salt)));
}
