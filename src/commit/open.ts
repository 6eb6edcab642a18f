/**
 * Recomputing a proof's commitments outside the circuit: what a client runs to check that a proof's
 * input commitment is its own data (with the salt it chose or was given), or to open an output
 * commitment. The values are quantized exactly as the prover does.
 */
import { z } from 'zod';
import { parseOrThrow, ZkError } from '../core/errors.js';
import { quantizeInputs } from '../io/input.js';
import type { ModelInfo } from '../model/layout.js';
import { commit, type PackedTensor } from './poseidon.js';

/** What recomputing a commitment needs of a model: model.json, or the API's model view. */
export type CommittingModel = Pick<ModelInfo, 'name' | 'inputs' | 'commitments'>;

/** Poseidon commitment to float inputs (one flat row-major array per graph input), as a decimal string. */
export async function inputCommitment(info: CommittingModel, values: readonly number[][], salt: bigint | string): Promise<string> {
  const specs = specsOf(info, 'input');
  const integers = quantizeInputs(
    values,
    info.inputs.map((t) => t.scale),
    info.inputs.map((t) => t.name),
  );
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

const tensorSchema = z.object({ name: z.string(), integers: z.array(z.string().regex(/^-?\d{1,80}$/, 'a decimal integer')) });
const openingSchema = z.object({
  salt: z
    .string()
    .regex(/^\d{1,80}$/, 'a decimal field element')
    .optional(),
  inputs: z.array(tensorSchema),
  outputs: z.array(tensorSchema),
});

/** Whether a document looks like an opening file (`prove` writes PROOF.opening.json beside PROOF.json). */
export const isOpening = (doc: unknown): boolean => openingSchema.safeParse(doc).success;

/**
 * The commitments an opening (ProofOpening: the private values and the salt, as `prove` writes
 * them) stands for: those of the parts the model hashes, recomputed from the opening's fixed-point
 * integers. Throws INPUT_INVALID for a document that is not an opening, or an opening of a model
 * that commits to nothing (there is nothing it could be checked against).
 */
export async function openingCommitments(info: CommittingModel, doc: unknown): Promise<{ inputCommitment?: string; outputCommitment?: string }> {
  const { salt, inputs, outputs } = parseOrThrow(openingSchema, doc, 'not an opening file');
  if (!info.commitments.input && !info.commitments.output)
    throw new ZkError('INPUT_INVALID', `model ${info.name} commits to neither its input nor its output: an opening has nothing to check`);
  if (salt === undefined) throw new ZkError('INPUT_INVALID', 'the opening has no salt');
  const integers = (tensors: { integers: string[] }[]) => tensors.map((t) => t.integers.map(BigInt));
  return {
    ...(info.commitments.input ? { inputCommitment: await committed(integers(inputs), specsOf(info, 'input'), salt) } : {}),
    ...(info.commitments.output ? { outputCommitment: await committed(integers(outputs), specsOf(info, 'output'), salt) } : {}),
  };
}
