/**
 * Which public signals a model's circuit has, in order. circom puts the main component's outputs
 * first, then its public inputs, each in declaration order; the emitter declares them as listed
 * here, and provers, verifiers and calldata read signals back through this one description.
 */
import { createHash } from 'node:crypto';
import { toSigned } from '../core/snarkjs.js';
import type { PackedTensor } from './poseidon.js';

export type CommitmentOf = 'input' | 'weights' | 'output';

export type PublicSegment =
  | { kind: 'output'; index: number; count: number }
  | { kind: 'commitment'; of: CommitmentOf }
  | { kind: 'input'; index: number; count: number }
  | { kind: 'weights'; count: number };

/** How each hashed part is committed (model.json `commitments`). */
export interface CommitmentSpecs {
  /** Salted: Poseidon(salt, packed inputs). */
  input?: PackedTensor[];
  /** Not salted: the weights commitment is the model's public identity. */
  weights?: { tensors: PackedTensor[]; value: string };
  /** Public weights are signals themselves: their digest (weightsDigest) instead of a commitment. */
  weightsSha256?: string;
  /** Salted: Poseidon(salt, outputs). */
  output?: PackedTensor[];
}

export interface PublicValues {
  /** Per graph output: its signed values when public. */
  outputs: (bigint[] | undefined)[];
  inputs: (bigint[] | undefined)[];
  weights?: bigint[];
  commitments: Partial<Record<CommitmentOf, bigint>>;
}

export const publicSignalCount = (layout: readonly PublicSegment[]): number => layout.reduce((s, seg) => s + (seg.kind === 'commitment' ? 1 : seg.count), 0);

/** Reads public signals (decimal strings) back into the parts they carry. */
export function splitPublic(layout: readonly PublicSegment[], signals: readonly string[], counts: { inputs: number; outputs: number }): PublicValues {
  const values: PublicValues = { outputs: new Array(counts.outputs).fill(undefined), inputs: new Array(counts.inputs).fill(undefined), commitments: {} };
  let at = 0;
  const take = (n: number) => signals.slice(at, (at += n)).map((s) => toSigned(BigInt(s)));
  for (const seg of layout) {
    if (seg.kind === 'commitment') values.commitments[seg.of] = BigInt(signals[at++]);
    else if (seg.kind === 'output') values.outputs[seg.index] = take(seg.count);
    else if (seg.kind === 'input') values.inputs[seg.index] = take(seg.count);
    else values.weights = take(seg.count);
  }
  return values;
}

/** model.json's fingerprint of public weights: what a verifier compares the weight signals with. */
export const weightsDigest = (values: readonly bigint[]): string => createHash('sha256').update(values.join(',')).digest('hex');
