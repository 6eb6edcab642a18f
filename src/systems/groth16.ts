/**
 * Groth16: a circuit-specific phase 2 on top of the ptau (newZKey, then one contribution by this
 * machine), the smallest proof (8 words) and the cheapest verifier on chain.
 */
import type { Groth16Proof } from 'snarkjs';
import { z } from 'zod';
import { ZkError } from '../core/errors.js';
import { snarkjs } from '../core/snarkjs.js';
import { collectingLogger } from '../setup/snarkjs-logger.js';
import { g1, g2 } from './schema.js';
import { log2Ceil, type ProofSystemModule } from './system.js';

/** Groth16's initial zkey (no phase-2 contribution yet: delta is the generator, known to all). */
export async function newZKey(r1cs: string, ptau: string, out: string, progress?: (step: string, fraction: number) => void): Promise<void> {
  const { logger, errors } = collectingLogger(progress);
  const csHash: unknown = await snarkjs.zKey.newZKey(r1cs, ptau, out, logger);
  if (!(csHash instanceof Uint8Array)) {
    throw new ZkError('INTERNAL', `snarkjs newZKey failed: ${errors.join('; ') || 'no reason given'}`);
  }
}

/** 32 random bytes as hex (Web Crypto: Node and browsers). */
const randomHex = (): string => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');

export const groth16: ProofSystemModule<Groth16Proof> = {
  name: 'groth16',
  phase2: 'operator',
  countsPlonkGates: false,
  /**
   * snarkjs' newZKey computes `cirPower = log2(nConstraints + nPubInputs + nOutputs) + 1` (integer
   * log2) and rejects when `cirPower > ptauPower`: the smallest p with 2^p >= nConstraints + nPublic + 1.
   */
  ptauPower: ({ nConstraints, nPublic }) => log2Ceil(nConstraints + nPublic + 1),
  async setup({ r1cs, ptau, zkey, scratch }, opts) {
    await newZKey(r1cs, ptau, scratch, opts.progress);
    opts.log('groth16: adding ONE development phase-2 contribution (random entropy, not a multi-party ceremony)');
    // Whoever ran this knows its delta, so the keys are only as trustworthy as this machine. An
    // empty entropy would make snarkjs prompt on stdin.
    await snarkjs.zKey.contribute(scratch, zkey, 'zkinfer development phase-2', opts.entropy || randomHex(), collectingLogger().logger);
    if (!opts.verify) return;
    const { logger, errors } = collectingLogger();
    if (!(await snarkjs.zKey.verifyFromR1cs(r1cs, ptau, zkey, logger))) {
      throw new ZkError('INTERNAL', `generated zkey does not verify: ${errors.join('; ')}`);
    }
  },
  prove: (zkey, wtns, opts) => snarkjs.groth16.prove(zkey, wtns, undefined, opts),
  verify: (vkey, publicSignals, proof) => snarkjs.groth16.verify(vkey, publicSignals, proof),
  proofSchema: z.object({
    pi_a: g1,
    pi_b: g2,
    pi_c: g1,
    protocol: z.literal('groth16'),
    curve: z.literal('bn128'),
  }),
  solidity: {
    contract: 'Groth16Verifier',
    template: 'verifier_groth16.sol.ejs',
    proofWords: 8,
    signature: (nPublic) => `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[${nPublic}])`,
  },
  calldata: (proof, publicSignals) => snarkjs.groth16.exportSolidityCallData(proof, publicSignals),
};
