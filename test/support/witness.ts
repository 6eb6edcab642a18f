/**
 * Witness-level tools for the soundness tests: compile a small circom program, write witnesses in
 * snarkjs' .wtns format, and check that changing any single witness entry breaks the R1CS.
 *
 * circom's --O2 keeps in the witness only the signals the constraints still need (the others are
 * substituted away through linear constraints), so "every non-constant witness entry, changed alone,
 * breaks some constraint" is exactly "no kept signal is left unconstrained".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileCircom, type CompiledCircuit } from '../../src/circuit/compile.js';
import { FIELD_PRIME, buildWitnessCalculator, snarkjs, toField, type WitnessCalculator } from '../../src/core/snarkjs.js';
import { tempDir } from './env.js';

export interface Snippet extends CompiledCircuit {
  /** The build directory (main.circom, main.r1cs, main.sym, main_js/). */
  dir: string;
  /** A witness calculator over the compiled wasm. */
  witness: WitnessCalculator;
  /** main.sym: signal name → witness index (−1 when the optimiser eliminated the signal). */
  symbols: Map<string, number>;
}

/** Compiles a small circom program (includes `zkinfer/fixedpoint.circom`, `circomlib/circuits/…`) in a fresh temp dir. */
export async function compileSnippet(code: string): Promise<Snippet> {
  const dir = tempDir('snippet');
  const compiled = await compileCircom(dir, code);
  const witness = await buildWitnessCalculator(readFileSync(compiled.wasmPath));
  return { ...compiled, dir, witness, symbols: readSymbols(compiled.symPath) };
}

