/**
 * The Solidity verifier of a model's keys (snarkjs' own templates), and what a contract calling it
 * needs to know: the function signature and selector, and the model's identity.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { ZkError } from '../core/errors.js';
import { PROOF_SYSTEMS, type ProofSystem, snarkjs } from '../core/snarkjs.js';
import { modelFiles, readModelInfo, requireArtifact } from '../model/layout.js';
import { requireSetup, selectorOf, verifierSignature } from './abi.js';

export { consumerConstructorArgs, consumerParameters, type ConsumerParameters, PROOF_WORDS, selectorOf, verifierSignature } from './abi.js';

/** The contract each snarkjs template declares. */
export const VERIFIER_CONTRACT: Record<ProofSystem, string> = { groth16: 'Groth16Verifier', plonk: 'PlonkVerifier', fflonk: 'FflonkVerifier' };

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

