import { fromFixedPoint } from '../core/fixed-point.js';
import { z } from 'zod';
import { parseOrThrow, ZkError } from '../core/errors.js';
import { type PublicValues, publicSignalCount, weightsDigest } from '../commit/public.js';
import type { SnarkProof } from '../core/snarkjs.js';
import { PROOF_SYSTEMS, type ProofSystem } from '../core/systems.js';
import { inputBoundViolation } from '../io/input.js';
import type { ModelInfo } from '../model/layout.js';
import { requireFinalKey, type TrustSummary, trustSummary } from '../model/trust.js';
import { acceptedError, type AcceptedError, type ProofBundle, type ProvenTensor, readPublic } from '../prove/bundle.js';
import { PROOF_SYSTEM, type ProofSystemModule, scalarElement } from '../systems/index.js';

export { scalarElement };

type ProofSchema = ProofSystemModule['proofSchema'];
/**
 * Any system's proof, told apart by its `protocol` (each system's schema: src/systems/). Built from
 * the registry at run time, so its type is stated: what it accepts is one of snarkjs' proofs.
 */
export const snarkProofSchema = z.discriminatedUnion(
  'protocol',
  PROOF_SYSTEMS.map((s) => PROOF_SYSTEM[s].proofSchema) as unknown as [ProofSchema, ...ProofSchema[]],
) as unknown as z.ZodType<SnarkProof & { protocol: ProofSystem }>;
const decimal = scalarElement;
const tensor = z.object({
  name: z.string(),
  dims: z.array(z.number().int()),
  scale: z.number().int(),
  integers: z.array(z.string().regex(/^-?\d{1,80}$/)),
  values: z.array(z.number()),
});

/** The shape of PROOF.json; anything else is rejected before any cryptography runs. */
export const proofBundleSchema = z
  .object({
    format: z.literal('zkinfer-proof/1'),
    model: z.object({
      name: z.string(),
      vkeyHash: z.string(),
      onnxSha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
      versionId: z.string().optional(),
      acceptedError: z.object({ maxAbsError: z.number(), tolerance: z.number() }).optional(),
    }),
    trust: z.object({ phase2: z.enum(['operator', 'ceremony', 'none']), trusted: z.string(), warning: z.string().optional() }).optional(),
    system: z.enum(PROOF_SYSTEMS),
    proof: snarkProofSchema,
    publicSignals: z.array(decimal),
    inputs: z.array(tensor),
    outputs: z.array(tensor),
    commitments: z.object({ input: decimal, weights: decimal, output: decimal }).partial().optional(),
    // Milliseconds, at most a day: a client's bundle is stored with them (1e308 made runMs Infinity).
    timings: z
      .object({ witnessMs: z.number().nonnegative().max(86_400_000), proveMs: z.number().nonnegative().max(86_400_000) })
      .partial()
      .optional(),
  })
  .refine((b) => b.proof.protocol === b.system, { message: 'the proof is not of the system the bundle names', path: ['proof', 'protocol'] });

export function parseProofBundle(doc: unknown): ProofBundle {
  return parseOrThrow(proofBundleSchema, doc, 'not a zkinfer proof') as ProofBundle;
}

export type Verdict = { valid: true } | { valid: false; reason: string };

/** What a verifier may require beyond the proof: that it commits to values it knows. */
export interface Expectations {
  /** Decimal field element: the input commitment the proof must show (e.g. from inputCommitment()). */
  inputCommitment?: string;
  outputCommitment?: string;
}

/**
 * What verifying needs of a model: its model.json (`setup` names the keys), or the API's model view
 * (GET /v1/models/:id, with `system` and `vkeyHash` at its top level) as it is served.
 */
export type VerifyingModel = Pick<ModelInfo, 'name' | 'onnxSha256' | 'inputs' | 'outputs' | 'publicSignals' | 'publicLayout' | 'commitments'> &
  ({ setup?: ModelKeys } | { system?: ProofSystem; vkeyHash?: string; ceremony?: { finalized: boolean } });

interface ModelKeys {
  system: ProofSystem;
  vkeyHash: string;
  /** A phase-2 ceremony's state (requireFinalKey). */
  ceremony?: { finalized: boolean };
}

