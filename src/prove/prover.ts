import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { commit } from '../commit/poseidon.js';
import type { CommitmentOf } from '../commit/public.js';
import { needsSalt } from '../commit/visibility.js';
import { ZkError } from '../core/errors.js';
import { buildWitnessCalculator, parseFieldElement, snarkjs, toField, type WitnessCalculator } from '../core/snarkjs.js';
import { quantizeInputs } from '../io/input.js';
import { requireProvable } from '../model/ceremony.js';
import { type ModelInfo, modelFiles, readModelInfo, requireArtifact } from '../model/layout.js';
import { evaluate } from '../quantize/evaluate.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planFromJson } from '../quantize/serialize.js';
import { bundleFromSignals, decodeTensor, type ProofBundle, readPublic } from './bundle.js';

/**
 * Proves one model, keeping its witness calculator and proving key in memory between proofs. Before
 * the witness, the input runs through the reference evaluator, so an input that would overflow a
 * range check is refused with the layer it overflows instead of circom's bare assertion.
 */
export class ModelProver {
  private constructor(
    readonly info: ModelInfo,
    private readonly plan: QuantizedGraph,
    private readonly witness: WitnessCalculator,
    private readonly zkey: Uint8Array,
  ) {}

  static async load(dir: string): Promise<ModelProver> {
    const info = readModelInfo(dir);
    const files = modelFiles(dir);
    if (!info.setup) throw new ZkError('ARTIFACT_MISSING', `${dir} has no keys; run zkinfer setup first`, { dir });
    requireProvable(info);
    const plan = planFromJson(readFileSync(requireArtifact(files.plan, 'compile'), 'utf8'));
    const witness = await buildWitnessCalculator(readFileSync(requireArtifact(files.wasm, 'compile')));
    return new ModelProver(info, plan, witness, readFileSync(requireArtifact(files.zkey, 'setup')));
  }

  /**
   * Proves the model on float inputs (one flat row-major array per graph input). `salt` blinds the
   * input and output commitments (default: a fresh random one, returned in the opening).
   */
  async prove(values: readonly number[][], opts: { singleThread?: boolean; salt?: bigint } = {}): Promise<ProofBundle> {
    const { info, plan } = this;
    const { visibility } = info;
    const inputs = quantizeInputs(values, plan.inputs.map((i) => i.scale), plan.inputs.map((i) => i.name));
    const expected = evaluate(plan, inputs, { checkRanges: true });
    const salt = needsSalt(visibility) ? (opts.salt ?? randomSalt()) : undefined;
    if (salt !== undefined) parseFieldElement(String(salt), 'the salt');
    const witnessInput: Record<string, unknown> = Object.fromEntries(info.inputs.map((t, i) => [t.signal, inputs[i].map((v) => toField(v).toString())]));
    if (plan.weights.length) witnessInput.weights = plan.weights.flatMap((w) => w.values.map((v) => toField(v).toString()));
    if (salt !== undefined) witnessInput.salt = salt.toString();
    const t0 = performance.now();
    let wtns: Uint8Array;
    try {
      wtns = await this.witness.calculateWTNSBin(witnessInput, true);
    } catch (e) {
      throw new ZkError('WITNESS_FAILED', `the witness calculator rejected the input: ${(e as Error).message.split('\n')[0]}`);
    }
    const t1 = performance.now();
    const system = info.setup!.system;
    const { proof, publicSignals } = await snarkjs[system].prove({ type: 'mem', data: this.zkey }, { type: 'mem', data: wtns }, undefined, opts);
    const t2 = performance.now();
    const shown = readPublic(info, publicSignals);
    // The circuit must agree with the reference semantics and with circomlibjs, or the proof is not returned.
    const commitments = await expectedCommitments(info, inputs, expected.outputs, salt);
    shown.outputs.forEach((out, o) =>
      out?.forEach((v, k) => {
        if (v !== expected.outputs[o][k]) throw new ZkError('INTERNAL', `circuit output ${info.outputs[o].name}[${k}] = ${v} differs from the reference ${expected.outputs[o][k]}`);
      }),
    );
    for (const [of, value] of Object.entries(commitments)) {
      if (shown.commitments[of as CommitmentOf] !== BigInt(value)) throw new ZkError('INTERNAL', `the circuit's ${of} commitment differs from the one computed with circomlibjs`);
    }
    const hidden = visibility.input !== 'public' || visibility.output !== 'public';
    return {
      // Checked above: what the signals say is the reference's output and circomlibjs' commitments.
      ...bundleFromSignals(info, system, proof, publicSignals),
      timings: { witnessMs: t1 - t0, proveMs: t2 - t1 },
      ...(hidden
        ? {
            opening: {
              ...(salt !== undefined ? { salt: salt.toString() } : {}),
              inputs: info.inputs.map((t, i) => decodeTensor(t, inputs[i])),
              outputs: info.outputs.map((t, o) => decodeTensor(t, expected.outputs[o])),
            },
          }
        : {}),
    };
  }
}

/** A uniformly random salt below 2^248 (31 random bytes: always a field element). */
const randomSalt = (): bigint => BigInt(`0x${randomBytes(31).toString('hex')}`);

/** The commitments a proof of these values must show, computed with circomlibjs. */
async function expectedCommitments(info: ModelInfo, inputs: bigint[][], outputs: bigint[][], salt: bigint | undefined): Promise<NonNullable<ProofBundle['commitments']>> {
  const { commitments: specs } = info;
  const out: NonNullable<ProofBundle['commitments']> = {};
  if (specs.input) out.input = String(await commit(inputs, specs.input, salt));
  if (specs.weights) out.weights = specs.weights.value;
  if (specs.output) out.output = String(await commit(outputs, specs.output, salt));
  return out;
}
