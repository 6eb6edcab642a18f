/**
 * Canonical numbers of a proof and its public signals, shared by the systems' proof schemas and the
 * bundle schema (src/verify/verify.ts): one value has one encoding, so a proof or a signal cannot be
 * restated (x + q, 007) and pass as another.
 */
import { z } from 'zod';
import { BASE_FIELD_PRIME, FIELD_PRIME } from '../core/snarkjs.js';

const element = (modulus: bigint, what: string) =>
  z
    .string()
    // abort: the range check runs BigInt, which throws on what the pattern refuses ("1e308", "abc").
    .regex(/^(0|[1-9]\d{0,77})$/, { message: `a canonical decimal ${what} (digits, no leading zeros)`, abort: true })
    .refine((s) => BigInt(s) < modulus, `not reduced: a ${what} must be below the field's modulus`);

/** A public signal, commitment or proof evaluation: an element of the scalar field r. */
export const scalarElement = element(FIELD_PRIME, 'scalar field element');
/** A proof point's coordinate: an element of the base field q. */
export const coordinate = element(BASE_FIELD_PRIME, 'base field coordinate');
/**
 * A G1 point as snarkjs writes it: [x, y, 1]. snarkjs reads [x, y, z] as Jacobian coordinates, so
 * any other z restates the same point ([x·z², y·z³, z]): only z = 1 is canonical.
 */
export const g1 = z
  .array(coordinate)
  .length(3)
  .refine((p) => p[2] === '1', 'a canonical affine point [x, y, 1] (z other than 1 restates a point)');
/** A G2 point as snarkjs writes it: coordinates in Fq2, [[x0, x1], [y0, y1], [1, 0]]; canonical as g1. */
export const g2 = z
  .array(z.array(coordinate).length(2))
  .length(3)
  .refine((p) => p[2][0] === '1' && p[2][1] === '0', 'a canonical affine point [x, y, [1, 0]] (z other than 1 restates a point)');

/** An object of `keys`, each with the same schema. */
export const fields = <K extends string, S extends z.ZodTypeAny>(keys: readonly K[], schema: S) =>
  Object.fromEntries(keys.map((k) => [k, schema])) as Record<K, S>;
