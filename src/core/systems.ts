/** The proof systems of snarkjs zkinfer supports; every one runs on BN254 with circom's r1cs. (No snarkjs here: the CLI lists them before loading it.) */
export const PROOF_SYSTEMS = ['groth16', 'plonk', 'fflonk'] as const;
export type ProofSystem = (typeof PROOF_SYSTEMS)[number];
