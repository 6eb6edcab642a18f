/**
 * Reference integer semantics shared by the soundness suites, written independently of the compiler
 * (src/quantize/evaluate.ts) so that a mistake there cannot hide in the expected values.
 */

/** 2^k as a bigint. */
export const pow2 = (k: number): bigint => 1n << BigInt(k);

/** floor(x / d) for d > 0 (BigInt division truncates toward zero). */
export const floorDiv = (x: bigint, d: bigint): bigint => (x % d < 0n ? x / d - 1n : x / d);
