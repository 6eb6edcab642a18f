/**
 * Which public signals a model's circuit has, in order. circom puts the main component's outputs
 * first, then its public inputs, each in declaration order; the emitter declares them as listed
 * here, and provers, verifiers and calldata read signals back through this one description.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
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

/** A segment with where its signals sit: [at, at + size). */
export type PlacedSegment = PublicSegment & { at: number; size: number };

/** The one walk over a layout: each segment with the index of its first signal and its size. */
export function placeSegments(layout: readonly PublicSegment[]): PlacedSegment[] {
  let at = 0;
  return layout.map((seg) => {
    const size = seg.kind === 'commitment' ? 1 : seg.count;
    return { ...seg, at: (at += size) - size, size };
  });
}

export const publicSignalCount = (layout: readonly PublicSegment[]): number => placeSegments(layout).reduce((s, seg) => s + seg.size, 0);

/** Reads public signals (decimal strings) back into the parts they carry. */
export function splitPublic(layout: readonly PublicSegment[], signals: readonly string[], counts: { inputs: number; outputs: number }): PublicValues {
  const values: PublicValues = { outputs: new Array(counts.outputs).fill(undefined), inputs: new Array(counts.inputs).fill(undefined), commitments: {} };
  for (const seg of placeSegments(layout)) {
    const part = signals.slice(seg.at, seg.at + seg.size);
    const signed = () => part.map((s) => toSigned(BigInt(s)));
    if (seg.kind === 'commitment') values.commitments[seg.of] = BigInt(part[0]);
    else if (seg.kind === 'output') values.outputs[seg.index] = signed();
    else if (seg.kind === 'input') values.inputs[seg.index] = signed();
    else values.weights = signed();
  }
  return values;
}

/** model.json's fingerprint of public weights: what a verifier compares the weight signals with (noble's sha256: it runs in browsers too). */
export const weightsDigest = (values: readonly bigint[]): string => bytesToHex(sha256(utf8ToBytes(values.join(','))));
