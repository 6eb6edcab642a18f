/**
 * The parts of snarkjs and circom_runtime zkinfer calls, typed in one place (neither ships
 * declarations). snarkjs accepts file names or in-memory `{ type: 'mem', data }` descriptors.
 */
// @ts-ignore -- no type declarations
import * as snarkjsUntyped from 'snarkjs';
import { ZkError } from './errors.js';
// @ts-ignore -- no type declarations
import { WitnessCalculatorBuilder as builderUntyped } from 'circom_runtime';

export type FileRef = string | { type: 'mem'; data: Uint8Array };

export { PROOF_SYSTEMS, type ProofSystem } from './systems.js';
import type { ProofSystem } from './systems.js';

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

/** G1 points are projective [x, y, "1"], evaluations are field elements, all decimal strings. */
export interface PlonkProof {
  A: string[]; B: string[]; C: string[]; Z: string[]; T1: string[]; T2: string[]; T3: string[]; Wxi: string[]; Wxiw: string[];
  eval_a: string; eval_b: string; eval_c: string; eval_s1: string; eval_s2: string; eval_zw: string;
  protocol: 'plonk';
  curve: string;
}

export interface FflonkProof {
  polynomials: { C1: string[]; C2: string[]; W1: string[]; W2: string[] };
  evaluations: Record<'ql' | 'qr' | 'qm' | 'qo' | 'qc' | 's1' | 's2' | 's3' | 'a' | 'b' | 'c' | 'z' | 'zw' | 't1w' | 't2w' | 'inv', string>;
  protocol: 'fflonk';
  curve: string;
}

export type SnarkProof = Groth16Proof | PlonkProof | FflonkProof;

type ProveOptions = { singleThread?: boolean };
/** prove/verify have one shape in all three systems; calldata export argument order does not (see chain/calldata.ts). */
interface SystemApi<P> {
  prove(zkey: FileRef, witness: FileRef, logger?: unknown, options?: ProveOptions): Promise<{ proof: P; publicSignals: string[] }>;
  verify(vk: unknown, publicSignals: readonly string[], proof: unknown, logger?: unknown): Promise<boolean>;
}

export interface Snarkjs {
  groth16: SystemApi<Groth16Proof> & { exportSolidityCallData(proof: unknown, publicSignals: readonly string[]): Promise<string> };
  plonk: SystemApi<PlonkProof> & { exportSolidityCallData(proof: unknown, publicSignals: readonly string[]): Promise<string> };
  /** FFLONK takes the public signals first. */
  fflonk: SystemApi<FflonkProof> & { exportSolidityCallData(publicSignals: readonly string[], proof: unknown): Promise<string> };
  wtns: {
    check(r1cs: FileRef, wtns: FileRef, logger?: unknown): Promise<boolean>;
  };
  zKey: {
    /** Renders the Solidity verifier from the zkey; `templates` maps protocol → ejs template text. */
    exportSolidityVerifier(zkey: FileRef, templates: Record<string, string>, logger?: unknown): Promise<string>;
  };
  curves: {
    /** Builds (once per thread, then cached in globalThis.curve_bn128) the multi-threaded curve. */
    getCurveFromName(name: string): Promise<unknown>;
  };
}

export const snarkjs = snarkjsUntyped as unknown as Snarkjs;

export interface WitnessCalculator {
  calculateWTNSBin(input: Record<string, unknown>, sanityCheck: boolean): Promise<Uint8Array>;
  calculateWitness(input: Record<string, unknown>, sanityCheck: boolean): Promise<bigint[]>;
}

export const buildWitnessCalculator = builderUntyped as (wasm: Uint8Array, options?: { sanityCheck?: boolean }) => Promise<WitnessCalculator>;

/** BN254's scalar field: circom's default prime. */
export const FIELD_PRIME = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254's base field q: the coordinates of proof points are below it. */
export const BASE_FIELD_PRIME = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** Field element → signed integer (elements above p/2 are negatives). */
export const toSigned = (x: bigint): bigint => (x > FIELD_PRIME / 2n ? x - FIELD_PRIME : x);
export const toField = (x: bigint): bigint => ((x % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME;

/** A canonical field element given as a decimal string (a salt, a commitment); INPUT_INVALID otherwise. */
export function parseFieldElement(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^\d{1,80}$/.test(value) || BigInt(value) >= FIELD_PRIME) {
    throw new ZkError('INPUT_INVALID', `${what} must be a decimal string below the BN254 scalar field modulus`);
  }
  return BigInt(value);
}

/** snarkjs keeps a bn128 worker pool alive in the global; a process must end it to exit. */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  delete g.curve_bn128;
}