/** Parses circom's .sym file: lines `labelIdx,witnessIdx,componentIdx,name`. */
export function readSymbols(symPath: string): Map<string, number> {
  const symbols = new Map<string, number>();
  for (const line of readFileSync(symPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [, witnessIdx, , ...name] = line.split(',');
    symbols.set(name.join(','), Number(witnessIdx));
  }
  return symbols;
}

/** The witness index of a signal that survived optimisation; throws for unknown or eliminated ones. */
export function witnessIndex(symbols: ReadonlyMap<string, number>, name: string): number {
  const idx = symbols.get(name);
  if (idx === undefined) throw new Error(`no signal ${name} in the .sym file`);
  if (idx < 0) throw new Error(`signal ${name} was eliminated by the optimiser: it has no witness entry`);
  return idx;
}

/** Witness index → signal name(s), for readable failure messages. */
export function namesByIndex(symbols: ReadonlyMap<string, number>): Map<number, string> {
  const names = new Map<number, string>();
  for (const [name, idx] of symbols) if (idx >= 0) names.set(idx, names.has(idx) ? `${names.get(idx)} = ${name}` : name);
  return names;
}

/**
 * The full witness for a named assignment of signals: each signal kept in the witness takes its
 * value from `values` (all must be given); entry 0 is the constant 1. Eliminated signals are
 * implied by the kept ones, so an assignment that satisfies the linear relations maps faithfully.
 */
export function witnessFromAssignment(symbols: ReadonlyMap<string, number>, size: number, values: ReadonlyMap<string, bigint>): bigint[] {
  const w = new Array<bigint | undefined>(size).fill(undefined);
  w[0] = 1n;
  for (const [name, idx] of symbols) {
    if (idx < 0) continue;
    const v = values.get(name);
    if (v === undefined) throw new Error(`the assignment has no value for ${name} (witness entry ${idx})`);
    w[idx] = toField(v);
  }
  const missing = w.flatMap((v, i) => (v === undefined ? [i] : []));
  if (missing.length) throw new Error(`witness entries ${missing.join(', ')} have no signal in the .sym file`);
  return w as bigint[];
}

const N8 = 32;

/**
 * snarkjs' .wtns binary (see snarkjs/src/wtns_utils.js): magic "wtns", version 2, 2 sections, each
 * a u32 type and u64 byte length; section 1 = n8 (32), the prime (n8 bytes LE), nWitness (u32);
 * section 2 = the values as n8-byte little-endian field elements. Values are reduced mod p, so
 * signed integers may be given.
 */
export function encodeWtns(values: readonly bigint[]): Uint8Array {
  const section1 = 4 + N8 + 4;
  const section2 = N8 * values.length;
  const out = new Uint8Array(12 + 12 + section1 + 12 + section2);
  const view = new DataView(out.buffer);
  let pos = 0;
  const u32 = (v: number) => {
    view.setUint32(pos, v, true);
    pos += 4;
  };
  const u64 = (v: number) => {
    view.setBigUint64(pos, BigInt(v), true);
    pos += 8;
  };
  const element = (v: bigint) => {
    let x = v;
    for (let i = 0; i < N8; i++, x >>= 8n) out[pos++] = Number(x & 0xffn);
  };
  for (const c of 'wtns') out[pos++] = c.charCodeAt(0);
  u32(2);
  u32(2);
  u32(1);
  u64(section1);
  u32(N8);
  element(FIELD_PRIME);
  u32(values.length);
  u32(2);
  u64(section2);
  for (const v of values) element(toField(v));
  return out;
}

/** snarkjs.wtns.check logs through its logger, and calls logger.warn unguarded when a constraint fails. */
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/** snarkjs.wtns.check of a witness given as values. */
export async function witnessSatisfies(r1cs: string | Uint8Array, witness: readonly bigint[]): Promise<boolean> {
  return snarkjs.wtns.check(r1cs, encodeWtns(witness), SILENT);
}

/** 1, 2, …, size − 1: every witness entry but the constant. */
export const nonConstantIndices = (size: number): number[] => Array.from({ length: size - 1 }, (_, i) => i + 1);

/**
 * Asserts with snarkjs.wtns.check that the witness satisfies the R1CS and that, for each given
 * index ≥ 1, the witness with that one entry increased by 1 (mod p) does not. Returns the number of
 * tampered witnesses checked.
 */
export async function tamperedWitnessesFail(
  r1csPath: string,
  witness: readonly bigint[],
  indices: Iterable<number>,
  names?: ReadonlyMap<number, string>,
): Promise<number> {
  const r1cs = new Uint8Array(readFileSync(r1csPath));
  assert.equal(await witnessSatisfies(r1cs, witness), true, 'the untampered witness must satisfy the R1CS');
  const survivors: number[] = [];
  let checked = 0;
  for (const i of indices) {
    assert.ok(Number.isInteger(i) && i >= 1 && i < witness.length, `${i} is not a non-constant witness index (1..${witness.length - 1})`);
    const tampered = [...witness];
    tampered[i] = (witness[i] + 1n) % FIELD_PRIME;
    if (await witnessSatisfies(r1cs, tampered)) survivors.push(i);
    checked++;
  }
  assert.equal(survivors.length, 0, `unconstrained witness entries (changing one alone still satisfies every constraint): ${describe(survivors, names)}`);
  return checked;
}

const describe = (indices: readonly number[], names?: ReadonlyMap<number, string>): string =>
  indices.map((i) => (names?.has(i) ? `${i} (${names.get(i)})` : String(i))).join(', ');

// ---------------------------------------------------------------------------------------------
// A direct R1CS evaluator: the same check as snarkjs.wtns.check (A·B − C = 0 for every constraint),
// on a parsed constraint list, so that thousands of single-entry tamperings of a model's witness
// can be checked incrementally (only the constraints that mention the changed entry are re-evaluated).
// ---------------------------------------------------------------------------------------------

/** A linear combination: [witness index, coefficient] pairs. */
export type LinearCombination = Array<[number, bigint]>;

export interface R1cs {
  prime: bigint;
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  constraints: Array<[LinearCombination, LinearCombination, LinearCombination]>;
}

/** Parses an .r1cs file (iden3 binfile "r1cs", version 1: section 1 header, section 2 constraints). */
export function readR1cs(path: string): R1cs {
  const buf = readFileSync(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.subarray(0, 4).toString('latin1') !== 'r1cs') throw new Error(`${path} is not an r1cs file`);
  const sections = new Map<number, { at: number; size: number }>();
  let pos = 12;
  for (let s = 0, n = view.getUint32(8, true); s < n; s++) {
    const type = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    sections.set(type, { at: pos + 12, size });
    pos += 12 + size;
  }
  const header = sections.get(1);
  const body = sections.get(2);
  if (!header || !body) throw new Error(`${path} lacks the header or constraint section`);
  const element = (at: number, n8: number): bigint => {
    let x = 0n;
    for (let i = n8 - 1; i >= 0; i--) x = (x << 8n) | BigInt(buf[at + i]);
    return x;
  };
  pos = header.at;
  const n8 = view.getUint32(pos, true);
  const prime = element(pos + 4, n8);
  pos += 4 + n8;
  const [nWires, nPubOut, nPubIn, nPrvIn] = [0, 4, 8, 12].map((o) => view.getUint32(pos + o, true));
  const nConstraints = view.getUint32(pos + 24, true);
  pos = body.at;
  const lc = (): LinearCombination => {
    const n = view.getUint32(pos, true);
    pos += 4;
    const terms: LinearCombination = [];
    for (let t = 0; t < n; t++, pos += 4 + n8) terms.push([view.getUint32(pos, true), element(pos + 4, n8)]);
    return terms;
  };
  const constraints: R1cs['constraints'] = [];
  for (let c = 0; c < nConstraints; c++) constraints.push([lc(), lc(), lc()]);
  if (pos !== body.at + body.size) throw new Error(`${path}: constraint section size mismatch`);
  return { prime, nWires, nPubOut, nPubIn, nPrvIn, constraints };
}

const evalLc = (lc: LinearCombination, w: readonly bigint[], p: bigint): bigint => {
  let acc = 0n;
  for (const [i, c] of lc) acc += c * w[i];
  return acc % p;
};

/** Indices of the constraints the witness violates (A·B − C ≠ 0 mod p). */
export function failingConstraints(r1cs: R1cs, witness: readonly bigint[]): number[] {
  const p = r1cs.prime;
  assert.equal(witness.length, r1cs.nWires, 'witness length must equal the number of wires');
  return r1cs.constraints.flatMap(([a, b, c], j) => ((evalLc(a, witness, p) * evalLc(b, witness, p) - evalLc(c, witness, p)) % p === 0n ? [] : [j]));
}

/**
 * For each given index, whether the witness with that entry increased by 1 still satisfies every
 * constraint; returns those indices (the unconstrained entries). The witness itself must satisfy
 * the R1CS. Exact: with A·B = C, the changed constraint holds iff a·B + b·A + a·b − c = 0, where
 * a, b, c are the entry's coefficients in A, B, C.
 */
export function singleTamperSurvivors(r1cs: R1cs, witness: readonly bigint[], indices: Iterable<number>): number[] {
  const p = r1cs.prime;
  assert.deepEqual(failingConstraints(r1cs, witness), [], 'the untampered witness must satisfy the R1CS');
  const values = r1cs.constraints.map(([a, b]) => [evalLc(a, witness, p), evalLc(b, witness, p)] as const);
  const occurrences = new Map<number, Map<number, [bigint, bigint, bigint]>>();
  r1cs.constraints.forEach((lcs, j) =>
    lcs.forEach((lc, part) =>
      lc.forEach(([i, coef]) => {
        let byConstraint = occurrences.get(i);
        if (!byConstraint) occurrences.set(i, (byConstraint = new Map()));
        let coefs = byConstraint.get(j);
        if (!coefs) byConstraint.set(j, (coefs = [0n, 0n, 0n]));
        coefs[part] = (coefs[part] + coef) % p;
      }),
    ),
  );
  const survivors: number[] = [];
  for (const i of indices) {
    let broken = false;
    for (const [j, [a, b, c]] of occurrences.get(i) ?? []) {
      const [A, B] = values[j];
      if ((a * B + b * A + a * b - c) % p !== 0n) {
        broken = true;
        break;
      }
    }
    if (!broken) survivors.push(i);
  }
  return survivors;
}

/** Runs fn with console.error/console.log muted (circom's witness calculator prints every failed assert). */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { error, log } = console;
  console.error = () => {};
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.error = error;
    console.log = log;
  }
}