/** The model's proof system and verifying key hash, from either form; undefined before setup. */
function keysOf(model: VerifyingModel): ModelKeys | undefined {
  if ('setup' in model && model.setup) return model.setup;
  if ('system' in model && model.system && model.vkeyHash) return { system: model.system, vkeyHash: model.vkeyHash };
  return undefined;
}

/**
 * Checks a proof bundle against a model (model.json or the API's model view) and its verifying key: the proof (in the model's system) on the public signals;
 * that public inputs are in the range the circuit is sound for, public weights are the model's, and
 * the weights commitment is the model's; and that what the bundle shows decoded (inputs, outputs,
 * commitments) is exactly what the signals say, under the model's own name, version id and its tensors' names
 * and dims (a bundle whose readable output or labels were edited is invalid even if its proof is good).
 */
export async function verifyBundle(info: VerifyingModel, vkey: unknown, bundle: ProofBundle, expect: Expectations = {}): Promise<Verdict> {
  const keys = keysOf(info);
  if (!keys) throw new ZkError('ARTIFACT_MISSING', `model ${info.name} has no keys`);
  requireFinalKey(info);
  if (bundle.model.vkeyHash !== keys.vkeyHash)
    return { valid: false, reason: `the proof names verifying key ${bundle.model.vkeyHash.slice(0, 12)}…, this model's is ${keys.vkeyHash.slice(0, 12)}…` };
  if (bundle.model.onnxSha256 !== info.onnxSha256)
    return {
      valid: false,
      reason: `the proof names ONNX model ${bundle.model.onnxSha256?.slice(0, 12) ?? '(none)'}…, this model's is ${info.onnxSha256.slice(0, 12)}…`,
    };
  if (bundle.system !== keys.system) return { valid: false, reason: `the proof is ${bundle.system}, this model's keys are ${keys.system}` };
  if (bundle.model.name !== info.name)
    return { valid: false, reason: `the proof names model ${JSON.stringify(bundle.model.name)}, this model is ${JSON.stringify(info.name)}` };
  const labelled = labelFault(bundle, modelLabels(info));
  if (labelled) return { valid: false, reason: labelled };
  const layout = publicSignalCount(info.publicLayout);
  const keyed = (vkey as { nPublic?: unknown }).nPublic;
  if (keyed !== layout || info.publicSignals !== layout)
    return {
      valid: false,
      reason: `the verifying key has ${String(keyed)} public signals, model.json's layout ${layout}: not the circuit model.json describes`,
    };
  if (bundle.publicSignals.length !== info.publicSignals)
    return { valid: false, reason: `${bundle.publicSignals.length} public signals, the circuit has ${info.publicSignals}` };
  // snarkjs throws on some malformed values (e.g. a point off the curve); that is an invalid proof too.
  const ok = await PROOF_SYSTEM[bundle.system].verify(vkey, bundle.publicSignals, bundle.proof).catch(() => false);
  if (!ok) return { valid: false, reason: 'the proof does not verify against the public signals' };
  const shown = readPublic(info, bundle.publicSignals);
  const inputs = publicOnes(info.inputs, shown.inputs);
  const outOfBounds = inputBoundViolation(inputs.values, inputs.specs);
  if (outOfBounds) return { valid: false, reason: outOfBounds };
  if (shown.weights && weightsDigest(shown.weights) !== info.commitments.weightsSha256)
    return { valid: false, reason: "the proof's public weights are not this model's" };
  const outputs = publicOnes(info.outputs, shown.outputs);
  return (
    checkCommitments(info, bundle, shown.commitments, expect) ??
    sameTensors('output', outputs.specs, bundle.outputs, outputs.values) ??
    sameTensors('input', inputs.specs, bundle.inputs, inputs.values) ?? { valid: true }
  );
}

/** What a model says of itself beyond its keys, as a bundle repeats it: its version, whom it trusts, the error it accepted. */
interface ModelLabels {
  versionId?: string;
  trust?: TrustSummary;
  acceptedError?: AcceptedError;
}

