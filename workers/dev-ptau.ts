/**
 * Worker half of the fast development ptau (src/setup/dev-ptau.ts, piscina): every point of a
 * development ptau is a known scalar times a bn128 generator, so this worker turns scalars into
 * points with fixed-base multiplication in ffjavascript's WebAssembly (the code snarkjs' own curve
 * runs), and computes the contribution key and first challenge hash.
 *
 * Fixed base (windowed, as in Brickell et al., "Fast exponentiation with precomputation", 1992):
 * a table T[w][d] = d·2^(cw)·G for windows of c bits turns one 254-bit scalar multiplication into
 * at most ⌈254/c⌉ mixed additions, where double-and-add takes 254 doublings and ~127 additions:
 * about 10× faster at c = 12. The caller picks c for the number of points (dev-ptau.ts
 * windowBits: a table costs ⌈254/c⌉·(2^c − 1) additions); a worker builds each table once.
 *
 * The worker loads ffjavascript 0.2 itself: its module body resets `globalThis.curve_bn128`,
 * harmless in a worker thread, which has its own globals.
 */
import { blake2b } from '@noble/hashes/blake2b';
// @ts-expect-error -- ffjavascript ships no type declarations; the part used here is typed below.
import { buildBn128 as buildBn128Untyped, ChaCha as ChaChaUntyped } from 'ffjavascript';
import type { DevPtauTask, KeyResult, PointsResult, ScalarSpec } from '../src/setup/dev-ptau.js';

type Point = Uint8Array;
interface GroupApi {
  g: Point;
  F: { n8: number };
  timesFr(p: Point, e: Uint8Array): Point;
  toAffine(p: Point): Point;
  fromRng(rng: unknown): Point;
  toRprLEM(buff: Uint8Array, offset: number, p: Point): void;
  toRprUncompressed(buff: Uint8Array, offset: number, p: Point): void;
}
interface Curve {
  G1: GroupApi;
  G2: GroupApi;
  Fr: { e(x: bigint): Uint8Array };
  tm: { code: Uint8Array<ArrayBuffer> };
}
const buildBn128 = buildBn128Untyped as (singleThread: boolean) => Promise<Curve>;
const ChaCha = ChaChaUntyped as new (seed: number[]) => unknown;

type Fn = (...args: number[]) => number;
const N8 = 32;
const SCALAR_BITS = 254;

const curve = await buildBn128(true);
/** Our own instance of the curve's WebAssembly, with a memory that grows (the single-threaded tm's does not). */
const memory = new WebAssembly.Memory({ initial: 32, maximum: 32767 });
const wasm = (await WebAssembly.instantiate(await WebAssembly.compile(curve.tm.code), { env: { memory } })).exports as Record<string, Fn>;
const u32 = () => new Uint32Array(memory.buffer, 0, 1);
const u8 = () => new Uint8Array(memory.buffer);

/**
 * Bump allocation from the free pointer the module keeps at address 0 (as ffjavascript's threads
 * do). The module's batch functions (batchToAffine, batchInverse) use the memory past that pointer
 * as scratch, as much as their input, so the memory always has that much room beyond the block.
 */
function alloc(length: number): number {
  const free = u32();
  const at = Math.ceil(free[0] / 8) * 8;
  const end = at + length;
  const need = end + length + 65536;
  if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  u32()[0] = end;
  return at;
}

/** Runs `work` with whatever it allocates freed afterwards. */
function scoped<T>(work: () => T): T {
  const mark = u32()[0];
  try {
    return work();
  } finally {
    u32()[0] = mark;
  }
}

interface Group {
  prefix: 'g1m' | 'g2m';
  /** Bytes of an affine (x, y) and a Jacobian (x, y, z) point. */
  sA: number;
  sJ: number;
  /** Table address by window width. */
  tables: Map<number, number>;
}
const groups: Record<'G1' | 'G2', Group> = {
  G1: { prefix: 'g1m', sA: 64, sJ: 96, tables: new Map() },
  G2: { prefix: 'g2m', sA: 128, sJ: 192, tables: new Map() },
};
const fn = (g: Group, name: string): Fn => wasm[`${g.prefix}_${name}`];

