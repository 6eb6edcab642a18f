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
/** A G1 point as snarkjs writes it: projective [x, y, 1]. */
export const g1 = z.array(coordinate).length(3);

/** An object of `keys`, each with the same schema. */
export const fields = <K extends string, S extends z.ZodTypeAny>(keys: readonly K[], schema: S) =>
  Object.fromEntries(keys.map((k) => [k, schema])) as Record<K, S>;
