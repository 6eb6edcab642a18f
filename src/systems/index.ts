/**
 * The proof systems zkinfer supports, one module each (see system.ts for the interface). Adding one:
 * write its module, add its name to PROOF_SYSTEMS (src/core/systems.ts, kept free of snarkjs for
 * the CLI's start) and register it here; the compiler then asks for nothing else.
 */
import type { ProofSystem } from '../core/systems.js';
import { fflonk } from './fflonk.js';
import { groth16 } from './groth16.js';
import { plonk } from './plonk.js';
import type { ProofSystemModule } from './system.js';

export const PROOF_SYSTEM: Record<ProofSystem, ProofSystemModule> = { groth16, plonk, fflonk };

export { scalarElement } from './schema.js';
export type { CircuitSize, KeySetupOptions, ProofSystemModule } from './system.js';
