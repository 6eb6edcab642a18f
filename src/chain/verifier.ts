/**
 * The Solidity verifier of a model's keys (snarkjs' own templates), and what a contract calling it
 * needs to know: the function signature and selector, and the model's identity.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { keccak_256 } from '@noble/hashes/sha3';
import { placeSegments } from '../commit/public.js';
import { ZkError } from '../core/errors.js';
import { PROOF_SYSTEMS, type ProofSystem, snarkjs } from '../core/snarkjs.js';
import { type ModelInfo, modelFiles, readModelInfo, requireArtifact } from '../model/layout.js';

/** The contract each snarkjs template declares. */
export const VERIFIER_CONTRACT: Record<ProofSystem, string> = { groth16: 'Groth16Verifier', plonk: 'PlonkVerifier', fflonk: 'FflonkVerifier' };

/** 32-byte words of a proof as the verifier takes it (Groth16: a, b, c; PLONK and FFLONK: 24 words). */
export const PROOF_WORDS: Record<ProofSystem, number> = { groth16: 8, plonk: 24, fflonk: 24 };

/**
 * snarkjs' CLI reads its templates from `templates/` beside (or one level above) its own file; the
 * library takes them as an argument. We look the same way from the entry `require` resolves
 * (build/main.cjs), since the package exports no path to them.
 */
export function verifierTemplates(): Record<ProofSystem, string> {
  const entry = dirname(createRequire(import.meta.url).resolve('snarkjs'));
  const dir = [join(entry, 'templates'), join(entry, '..', 'templates')].find((d) => existsSync(join(d, 'verifier_groth16.sol.ejs')));
  if (!dir) throw new ZkError('INTERNAL', `snarkjs' Solidity templates are not installed beside ${entry}`);
  return Object.fromEntries(PROOF_SYSTEMS.map((s) => [s, readFileSync(join(dir, `verifier_${s}.sol.ejs`), 'utf8')])) as Record<ProofSystem, string>;
}

/** The verifier's `verifyProof` signature; its array sizes depend on the system and the public signal count. */
export function verifierSignature(system: ProofSystem, nPublic: number): string {
  if (system === 'groth16') return `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[${nPublic}])`;
  // FFLONK's template declares at least one public signal.
  if (system === 'fflonk') return `verifyProof(bytes32[24],uint256[${Math.max(nPublic, 1)}])`;
  return `verifyProof(uint256[24],uint256[${nPublic}])`;
}

export const selectorOf = (signature: string): string => '0x' + Buffer.from(keccak_256(signature)).subarray(0, 4).toString('hex');

export interface SolidityVerifier {
  system: ProofSystem;
  contractName: string;
  source: string;
  /** `verifyProof(...)` and its 4-byte selector. */
  signature: string;
  selector: string;
}

/** Renders the verifier contract of a set-up model directory. */
export async function exportSolidityVerifier(dir: string): Promise<SolidityVerifier> {
  const info = readModelInfo(dir);
  const system = requireSetup(info, dir);
  const source = await snarkjs.zKey.exportSolidityVerifier(requireArtifact(modelFiles(dir).zkey, 'setup'), verifierTemplates());
  const signature = verifierSignature(system, info.publicSignals);
  return { system, contractName: VERIFIER_CONTRACT[system], source, signature, selector: selectorOf(signature) };
}

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
  if (scales.size !== 1) throw new ZkError('INPUT_INVALID', `model ${info.name} has outputs at several scales (${[...scales].join(', ')}); the consumer contract takes one`);
  if (info.publicLayout.some((s) => s.kind === 'weights')) {
    throw new ZkError('INPUT_INVALID', `model ${info.name} has public weights, which the consumer contract cannot check; compile it with weights=hashed`);
  }
  const placed = placeSegments(info.publicLayout);
  const inputs = placed.filter((s) => s.kind === 'input');
  const modelCommitment = placed.find((s) => s.kind === 'commitment' && s.of === 'weights');
  return {
    selector: selectorOf(verifierSignature(system, info.publicSignals)),
    proofWords: PROOF_WORDS[system],
    publicSignals: info.publicSignals,
    outputs: placed.filter((s) => s.kind === 'output').reduce((n, s) => n + s.size, 0),
    scale: [...scales][0],
    modelId: '0x' + info.setup!.vkeyHash,
    // Public inputs are contiguous in the layout (after the commitments, before public weights).
    inputRange: inputs.length ? [inputs[0].at, inputs[inputs.length - 1].at + inputs[inputs.length - 1].size] : [0, 0],
    modelCommitment: info.commitments.weights?.value ?? '0',
    modelCommitmentIndex: modelCommitment?.at ?? 0,
    versionId: '0x' + (info.setup!.versionId ?? '0'.repeat(64)),
  };
}

/**
 * ZkInferConsumer's constructor arguments in the constructor's order: the verifier's address, then
 * the model's parameters (contracts/ZkInferConsumer.sol declares the same order).
 */
export function consumerConstructorArgs(p: ConsumerParameters, verifier: string): [string, string, number, number, number, number, string, [number, number], string, number] {
  return [verifier, p.selector, p.proofWords, p.publicSignals, p.outputs, p.scale, p.modelId, p.inputRange, p.modelCommitment, p.modelCommitmentIndex];
}

function requireSetup(info: ModelInfo, where: string): ProofSystem {
  if (!info.setup) throw new ZkError('ARTIFACT_MISSING', `${where} has no keys; run zkinfer setup first`);
  return info.setup.system;
}