/** T[w][d-1] = d·2^(cw)·G as affine points in Montgomery form, built by repeated addition. */
function table(name: 'G1' | 'G2', bits: number): number {
  const g = groups[name];
  const known = g.tables.get(bits);
  if (known !== undefined) return known;
  const [windows, digits] = [Math.ceil(SCALAR_BITS / bits), (1 << bits) - 1];
  const count = windows * digits;
  const jac = alloc(count * g.sJ);
  const base = alloc(g.sA);
  u8().set(curve[name].toAffine(curve[name].g), base);
  const [addMixed, zero, toAffine] = [fn(g, 'addMixed'), fn(g, 'zero'), fn(g, 'batchToAffine')];
  for (let w = 0; w < windows; w++) {
    let prev = -1;
    for (let d = 0; d < digits; d++) {
      const at = jac + (w * digits + d) * g.sJ;
      if (prev < 0) zero(at);
      else wasm[`${g.prefix}_copy`](prev, at);
      addMixed(at, base, at);
      prev = at;
    }
    // The next window's base is 2^c times this one's: the last entry ((2^c − 1)·B) plus B.
    const next = alloc(g.sJ);
    addMixed(prev, base, next);
    wasm[`${g.prefix}_toAffine`](next, base);
  }
  // Affine in place: entry i moves from i·sJ to i·sA, never ahead of what is still to be read.
  toAffine(jac, count, jac);
  g.tables.set(bits, jac);
  return jac;
}

/** Writes `x` (0 ≤ x < r) at `at` in Montgomery form. */
function setFr(at: number, x: bigint): void {
  const view = u8();
  for (let i = 0; i < N8; i++, x >>= 8n) view[at + i] = Number(x & 0xffn);
  wasm.frm_toMontgomery(at, at);
}

/** The scalars of a task, in normal (non-Montgomery) little-endian form, `count`·32 bytes at the result. */
function scalars(spec: ScalarSpec): number {
  const out = alloc(spec.count * N8);
  const tmp = alloc(2 * N8);
  const [mul, add, sub] = [wasm.frm_mul, wasm.frm_add, wasm.frm_sub];
  if (spec.kind === 'powers') {
    // s_i = first · ratio^i
    setFr(out, spec.first);
    setFr(tmp, spec.ratio);
    for (let i = 1; i < spec.count; i++) mul(out + (i - 1) * N8, tmp, out + i * N8);
  } else {
    // s_j = x_j · (a / (tau − x_j) + b), x_j = x0 · w^j (see lagrangeSpec in dev-ptau.ts)
    const x = alloc(spec.count * N8);
    const [tau, a, b, w] = [alloc(N8), alloc(N8), alloc(N8), alloc(N8)];
    setFr(tau, spec.tau);
    setFr(a, spec.a);
    setFr(b, spec.b);
    setFr(w, spec.w);
    setFr(x, spec.x0);
    for (let j = 1; j < spec.count; j++) mul(x + (j - 1) * N8, w, x + j * N8);
    const d = alloc(spec.count * N8);
    for (let j = 0; j < spec.count; j++) sub(tau, x + j * N8, d + j * N8);
    wasm.frm_batchInverse(d, N8, spec.count, out, N8);
    for (let j = 0; j < spec.count; j++) {
      const s = out + j * N8;
      mul(a, s, tmp);
      add(tmp, b, tmp);
      mul(x + j * N8, tmp, s);
    }
  }
  wasm.frm_batchFromMontgomery(out, spec.count, out);
  return out;
}

/** Fixed-base multiples s_i·G: affine Montgomery points ("LEM", the layout of ptau sections). */
function points({ group: name, scalars: spec, hashForms, windowBits: bits }: Extract<DevPtauTask, { op: 'points' }>): PointsResult {
  const g = groups[name];
  const tab = table(name, bits);
  const [windows, digits] = [Math.ceil(SCALAR_BITS / bits), (1 << bits) - 1];
  return scoped(() => {
    const n = spec.count;
    const s = scalars(spec);
    const out = alloc(n * g.sJ + 4);
    const [addMixed, zero] = [fn(g, 'addMixed'), fn(g, 'zero')];
    for (let i = 0; i < n; i++) {
      const acc = out + i * g.sJ;
      zero(acc);
      const view = u8();
      const at = s + i * N8;
      for (let w = 0; w < windows; w++) {
        const bit = w * bits;
        const byte = at + (bit >> 3);
        // Three bytes cover any window of up to 16 bits (shift ≤ 7); past the scalar's 32 bytes the digits are zero.
        const word = view[byte] | ((bit >> 3) + 1 < N8 ? view[byte + 1] << 8 : 0) | ((bit >> 3) + 2 < N8 ? view[byte + 2] << 16 : 0);
        const digit = (word >> (bit & 7)) & digits;
        if (digit) addMixed(acc, tab + (w * digits + digit - 1) * g.sA, acc);
      }
    }
    fn(g, 'batchToAffine')(out, n, out);
    const lem = u8().slice(out, out + n * g.sA);
    if (!hashForms) return { lem };
    const conv = alloc(n * g.sA);
    fn(g, 'batchLEMtoU')(out, n, conv);
    const u = u8().slice(conv, conv + n * g.sA);
    fn(g, 'batchLEMtoC')(out, n, conv);
    const c = u8().slice(conv, conv + (n * g.sA) / 2);
    return { lem, u, c };
  });
}

