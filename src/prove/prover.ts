import { readFileSync } from 'node:fs';
import { ZkError } from '../core/errors.js';
import { buildWitnessCalculator, snarkjs, toField, toSigned, type WitnessCalculator } from '../core/snarkjs.js';
import { quantizeInputs } from '../io/input.js';
import { type ModelInfo, modelFiles, readModelInfo, requireArtifact } from '../model/layout.js';
import { evaluate } from '../quantize/evaluate.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planFromJson } from '../quantize/serialize.js';
import { type ProofBundle, decodeTensor } from './bundle.js';

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
    const plan = planFromJson(readFileSync(requireArtifact(files.plan, 'compile'), 'utf8'));
    const witness = await buildWitnessCalculator(readFileSync(requireArtifact(files.wasm, 'compile')));
    return new ModelProver(info, plan, witness, readFileSync(requireArtifact(files.zkey, 'setup')));
  }

  /** Proves the model on float inputs (one flat row-major array per graph input). */
  async prove(values: readonly number[][], opts: { singleThread?: boolean } = {}): Promise<ProofBundle> {
    const { info, plan } = this;
    const inputs = quantizeInputs(values, plan.inputs.map((i) => i.scale), plan.inputs.map((i) => i.name));
    const expected = evaluate(plan, inputs, { checkRanges: true });
    const witnessInput = Object.fromEntries(info.inputs.map((t, i) => [t.signal, inputs[i].map((v) => toField(v).toString())]));
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
    const outputs = splitOutputs(info, publicSignals);
    outputs.forEach((out, o) =>
      out.forEach((v, k) => {
        if (v !== expected.outputs[o][k]) throw new ZkError('INTERNAL', `circuit output ${info.outputs[o].name}[${k}] = ${v} differs from the reference ${expected.outputs[o][k]}`);
      }),
    );
    return {
      format: 'zkinfer-proof/1',
      model: { name: info.name, vkeyHash: info.setup!.vkeyHash },
      system,
      proof,
      publicSignals,
      inputs: info.inputs.map((t, i) => decodeTensor(t, inputs[i])),
      outputs: info.outputs.map((t, o) => decodeTensor(t, outputs[o])),
      timings: { witnessMs: t1 - t0, proveMs: t2 - t1 },
    };
  }
}

/** The outputs are the first public signals, in order, as signed integers. */
export function splitOutputs(info: ModelInfo, publicSignals: readonly string[]): bigint[][] {
  let at = 0;
  return info.outputs.map((o) => {
    const n = o.dims.reduce((a, b) => a * b, 1);
    const part = publicSignals.slice(at, at + n).map((s) => toSigned(BigInt(s)));
    at += n;
    return part;
  });
}

