/**
 * The proof systems of snarkjs zkinfer supports; every one runs on BN254 with circom's r1cs. Each
 * one's implementation is a module of src/systems/ (registered in src/systems/index.ts); the names
 * stay here, free of snarkjs, because the CLI lists them before loading it.
 */
export const PROOF_SYSTEMS = ['groth16', 'plonk', 'fflonk'] as const;
export type ProofSystem = (typeof PROOF_SYSTEMS)[number];
/** The system of a model whose settings name none: the smallest proof and the cheapest verifier. */
export const DEFAULT_PROOF_SYSTEM: ProofSystem = 'groth16';

/**
 * The largest development ptau zkinfer generates unless told otherwise: each power about doubles
 * the time (README "Powers of tau" gives measured times), and a circuit that needs
 * more should rest on a ceremony's file anyway.
 */
export const MAX_DEV_PTAU_POWER = 16;