/**
 * The contribution's public key, as snarkjs' keypair.js builds it: for each secret x (tau, alpha,
 * beta) a G1 pair (s, s·x), and s·x's G2 partner g2_sp·x where g2_sp is hashed to the curve from
 * blake2b(personalisation ‖ challenge ‖ s ‖ s·x) through ChaCha (this is what `powersoftau verify`
 * recomputes). Also the first challenge hash (blake2b of the blank accumulator), which the key binds.
 */
function key(task: Extract<DevPtauTask, { op: 'key' }>): KeyResult {
  const { G1, G2, Fr } = curve;
  const firstChallenge = firstChallengeHash(task.power);
  const lemG1 = (p: Point) => rpr(G1, 'toRprLEM', p);
  const lemG2 = (p: Point) => rpr(G2, 'toRprLEM', p);
  const secrets = [task.tau, task.alpha, task.beta];
  const g1 = secrets.map((x, i) => {
    const s = G1.toAffine(G1.timesFr(G1.g, Fr.e(task.blinds[i])));
    return { s, sx: G1.toAffine(G1.timesFr(s, Fr.e(x))) };
  });
  const g2spx = secrets.map((x, i) => {
    const h = blake2b.create({ dkLen: 64 });
    h.update(new Uint8Array([i]));
    h.update(firstChallenge);
    h.update(rpr(G1, 'toRprUncompressed', g1[i].s));
    h.update(rpr(G1, 'toRprUncompressed', g1[i].sx));
    const hash = h.digest();
    const view = new DataView(hash.buffer, hash.byteOffset, hash.byteLength);
    const seed = Array.from({ length: 8 }, (_, k) => view.getUint32(k * 4));
    const sp = G2.toAffine(G2.fromRng(new ChaCha(seed)));
    return G2.toAffine(G2.timesFr(sp, Fr.e(x)));
  });
  const pubKey = (form: 'toRprLEM' | 'toRprUncompressed') =>
    concat([...g1.flatMap(({ s, sx }) => [rpr(G1, form, s), rpr(G1, form, sx)]), ...g2spx.map((p) => rpr(G2, form, p))]);
  const times = (G: GroupApi, x: bigint) => G.toAffine(G.timesFr(G.g, Fr.e(x)));
  return {
    firstChallenge,
    points: concat([
      lemG1(times(G1, task.tau)),
      lemG2(times(G2, task.tau)),
      lemG1(times(G1, task.alpha)),
      lemG1(times(G1, task.beta)),
      lemG2(times(G2, task.beta)),
    ]),
    pubKeyLEM: pubKey('toRprLEM'),
    pubKeyU: pubKey('toRprUncompressed'),
  };
}

/**
 * blake2b-512 of a blank accumulator of this power (every point a generator, section order 2..6,
 * uncompressed), after the hash of nothing: the challenge a first contribution answers
 * (snarkjs powersoftau_utils calculateFirstChallengeHash).
 */
function firstChallengeHash(power: number): Uint8Array {
  const h = blake2b.create({ dkLen: 64 });
  h.update(blake2b.create({ dkLen: 64 }).digest());
  const g1 = rpr(curve.G1, 'toRprUncompressed', curve.G1.g);
  const g2 = rpr(curve.G2, 'toRprUncompressed', curve.G2.g);
  const repeat = (p: Uint8Array, n: number) => {
    const perBlock = 16384;
    const block = new Uint8Array(perBlock * p.length);
    for (let i = 0; i < perBlock; i++) block.set(p, i * p.length);
    for (let done = 0; done < n; done += perBlock) h.update(block.subarray(0, Math.min(perBlock, n - done) * p.length));
  };
  const n = 2 ** power;
  repeat(g1, 2 * n - 1);
  repeat(g2, n);
  repeat(g1, n);
  repeat(g1, n);
  h.update(g2);
  return h.digest();
}

function rpr(G: GroupApi, form: 'toRprLEM' | 'toRprUncompressed', p: Point): Uint8Array {
  const buff = new Uint8Array(G.F.n8 * 2);
  G[form](buff, 0, p);
  return buff;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export default function devPtau(task: DevPtauTask): KeyResult | PointsResult {
  return task.op === 'key' ? key(task) : points(task);
}
