/** FFLONK: universal keys from the ptau alone, the cheapest verification on chain, the costliest deployment. */
import type { FflonkProof } from 'snarkjs';
import { z } from 'zod';
import { snarkjs } from '../core/snarkjs.js';
import { fields, g1, scalarElement } from './schema.js';
import { log2Ceil, type ProofSystemModule } from './system.js';
import { universalSetup } from './universal.js';

const EVALUATIONS = ['ql', 'qr', 'qm', 'qo', 'qc', 's1', 's2', 's3', 'a', 'b', 'c', 'z', 'zw', 't1w', 't2w', 'inv'] as const;

export const fflonk: ProofSystemModule<FflonkProof> = {
  name: 'fflonk',
  phase2: 'none',
  countsPlonkGates: true,
  /**
   * fflonk_setup's domain is the smallest 2^c >= gates + 2 (two blinding rows, c >= 3), and it reads
   * 9·2^c + 18 powers of tau in G1, of which a ptau of power p has 2^(p+1) − 1: so about c + 3.
   */
  ptauPower: ({ plonkGates }) => log2Ceil((9 * 2 ** Math.max(3, log2Ceil(plonkGates! + 2)) + 18 + 1) / 2),
  setup: universalSetup('fflonk'),
  prove: (zkey, wtns, opts) => snarkjs.fflonk.prove(zkey, wtns, undefined, opts),
  verify: (vkey, publicSignals, proof) => snarkjs.fflonk.verify(vkey, publicSignals, proof),
  proofSchema: z.object({
    polynomials: z.object(fields(['C1', 'C2', 'W1', 'W2'], g1)),
    evaluations: z.object(fields(EVALUATIONS, scalarElement)),
    protocol: z.literal('fflonk'),
    curve: z.literal('bn128'),
  }),
  solidity: {
    contract: 'FflonkVerifier',
    template: 'verifier_fflonk.sol.ejs',
    proofWords: 24,
    // The template declares at least one public signal.
    signature: (nPublic) => `verifyProof(bytes32[24],uint256[${Math.max(nPublic, 1)}])`,
  },
  /** FFLONK's exporter takes the public signals first and prints its words unquoted. */
  calldata: (proof, publicSignals) => snarkjs.fflonk.exportSolidityCallData(publicSignals, proof),
};
