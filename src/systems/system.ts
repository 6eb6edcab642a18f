/**
 * The seam between zkinfer and a proof system: everything that differs between Groth16, PLONK and
 * FFLONK, behind one interface (the same verbs per system, as snarkjs' groth16.js / plonk.js expose
 * them). Each system is one module (groth16.ts, plonk.ts, fflonk.ts) registered in index.ts; the
 * rest of zkinfer (setup, prover, verifier, Solidity export, calldata, API) reads from there.
 *
 * No Node built-ins here or in the modules: the client library bundles them for browsers
 * (scripts/build-web.ts). File paths appear only in `setup`, which snarkjs itself opens.
 */
import type { z } from 'zod';
import type { ProofSystem } from '../core/systems.js';

/** A circuit's size as the systems measure it (src/setup/r1cs.ts reads it from the r1cs). */
export interface CircuitSize {
  nConstraints: number;
  /** Public inputs and outputs. */
  nPublic: number;
  /** PLONK gates (src/setup/r1cs.ts countPlonkGates); read only for systems with `countsPlonkGates`. */
  plonkGates?: number;
}

/** What a key setup hears and may be given; setupKeys (src/setup/keys.ts) does the files around it. */
export interface KeySetupOptions {
  /** Extra entropy for a phase-2 contribution (snarkjs mixes in its own randomness too). */
  entropy?: string;
  /** Re-derive a circuit-specific key from r1cs + ptau afterwards (doubles the time). */
  verify?: boolean;
  log: (msg: string) => void;
  /** snarkjs' own progress lines as a step name and fraction. */
  progress?: (step: string, fraction: number) => void;
}

export interface ProofAndSignals<P> {
  proof: P;
  publicSignals: string[];
}

export interface ProofSystemModule<P = unknown> {
  name: ProofSystem;
  /**
   * Whose secret the keys rest on once `setup` has run: 'operator' for a circuit-specific phase 2
   * this machine contributed to (a ceremony can replace it), 'none' for keys from the ptau alone,
   * which `setup` must derive deterministically: `zkinfer audit` runs it again and compares the zkeys.
   */
  phase2: 'operator' | 'none';
  /** Whether `ptauPower` needs `plonkGates` (counting them reads every constraint of the r1cs). */
  countsPlonkGates: boolean;
  /** The smallest ptau power this system's setup accepts for the circuit (before zkinfer's floor of 8). */
  ptauPower(size: CircuitSize): number;
  /**
   * Writes the proving key `zkey` from the circuit `r1cs` and a prepared `ptau` (file names);
   * `scratch` is a file name it may use on the way, which the caller removes.
   */
  setup(files: { r1cs: string; ptau: string; zkey: string; scratch: string }, opts: KeySetupOptions): Promise<void>;
  /** Proves from the proving key and a witness (.wtns bytes), in memory. */
  prove(zkey: Uint8Array, wtns: Uint8Array, opts?: { singleThread?: boolean }): Promise<ProofAndSignals<P>>;
  verify(vkey: unknown, publicSignals: string[], proof: P): Promise<boolean>;
  /** The proof as PROOF.json carries it (snarkjs' JSON), every number canonical; its `protocol` is `name`. */
  proofSchema: z.ZodObject<{ protocol: z.ZodLiteral<ProofSystem> } & z.ZodRawShape>;
  solidity: {
    /** The contract snarkjs' template declares. */
    contract: string;
    /** snarkjs' template file (in its templates/ directory). */
    template: string;
    /** 32-byte words of the proof as `verifyProof` takes it (the consumer contract's `proof`). */
    proofWords: number;
    /** The verifier's `verifyProof` signature for `nPublic` public signals. */
    signature(nPublic: number): string;
  };
  /** snarkjs' Solidity calldata text: the verifier's arguments, proof first, public signals last. */
  calldata(proof: P, publicSignals: string[]): Promise<string>;
}

/** The smallest p with 2^p >= n. */
export function log2Ceil(n: number): number {
  let p = 0;
  while (2 ** p < n) p++;
  return p;
}
