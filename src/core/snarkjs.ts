/**
 * The parts of snarkjs and circom_runtime zkinfer calls, typed in one place (neither ships
 * declarations). snarkjs accepts file names or in-memory `{ type: 'mem', data }` descriptors.
 */
// @ts-ignore -- no type declarations
import * as snarkjsUntyped from 'snarkjs';
// @ts-ignore -- no type declarations
import { WitnessCalculatorBuilder as builderUntyped } from 'circom_runtime';

export type FileRef = string | { type: 'mem'; data: Uint8Array };

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

export interface Snarkjs {
  groth16: {
    prove(zkey: FileRef, witness: FileRef, logger?: unknown, options?: { singleThread?: boolean }): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: unknown, publicSignals: readonly string[], proof: unknown, logger?: unknown): Promise<boolean>;
  };
  wtns: {
    check(r1cs: FileRef, wtns: FileRef, logger?: unknown): Promise<boolean>;
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

/** Field element → signed integer (elements above p/2 are negatives). */
export const toSigned = (x: bigint): bigint => (x > FIELD_PRIME / 2n ? x - FIELD_PRIME : x);
export const toField = (x: bigint): bigint => ((x % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME;

/** snarkjs keeps a bn128 worker pool alive in the global; a process must end it to exit. */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  delete g.curve_bn128;
}
