import type { ProofSystem, SnarkProof } from '../core/snarkjs.js';

/** A decoded tensor of a proof: integers (fixed point, as in the circuit) and their float values. */
export interface ProvenTensor {
  name: string;
  dims: number[];
  scale: number;
  integers: string[];
  values: number[];
}

/** PROOF.json: the proof, its public signals, and the inputs and outputs they encode, decoded. */
export interface ProofBundle {
  format: 'zkinfer-proof/1';
  model: { name: string; vkeyHash: string };
  /** The model's proof system at proving time; `proof` has that system's shape. */
  system: ProofSystem;
  proof: SnarkProof;
  publicSignals: string[];
  inputs: ProvenTensor[];
  outputs: ProvenTensor[];
  timings: { witnessMs: number; proveMs: number };
}

export const decodeTensor = (t: { name: string; dims: number[]; scale: number }, integers: readonly bigint[]): ProvenTensor => ({
  name: t.name,
  dims: t.dims,
  scale: t.scale,
  integers: integers.map(String),
  values: integers.map((v) => Number(v) / 2 ** t.scale),
});
