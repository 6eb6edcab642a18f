/**
 * A Groth16 forgery for tests: the proof anyone can make for ANY public signals when the verifying
 * key has gamma = delta, as snarkjs' initial phase-2 key (an open ceremony's, before any
 * contribution) has. With A = alpha, B = beta, C = −IC(x): e(−A, B)·e(alpha, beta)·e(IC(x), gamma)·e(C, delta) = 1.
 */
import { createRequire } from 'node:module';
import type { Groth16Proof } from 'snarkjs';

// ffjavascript (snarkjs' curve library) ships no types; only these four calls are used.
type Point = unknown;
interface G1 {
  fromObject(p: bigint[]): Point;
  toObject(p: Point): bigint[];
  toAffine(p: Point): Point;
  add(a: Point, b: Point): Point;
  timesScalar(p: Point, s: bigint): Point;
  neg(p: Point): Point;
}
const { buildBn128 } = createRequire(import.meta.url)('ffjavascript') as { buildBn128(singleThread: boolean): Promise<{ G1: G1; terminate(): Promise<void> }> };

interface Groth16Key {
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  IC: string[][];
}

/** The forged proof of `publicSignals` under `vkey` (valid only if the key's gamma equals its delta). */
export async function forgeWithInitialKey(vkey: Groth16Key, publicSignals: readonly string[]): Promise<Groth16Proof> {
  const curve = await buildBn128(true);
  try {
    const { G1 } = curve;
    const g1 = (p: string[]) => G1.fromObject(p.map(BigInt));
    let ic = g1(vkey.IC[0]);
    publicSignals.forEach((s, i) => (ic = G1.add(ic, G1.timesScalar(g1(vkey.IC[i + 1]), BigInt(s)))));
    const c = G1.toObject(G1.toAffine(G1.neg(ic))).map(String);
    return { pi_a: vkey.vk_alpha_1, pi_b: vkey.vk_beta_2, pi_c: c, protocol: 'groth16', curve: 'bn128' };
  } finally {
    await curve.terminate();
  }
}
