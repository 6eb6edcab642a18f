/**
 * What a contract calling a model's verifier needs to know, computed from model.json alone (no
 * file system, so the client library runs it in browsers too): the verifier's function signature
 * and selector, the proof's word count, and the consumer contract's constructor arguments.
 */
import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { placeSegments } from '../commit/public.js';
import { ZkError } from '../core/errors.js';
import type { ProofSystem } from '../core/systems.js';
import type { ModelInfo } from '../model/layout.js';
import { PROOF_SYSTEM } from '../systems/index.js';

/** The verifier's `verifyProof` signature; its array sizes depend on the system and the public signal count. */
export const verifierSignature = (system: ProofSystem, nPublic: number): string => PROOF_SYSTEM[system].solidity.signature(nPublic);

export const selectorOf = (signature: string): string => `0x${bytesToHex(keccak_256(utf8ToBytes(signature)).subarray(0, 4))}`;

/**
 * The constructor arguments of contracts/ZkInferConsumer.sol for this model, apart from the
 * verifier's address: it binds the consumer to the model's verifying key and signal layout.
 */
export interface ConsumerParameters {
  selector: string;
  proofWords: number;
  publicSignals: number;
  outputs: number;
  /** Fraction bits of the outputs: value = integer / 2^scale. */
  scale: number;
  /** The verifying key's sha256 (model.json setup.vkeyHash) as bytes32. */
  modelId: string;
  /** The public inputs are signals [from, to): the consumer bounds them. */
  inputRange: [number, number];
  /** With hashed weights: the model commitment (decimal) and its signal index; "0" and 0 otherwise. */
  modelCommitment: string;
  modelCommitmentIndex: number;
  /** model.json setup.versionId as bytes32 (zero for models set up before version ids). */
  versionId: string;
}

export function consumerParameters(info: ModelInfo): ConsumerParameters {
  const system = requireSetup(info, info.name);
  const scales = new Set(info.outputs.map((o) => o.scale));
  if (scales.size !== 1)
    throw new ZkError('INPUT_INVALID', `model ${info.name} has outputs at several scales (${[...scales].join(', ')}); the consumer contract takes one`);
  if (info.publicLayout.some((s) => s.kind === 'weights')) {
    throw new ZkError('INPUT_INVALID', `model ${info.name} has public weights, which the consumer contract cannot check; compile it with weights=hashed`);
  }
  const placed = placeSegments(info.publicLayout);
  const inputs = placed.filter((s) => s.kind === 'input');
  const modelCommitment = placed.find((s) => s.kind === 'commitment' && s.of === 'weights');
  return {
    selector: selectorOf(verifierSignature(system, info.publicSignals)),
    proofWords: PROOF_SYSTEM[system].solidity.proofWords,
    publicSignals: info.publicSignals,
    outputs: placed.filter((s) => s.kind === 'output').reduce((n, s) => n + s.size, 0),
    scale: [...scales][0],
    modelId: `0x${info.setup!.vkeyHash}`,
    // Public inputs are contiguous in the layout (after the commitments, before public weights).
    inputRange: inputs.length ? [inputs[0].at, inputs[inputs.length - 1].at + inputs[inputs.length - 1].size] : [0, 0],
    modelCommitment: info.commitments.weights?.value ?? '0',
    modelCommitmentIndex: modelCommitment?.at ?? 0,
    versionId: `0x${info.setup!.versionId ?? '0'.repeat(64)}`,
  };
}

export function requireSetup(info: ModelInfo, where: string): ProofSystem {
  if (!info.setup) throw new ZkError('ARTIFACT_MISSING', `${where} has no keys; run zkinfer setup first`);
  return info.setup.system;
}

/**
 * ZkInferConsumer's constructor arguments in the constructor's order: the verifier's address, then
 * the model's parameters (contracts/ZkInferConsumer.sol declares the same order), ready for viem's
 * `deployContract`, `forge create --constructor-args` or `cast send --create`.
 */
export function consumerConstructorArgs(
  p: ConsumerParameters,
  verifier: string,
): [string, string, number, number, number, number, string, [number, number], string, number, string] {
  return [
    verifier,
    p.selector,
    p.proofWords,
    p.publicSignals,
    p.outputs,
    p.scale,
    p.modelId,
    p.inputRange,
    p.modelCommitment,
    p.modelCommitmentIndex,
    p.versionId,
  ];
}
