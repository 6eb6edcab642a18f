import { z } from 'zod';
import { ZkError } from '../core/errors.js';
import { PROOF_SYSTEMS, snarkjs, toSigned } from '../core/snarkjs.js';
import { inputBoundViolation } from '../io/input.js';
import type { ModelInfo } from '../model/layout.js';
import type { ProofBundle, ProvenTensor } from '../prove/bundle.js';
import { splitOutputs } from '../prove/prover.js';

const decimal = z.string().regex(/^\d{1,80}$/, 'a decimal field element');
const tensor = z.object({ name: z.string(), dims: z.array(z.number().int()), scale: z.number().int(), integers: z.array(z.string().regex(/^-?\d{1,80}$/)), values: z.array(z.number()) });

const g1 = z.array(decimal).length(3); // projective [x, y, 1]
const groth16Proof = z.object({
  pi_a: g1,
  pi_b: z.array(z.array(decimal).length(2)).length(3),
  pi_c: g1,
  protocol: z.literal('groth16'),
  curve: z.literal('bn128'),
});
const plonkProof = z.object({
  ...Object.fromEntries(['A', 'B', 'C', 'Z', 'T1', 'T2', 'T3', 'Wxi', 'Wxiw'].map((k) => [k, g1])),
  ...Object.fromEntries(['eval_a', 'eval_b', 'eval_c', 'eval_s1', 'eval_s2', 'eval_zw'].map((k) => [k, decimal])),
  protocol: z.literal('plonk'),
  curve: z.literal('bn128'),
});
const fflonkProof = z.object({
  polynomials: z.object(Object.fromEntries(['C1', 'C2', 'W1', 'W2'].map((k) => [k, g1]))),
  evaluations: z.object(Object.fromEntries(['ql', 'qr', 'qm', 'qo', 'qc', 's1', 's2', 's3', 'a', 'b', 'c', 'z', 'zw', 't1w', 't2w', 'inv'].map((k) => [k, decimal]))),
  protocol: z.literal('fflonk'),
  curve: z.literal('bn128'),
});

/** Any system's proof, told apart by its `protocol`. */
export const snarkProofSchema = z.discriminatedUnion('protocol', [groth16Proof, plonkProof, fflonkProof]);

/** The shape of PROOF.json; anything else is rejected before any cryptography runs. */
export const proofBundleSchema = z
  .object({
    format: z.literal('zkinfer-proof/1'),
    model: z.object({ name: z.string(), vkeyHash: z.string() }),
    system: z.enum(PROOF_SYSTEMS),
    proof: snarkProofSchema,
    publicSignals: z.array(decimal),
    inputs: z.array(tensor),
    outputs: z.array(tensor),
    timings: z.object({ witnessMs: z.number(), proveMs: z.number() }).partial().optional(),
  })
  .refine((b) => b.proof.protocol === b.system, { message: 'the proof is not of the system the bundle names', path: ['proof', 'protocol'] });

export function parseProofBundle(doc: unknown): ProofBundle {
  const parsed = proofBundleSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ZkError('INPUT_INVALID', `not a zkinfer proof: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { issues: parsed.error.issues.slice(0, 5) });
  }
  return parsed.data as ProofBundle;
}

export type Verdict = { valid: true } | { valid: false; reason: string };

/**
 * Checks a proof bundle against a model: the proof (in the model's system) on the public signals, and that the
 * decoded inputs and outputs the bundle shows are exactly what those signals say (a bundle whose
 * readable output was edited is invalid even if its proof is good).
 */
export async function verifyBundle(info: ModelInfo, vkey: unknown, bundle: ProofBundle): Promise<Verdict> {
  if (!info.setup) throw new ZkError('ARTIFACT_MISSING', `model ${info.name} has no keys`);
  if (bundle.model.vkeyHash !== info.setup.vkeyHash) return { valid: false, reason: `the proof names verifying key ${bundle.model.vkeyHash.slice(0, 12)}…, this model's is ${info.setup.vkeyHash.slice(0, 12)}…` };
  if (bundle.system !== info.setup.system) return { valid: false, reason: `the proof is ${bundle.system}, this model's keys are ${info.setup.system}` };
  if (bundle.publicSignals.length !== info.publicSignals) return { valid: false, reason: `${bundle.publicSignals.length} public signals, the circuit has ${info.publicSignals}` };
  // snarkjs throws on some malformed values (e.g. a point off the curve); that is an invalid proof too.
  const ok = await snarkjs[bundle.system].verify(vkey, bundle.publicSignals, bundle.proof).catch(() => false);
  if (!ok) return { valid: false, reason: 'the proof does not verify against the public signals' };
  const outputs = splitOutputs(info, bundle.publicSignals);
  const outputCount = outputs.reduce((s, o) => s + o.length, 0);
  let at = outputCount;
  const inputs = info.inputs.map((t) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    const part = bundle.publicSignals.slice(at, at + n).map((s) => toSigned(BigInt(s)));
    at += n;
    return part;
  });
  const outOfBounds = inputBoundViolation(inputs, info.inputs);
  if (outOfBounds) return { valid: false, reason: outOfBounds };
  return sameTensors('output', info.outputs, bundle.outputs, outputs) ?? sameTensors('input', info.inputs, bundle.inputs, inputs) ?? { valid: true };
}

function sameTensors(kind: string, specs: ModelInfo['outputs'], shown: readonly ProvenTensor[], signals: bigint[][]): Verdict | undefined {
  if (shown.length !== specs.length) return { valid: false, reason: `the bundle shows ${shown.length} ${kind}s, the model has ${specs.length}` };
  for (let i = 0; i < specs.length; i++) {
    const t = shown[i];
    if (t.scale !== specs[i].scale || t.integers.length !== signals[i].length) return { valid: false, reason: `${kind} ${specs[i].name} does not match the model's shape or scale` };
    for (let k = 0; k < signals[i].length; k++) {
      if (BigInt(t.integers[k]) !== signals[i][k] || t.values[k] !== Number(signals[i][k]) / 2 ** t.scale) {
        return { valid: false, reason: `${kind} ${specs[i].name}[${k}] shown in the bundle differs from the proven public signal` };
      }
    }
  }
  return undefined;
}