/** The labels of model.json (`setup` present) or of the API's model view, which states them at its top level. */
function modelLabels(info: VerifyingModel): ModelLabels {
  if ('setup' in info && info.setup) {
    const m = info as ModelInfo;
    return { versionId: m.setup?.versionId, trust: trustSummary(m), ...(m.accuracy ? acceptedError(m) : {}) };
  }
  const view = info as { versionId?: string; trust?: TrustSummary; quantization?: { accepted?: boolean; maxAbsError: number; tolerance: number } };
  return { versionId: view.versionId, trust: view.trust, ...(view.quantization ? acceptedError({ accuracy: view.quantization }) : {}) };
}

/**
 * Why the bundle's labels are not the model's, or undefined: the version id must be the model's,
 * and the trust summary the model's phase-2 kind, with a warning where the model has one; where the
 * model has them, a bundle without them is invalid too (removing a label must not skip its check);
 * it shows the accepted error exactly when the model accepted one. Edited, they would mislabel a valid proof.
 */
function labelFault(bundle: ProofBundle, model: ModelLabels): string | undefined {
  const { versionId, acceptedError: accepted } = bundle.model;
  if (model.versionId !== undefined && versionId !== model.versionId)
    return `the proof names model version ${versionId?.slice(0, 12) ?? '(none)'}…, this model's is ${model.versionId.slice(0, 12)}…`;
  // Who made the phase-2 key, and whether that is a warning; the wording may change between versions.
  const trust = bundle.trust;
  if (model.trust && (trust?.phase2 !== model.trust.phase2 || (trust.warning === undefined) !== (model.trust.warning === undefined)))
    return "the trust the bundle states is not this model's";
  if (accepted?.maxAbsError !== model.acceptedError?.maxAbsError || accepted?.tolerance !== model.acceptedError?.tolerance)
    return "the accepted quantization error the bundle states is not this model's";
  return undefined;
}

/** The tensors the signals carry (the public ones), with their specs. */
function publicOnes(specs: ModelInfo['inputs'], values: readonly (bigint[] | undefined)[]) {
  const at = values.flatMap((v, i) => (v ? [i] : []));
  return { specs: at.map((i) => specs[i]), values: at.map((i) => values[i]!) };
}

function checkCommitments(info: VerifyingModel, bundle: ProofBundle, signals: PublicValues['commitments'], expect: Expectations): Verdict | undefined {
  const model = info.commitments.weights?.value;
  if (model !== undefined && signals.weights !== BigInt(model))
    return { valid: false, reason: `the proof commits to weights ${signals.weights}, this model's commitment is ${model}` };
  for (const of of ['input', 'weights', 'output'] as const) {
    const signal = signals[of];
    const claimed = bundle.commitments?.[of];
    if ((signal === undefined) !== (claimed === undefined) || (claimed !== undefined && BigInt(claimed) !== signal)) {
      return { valid: false, reason: `the ${of} commitment shown in the bundle differs from the proven public signal` };
    }
  }
  if (expect.inputCommitment !== undefined && signals.input !== BigInt(expect.inputCommitment))
    return { valid: false, reason: 'the proof does not commit to the expected input' };
  if (expect.outputCommitment !== undefined && signals.output !== BigInt(expect.outputCommitment))
    return { valid: false, reason: 'the proof does not commit to the expected output' };
  return undefined;
}

function sameTensors(kind: string, specs: ModelInfo['outputs'], shown: readonly ProvenTensor[], signals: bigint[][]): Verdict | undefined {
  if (shown.length !== specs.length) return { valid: false, reason: `the bundle shows ${shown.length} ${kind}s, the proof has ${specs.length} public` };
  for (let i = 0; i < specs.length; i++) {
    const t = shown[i];
    if (t.name !== specs[i].name || t.dims.join() !== specs[i].dims.join())
      return {
        valid: false,
        reason: `${kind} ${i} shown in the bundle is named or shaped otherwise than the model's ${JSON.stringify(specs[i].name)} [${specs[i].dims}]`,
      };
    if (t.scale !== specs[i].scale || t.integers.length !== signals[i].length)
      return { valid: false, reason: `${kind} ${specs[i].name} does not match the model's shape or scale` };
    for (let k = 0; k < signals[i].length; k++) {
      if (BigInt(t.integers[k]) !== signals[i][k] || t.values[k] !== fromFixedPoint(signals[i][k], t.scale)) {
        return { valid: false, reason: `${kind} ${specs[i].name}[${k}] shown in the bundle differs from the proven public signal` };
      }
    }
  }
  return undefined;
}
