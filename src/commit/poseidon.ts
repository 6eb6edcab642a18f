/**
 * Poseidon commitments as the circuit computes them (circuits/commit.circom), with circomlibjs. Values
 * are packed before hashing: a tensor range-checked to `bits` signed bits is written as unsigned
 * digits v + 2^(bits−1), floor(253 / bits) per field element, so hashing costs a Poseidon input per
 * chunk instead of per value, and packing stays injective because every digit is range-checked.
 */
import type { Poseidon } from 'circomlibjs';
import { ZkError } from '../core/errors.js';
import { toField } from '../core/snarkjs.js';

/** A range check: signed, v ∈ [−2^(bits−1), 2^(bits−1)); unsigned, v ∈ [0, 2^bits). */
export interface DigitRange {
  bits: number;
  signed: boolean;
}

/** The digit a value of the range is packed as: v + 2^(bits−1) when signed, v itself otherwise. */
export const digitOffset = (r: DigitRange): bigint => (r.signed ? 1n << BigInt(r.bits - 1) : 0n);

export const inRange = (v: bigint, r: DigitRange): boolean => v + digitOffset(r) >= 0n && v + digitOffset(r) < 1n << BigInt(r.bits);

/** How one tensor enters a commitment. `bits: 0`: as raw field elements, one per Poseidon input. */
export interface PackedTensor extends DigitRange {
  name: string;
  count: number;
}

/** Digits per field element: below 2^253 < p, so a chunk is its integer value. */
export const digitsPerChunk = (bits: number): number => Math.floor(253 / bits);

/** Poseidon inputs that circomlib's Poseidon (t ≤ 17) takes at once. */
export const POSEIDON_WIDTH = 16;

export function packTensor(values: readonly bigint[], spec: PackedTensor): bigint[] {
  if (spec.bits === 0) return values.map(toField);
  const offset = digitOffset(spec);
  const per = digitsPerChunk(spec.bits);
  const chunks: bigint[] = [];
  for (let i = 0; i < values.length; i += per) {
    let chunk = 0n;
    values.slice(i, i + per).forEach((v, j) => {
      const digit = v + offset;
      if (!inRange(v, spec)) {
        throw new ZkError('INPUT_OUT_OF_RANGE', `${spec.name}[${i + j}] = ${v} is outside the ${spec.bits}-bit range of its commitment`, {
          tensor: spec.name,
          index: i + j,
        });
      }
      chunk += digit << BigInt(spec.bits * j);
    });
    chunks.push(chunk);
  }
  return chunks;
}

export const chunkCount = (spec: PackedTensor): number => (spec.bits === 0 ? spec.count : Math.ceil(spec.count / digitsPerChunk(spec.bits)));

let poseidon: Promise<Poseidon> | undefined;
/**
 * circomlibjs is loaded on first use: it adds about 22 MB to a heap, which every prover worker would
 * otherwise carry for models that commit to nothing. It brings its own ffjavascript (0.2, snarkjs
 * has 0.3), whose module body sets `globalThis.curve_bn128 = null` — where snarkjs keeps its
 * multi-threaded curve. Loaded after snarkjs built that curve, it would orphan its worker threads (a
 * process that never exits, a second thread pool on the next proof), so the reference is put back.
 * circomlibjs' Poseidon uses a single-threaded curve of its own and never reads the global.
 */
const hasher = (): Promise<Poseidon> =>
  (poseidon ??= (async () => {
    const g = globalThis as { curve_bn128?: unknown };
    const snarkjsCurve = g.curve_bn128;
    const { buildPoseidon } = await import('circomlibjs');
    g.curve_bn128 ??= snarkjsCurve;
    return buildPoseidon();
  })());

/**
 * Hash of any number of field elements: Poseidon of the first 16, then each further block of up to 15
 * hashed with the running hash in front. The circuit's PoseidonChain(n) computes the same.
 */
export async function poseidonChain(elements: readonly bigint[]): Promise<bigint> {
  if (elements.length === 0) throw new RangeError('nothing to hash');
  const h = await hasher();
  const hash = (xs: readonly bigint[]) => h.F.toObject(h(xs.map(toField)));
  let acc = hash(elements.slice(0, POSEIDON_WIDTH));
  for (let i = POSEIDON_WIDTH; i < elements.length; i += POSEIDON_WIDTH - 1) acc = hash([acc, ...elements.slice(i, i + POSEIDON_WIDTH - 1)]);
  return acc;
}

/** The commitment to tensors packed by their specs, with the salt first when there is one. */
export function commit(tensors: readonly (readonly bigint[])[], specs: readonly PackedTensor[], salt?: bigint): Promise<bigint> {
  const chunks = tensors.flatMap((t, i) => packTensor(t, specs[i]));
  return poseidonChain(salt === undefined ? chunks : [salt, ...chunks]);
}

/** circomlib's partial rounds for Poseidon of 1..16 inputs (its poseidon.circom). */
const PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/**
 * Non-linear constraints of PoseidonChain(n) as zkinfer compiles it (circom --O1, src/model/compile.ts):
 * each Poseidon of k inputs has 8 full rounds of k + 1 S-boxes and its partial rounds, 3 constraints
 * per S-box. That includes the first S-box of the capacity element, which acts on a constant: --O2
 * folds its 3 constraints, --O1 keeps them (measured: 3 per Poseidon of the chain, on every model).
 */
export function poseidonChainConstraints(n: number): number {
  const poseidon = (k: number) => 3 * (8 * (k + 1) + PARTIAL_ROUNDS[k - 1]);
  let total = poseidon(Math.min(n, POSEIDON_WIDTH));
  for (let i = POSEIDON_WIDTH; i < n; i += POSEIDON_WIDTH - 1) total += poseidon(1 + Math.min(POSEIDON_WIDTH - 1, n - i));
  return total;
}
