import { commit } from '../commit/poseidon.js';
import type { CommitmentOf } from '../commit/public.js';
import { needsSalt } from '../commit/visibility.js';
import { ZkError } from '../core/errors.js';
import { buildWitnessCalculator, parseFieldElement, type SnarkProof, toField, type WitnessCalculator } from '../core/snarkjs.js';
import type { ModelInfo } from '../model/layout.js';
import { quantizeForPlan } from '../quantize/input.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { bundleFromSignals, decodeTensor, type ProofBundle, readPublic } from './bundle.js';

/** What proving a model needs: model.json, plan.json (parsed), the witness wasm and the proving key. */
export interface ProvingArtifacts {
  info: ModelInfo;
  plan: QuantizedGraph;
  wasm: Uint8Array;
  zkey: Uint8Array;
}

/**
 * Proves one model, keeping its witness calculator and proving key in memory between proofs. Before
 * the witness, the input runs through the reference evaluator, so an input that would overflow a
 * range check is refused with the layer it overflows instead of circom's bare assertion. Touches no
 * file system: the service's workers (src/prove/prover.ts loads a model directory) and the client
 * library (artifacts downloaded from the service, in Node or a browser) run this same code.
 */
export class CircuitProver {
  /** Prefer fromArtifacts, which builds the witness calculator from the wasm. */
  constructor(
    readonly info: ModelInfo,
    private readonly plan: QuantizedGraph,
    private readonly witness: WitnessCalculator,
    private readonly zkey: Uint8Array,
  ) {}

  /** A prover of these artifacts (of the class it is called on: ModelProver.fromArtifacts makes a ModelProver). */
  static async fromArtifacts<T extends CircuitProver>(
    this: new (
      ...args: ConstructorParameters<typeof CircuitProver>
    ) => T,
    { info, plan, wasm, zkey }: ProvingArtifacts,
  ): Promise<T> {
    if (!info.setup) throw new ZkError('ARTIFACT_MISSING', `model ${info.name} has no keys; run zkinfer setup first`);
    return new this(info, plan, await buildWitnessCalculator(wasm), zkey);
  }

  /**
   * Proves the model on float inputs (one flat row-major array per graph input). `salt` blinds the
   * input and output commitments (default: a fresh random one, returned in the opening).
   */
  async prove(values: readonly number[][], opts: { singleThread?: boolean; salt?: bigint } = {}): Promise<ProofBundle> {
    const { info, plan } = this;
    const { visibility } = info;
    const { inputs, outputs } = quantizeForPlan(plan, values);
    const salt = needsSalt(visibility) ? (opts.salt ?? randomSalt()) : undefined;
    if (salt !== undefined) parseFieldElement(String(salt), 'the salt');
    const input = witnessInput(info, plan, inputs, salt);
    const t0 = performance.now();
    let wtns: Uint8Array;
    try {
      wtns = await this.witness.calculateWTNSBin(input, true);
    } catch (e) {
      throw new ZkError('WITNESS_FAILED', `the witness calculator rejected the input: ${(e as Error).message.split('\n')[0]}`);
    }
    const t1 = performance.now();
    const system = info.setup!.system;
    const { proof, publicSignals } = await PROOF_SYSTEM[system].prove(this.zkey, wtns, opts);
    const t2 = performance.now();
    const shown = readPublic(info, publicSignals);
    // The circuit must agree with the reference semantics and with circomlibjs, or the proof is not returned.
    const commitments = await expectedCommitments(info, inputs, outputs, salt);
    shown.outputs.forEach((out, o) =>
      out?.forEach((v, k) => {
        if (v !== outputs[o][k])
          throw new ZkError('INTERNAL', `circuit output ${info.outputs[o].name}[${k}] = ${v} differs from the reference ${outputs[o][k]}`);
      }),
    );
    for (const [of, value] of Object.entries(commitments)) {
      if (shown.commitments[of as CommitmentOf] !== BigInt(value))
        throw new ZkError('INTERNAL', `the circuit's ${of} commitment differs from the one computed with circomlibjs`);
    }
    const hidden = visibility.input !== 'public' || visibility.output !== 'public';
    return {
      // Checked above: what the signals say is the reference's output and circomlibjs' commitments.
      ...bundleFromSignals(info, system, proof as SnarkProof, publicSignals),
      timings: { witnessMs: t1 - t0, proveMs: t2 - t1 },
      ...(hidden
        ? {
            opening: {
              ...(salt !== undefined ? { salt: salt.toString() } : {}),
              inputs: info.inputs.map((t, i) => decodeTensor(t, inputs[i])),
              outputs: info.outputs.map((t, o) => decodeTensor(t, outputs[o])),
            },
          }
        : {}),
    };
  }
}

/**
 * The witness calculator's input for fixed-point inputs (one flat row-major array per graph input):
 * each input under its circuit signal, the plan's weights as the `weights` signal when they are wires
 * (weights=private|hashed), and the salt when the visibility needs one; values as decimal field
 * elements (negative integers as p − |x|). The soundness tests build their witnesses with it.
 */
export function witnessInput(info: ModelInfo, plan: QuantizedGraph, inputs: readonly (readonly bigint[])[], salt?: bigint): Record<string, string | string[]> {
  const input: Record<string, string | string[]> = Object.fromEntries(info.inputs.map((t, i) => [t.signal, inputs[i].map((v) => toField(v).toString())]));
  if (plan.weights.length) input.weights = plan.weights.flatMap((w) => w.values.map((v) => toField(v).toString()));
  if (salt !== undefined) input.salt = salt.toString();
  return input;
}

/** A uniformly random salt below 2^248 (31 random bytes: always a field element); Web Crypto, in Node and browsers. */
const randomSalt = (): bigint => BigInt(`0x${Array.from(crypto.getRandomValues(new Uint8Array(31)), (b) => b.toString(16).padStart(2, '0')).join('')}`);

/** The commitments a proof of these values must show, computed with circomlibjs. */
async function expectedCommitments(
  info: ModelInfo,
  inputs: bigint[][],
  outputs: bigint[][],
  salt: bigint | undefined,
): Promise<NonNullable<ProofBundle['commitments']>> {
  const { commitments: specs } = info;
  const out: NonNullable<ProofBundle['commitments']> = {};
  if (specs.input) out.input = String(await commit(inputs, specs.input, salt));
  if (specs.weights) out.weights = specs.weights.value;
  if (specs.output) out.output = String(await commit(outputs, specs.output, salt));
  return out;
}
