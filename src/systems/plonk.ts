/** PLONK: universal keys from the ptau alone, a 24-word proof. */
import type { PlonkProof } from 'snarkjs';
import { z } from 'zod';
import { snarkjs } from '../core/snarkjs.js';
import { fields, g1, scalarElement } from './schema.js';
import { log2Ceil, type ProofSystemModule } from './system.js';
import { universalSetup } from './universal.js';

export const plonk: ProofSystemModule<PlonkProof> = {
  name: 'plonk',
  phase2: 'none',
  countsPlonkGates: true,
  /** plonk_setup's `cirPower = log2(gates - 1) + 1` (at least 3) must not exceed the power: the smallest p with 2^p >= gates. */
  ptauPower: ({ plonkGates }) => Math.max(3, log2Ceil(plonkGates!)),
  setup: universalSetup('plonk'),
  prove: (zkey, wtns, opts) => snarkjs.plonk.prove(zkey, wtns, undefined, opts),
  verify: (vkey, publicSignals, proof) => snarkjs.plonk.verify(vkey, publicSignals, proof),
  proofSchema: z.object({
    ...fields(['A', 'B', 'C', 'Z', 'T1', 'T2', 'T3', 'Wxi', 'Wxiw'], g1),
    ...fields(['eval_a', 'eval_b', 'eval_c', 'eval_s1', 'eval_s2', 'eval_zw'], scalarElement),
    protocol: z.literal('plonk'),
    curve: z.literal('bn128'),
  }),
  solidity: {
    contract: 'PlonkVerifier',
    template: 'verifier_plonk.sol.ejs',
    proofWords: 24,
    signature: (nPublic) => `verifyProof(uint256[24],uint256[${nPublic}])`,
  },
  /** snarkjs prints the two arrays with no comma between them (src/chain/calldata.ts reads it anyway). */
  calldata: (proof, publicSignals) => snarkjs.plonk.exportSolidityCallData(proof, publicSignals),
};
