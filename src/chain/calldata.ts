/**
 * Solidity calldata for a proof bundle, from snarkjs' own exporters (each system's `calldata`, in
 * src/systems/: they know each verifier's word order, e.g. Groth16's swapped G2 coordinates), made
 * uniform: PLONK's export prints its two arrays with no comma between them, and FFLONK's prints its
 * words unquoted, so neither is JSON: we read the text as nested arrays of hex words instead.
 */
import { ZkError } from '../core/errors.js';
import type { ProofSystem } from '../core/systems.js';
import type { ProofBundle } from '../prove/bundle.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { selectorOf, verifierSignature } from './abi.js';

type Nested = string | Nested[];

export interface SolidityCalldata {
  system: ProofSystem;
  /** The arguments of the verifier's `verifyProof`, in order, as 0x-prefixed 32-byte words. */
  args: Nested[];
  /** The proof alone, flattened to words in the verifier's order (the consumer contract's `proof`). */
  proof: string[];
  publicSignals: string[];
  /** The complete ABI-encoded call to the verifier: selector and words (every argument is static). */
  encoded: string;
}

export async function solidityCalldata(bundle: ProofBundle): Promise<SolidityCalldata> {
  const system = PROOF_SYSTEM[bundle.system];
  const args = parseArrays(await system.calldata(bundle.proof, bundle.publicSignals));
  const words = args.flat(3) as string[];
  const { proofWords } = system.solidity;
  // The public signals are always the last argument; everything before is the proof.
  if (words.length !== proofWords + bundle.publicSignals.length) {
    throw new ZkError('INTERNAL', `snarkjs ${bundle.system} calldata has ${words.length} words, expected ${proofWords} + ${bundle.publicSignals.length}`);
  }
  const signature = verifierSignature(bundle.system, bundle.publicSignals.length);
  return {
    system: bundle.system,
    args,
    proof: words.slice(0, proofWords),
    publicSignals: words.slice(proofWords),
    encoded: selectorOf(signature) + words.map((w) => w.slice(2)).join(''),
  };
}

/** `[a, b],[[c]] [d]` (quoted or not, commas or not) → nested arrays of 0x words, each 64 hex digits. */
export function parseArrays(text: string): Nested[] {
  const tokens = text.match(/\[|\]|0x[0-9a-fA-F]+/g) ?? [];
  const root: Nested[] = [];
  const stack: Nested[][] = [root];
  for (const t of tokens) {
    if (t === '[') {
      const next: Nested[] = [];
      stack[stack.length - 1].push(next);
      stack.push(next);
    } else if (t === ']') {
      if (stack.length === 1) throw new ZkError('INTERNAL', `unbalanced calldata: ${text.slice(0, 80)}`);
      stack.pop();
    } else stack[stack.length - 1].push(`0x${t.slice(2).toLowerCase().padStart(64, '0')}`);
  }
  if (stack.length !== 1) throw new ZkError('INTERNAL', `unbalanced calldata: ${text.slice(0, 80)}`);
  return root;
}
