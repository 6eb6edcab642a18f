/**
 * snarkjs typed by @types/snarkjs (with src/core/snarkjs-augment.d.ts for what it lacks), and
 * circom_runtime's witness calculator (which ships no declarations), imported in one place.
 * snarkjs takes file names or bytes (Uint8Array) wherever it reads a file.
 */
import * as snarkjs from 'snarkjs';
import { ZkError } from './errors.js';
// @ts-expect-error -- no type declarations
import { WitnessCalculatorBuilder as builderUntyped } from 'circom_runtime';

export { snarkjs };
export type { FflonkProof, Groth16Proof, PlonkProof } from 'snarkjs';
import type { FflonkProof, Groth16Proof, PlonkProof } from 'snarkjs';

export { PROOF_SYSTEMS, type ProofSystem } from './systems.js';

/** A proof of any system zkinfer supports, as snarkjs writes it (its `protocol` names the system). */
export type SnarkProof = Groth16Proof | PlonkProof | FflonkProof;

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
