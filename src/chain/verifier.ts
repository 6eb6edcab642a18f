/**
 * The Solidity verifier of a model's keys (snarkjs' own templates), and what a contract calling it
 * needs to know: the function signature and selector, and the model's identity.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { ZkError } from '../core/errors.js';
import { snarkjs } from '../core/snarkjs.js';
import { PROOF_SYSTEMS, type ProofSystem } from '../core/systems.js';
import { modelFiles, readModelInfo, requireArtifact } from '../model/layout.js';
import { requireFinalKey } from '../model/trust.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { requireSetup, selectorOf, verifierSignature } from './abi.js';

export { consumerConstructorArgs, consumerParameters, type ConsumerParameters, selectorOf, verifierSignature } from './abi.js';

/**
 * snarkjs' CLI reads its templates from `templates/` beside (or one level above) its own file; the
 * library takes them as an argument. We look the same way from the entry `require` resolves
 * (build/main.cjs), since the package exports no path to them.
 */
export function verifierTemplates(): Record<ProofSystem, string> {
  const entry = dirname(createRequire(import.meta.url).resolve('snarkjs'));
  const dir = [join(entry, 'templates'), join(entry, '..', 'templates')].find((d) => existsSync(join(d, PROOF_SYSTEM.groth16.solidity.template)));
  if (!dir) throw new ZkError('INTERNAL', `snarkjs' Solidity templates are not installed beside ${entry}`);
  return Object.fromEntries(PROOF_SYSTEMS.map((s) => [s, readFileSync(join(dir, PROOF_SYSTEM[s].solidity.template), 'utf8')])) as Record<ProofSystem, string>;
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
  requireFinalKey(info);
  const source = await snarkjs.zKey.exportSolidityVerifier(requireArtifact(modelFiles(dir).zkey, 'setup'), verifierTemplates());
  const signature = verifierSignature(system, info.publicSignals);
  return { system, contractName: PROOF_SYSTEM[system].solidity.contract, source, signature, selector: selectorOf(signature) };
}
