import type { TensorSpec } from '../core/tensor-spec.js';
import { fromFixedPoint } from '../core/fixed-point.js';
import { type PublicValues, splitPublic } from '../commit/public.js';
import type { ProofSystem, SnarkProof } from '../core/snarkjs.js';
import type { ModelInfo } from '../model/layout.js';
import { type TrustSummary, trustSummary } from '../model/trust.js';

/** A decoded tensor of a proof: integers (fixed point, as in the circuit) and their float values. */
export interface ProvenTensor extends Pick<TensorSpec, 'name' | 'dims' | 'scale'> {
  integers: string[];
  values: number[];
}

/**
 * What only the prover's client should keep: the private values behind a proof and the salt of its
 * commitments, enough to open them (recompute them with `inputCommitment`/`outputCommitment`).
 */
export interface ProofOpening {
  salt?: string;
  inputs: ProvenTensor[];
  outputs: ProvenTensor[];
}

/**
 * PROOF.json: the proof, its public signals, and what they say decoded: the public inputs and
 * outputs, and the commitments (decimal field elements) to the hashed parts.
 */
export interface ProofBundle {
  format: 'zkinfer-proof/1';
  /** The model's name, verifying key hash, the sha256 of the ONNX file it was compiled from, and its version id (src/model/version.ts; absent for models set up before it existed). */
  model: { name: string; vkeyHash: string; onnxSha256?: string; versionId?: string; acceptedError?: AcceptedError };
  /** Who the proof's soundness rests on (with a warning for an operator-only key). Informative: a verifier checks the key itself. */
  trust?: TrustSummary;
  /** The model's proof system at proving time; `proof` has that system's shape. */
  system: ProofSystem;
  proof: SnarkProof;
  publicSignals: string[];
  /** Only the public ones: empty when the input is private or hashed. */
  inputs: ProvenTensor[];
  outputs: ProvenTensor[];
  commitments?: { input?: string; weights?: string; output?: string };
  timings: { witnessMs: number; proveMs: number };
  /** Present only as the prover returns it to its client; never part of a shared proof (see publicBundle). */
  opening?: ProofOpening;
}

/**
 * On a model compiled with `--accept-error`: its measured error over the tolerance it states, so
 * whoever reads a proof of it knows the proven output may differ from the ONNX model's by that much.
 */
export interface AcceptedError {
  maxAbsError: number;
  tolerance: number;
}

/** The error a model accepted (compiled with accept_error), from model.json's `accuracy` or the view's `quantization`. */
export const acceptedError = (info: { accuracy: AcceptedError & { accepted?: boolean } }): { acceptedError: AcceptedError } | object =>
  info.accuracy.accepted ? { acceptedError: { maxAbsError: info.accuracy.maxAbsError, tolerance: info.accuracy.tolerance } } : {};

/** The bundle to share: without the opening. */
export const publicBundle = ({ opening: _, ...bundle }: ProofBundle): ProofBundle => bundle;

export const decodeTensor = (t: { name: string; dims: number[]; scale: number }, integers: readonly bigint[]): ProvenTensor => ({
  name: t.name,
  dims: t.dims,
  scale: t.scale,
  integers: integers.map(String),
  values: integers.map((v) => fromFixedPoint(v, t.scale)),
});

/** The public signals of a model's proof, read through its layout. */
export const readPublic = (info: Pick<ModelInfo, 'publicLayout' | 'inputs' | 'outputs'>, publicSignals: readonly string[]): PublicValues =>
  splitPublic(info.publicLayout, publicSignals, { inputs: info.inputs.length, outputs: info.outputs.length });

/** The bundle a proof and its public signals stand for: what the signals say, decoded (no timings measured). */
export function bundleFromSignals(info: ModelInfo, system: ProofSystem, proof: SnarkProof, publicSignals: string[]): ProofBundle {
  const shown = readPublic(info, publicSignals);
  const decoded = (specs: ModelInfo['inputs'], values: (bigint[] | undefined)[]) => specs.flatMap((t, i) => (values[i] ? [decodeTensor(t, values[i])] : []));
  const commitments = Object.fromEntries(Object.entries(shown.commitments).map(([k, v]) => [k, String(v)]));
  const trust = trustSummary(info);
  return {
    format: 'zkinfer-proof/1',
    model: {
      name: info.name,
      vkeyHash: info.setup!.vkeyHash,
      onnxSha256: info.onnxSha256,
      ...(info.setup!.versionId ? { versionId: info.setup!.versionId } : {}),
      ...acceptedError(info),
    },
    ...(trust ? { trust } : {}),
    system,
    proof,
    publicSignals,
    inputs: decoded(info.inputs, shown.inputs),
    outputs: decoded(info.outputs, shown.outputs),
    ...(Object.keys(commitments).length ? { commitments } : {}),
    timings: { witnessMs: 0, proveMs: 0 },
  };
}
