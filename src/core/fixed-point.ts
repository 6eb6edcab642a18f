/**
 * Fixed-point conversion, the one place: a real v is carried as the integer round(v · 2^scale)
 * ("scale" = fraction bits; README "How circuits stay small and sound"), and an integer q stands
 * for q / 2^scale. Halves round up (toward +∞, Math.round), the same at every stage (inputs,
 * tables, outputs).
 */

/** round(v · 2^scale) as a bigint; RangeError for a v that is not finite (callers check first). */
export const toFixedPoint = (v: number, scale: number): bigint => BigInt(Math.round(v * 2 ** scale));

/** The real a fixed-point integer stands for: q / 2^scale. */
export const fromFixedPoint = (q: bigint | number, scale: number): number => Number(q) / 2 ** scale;
