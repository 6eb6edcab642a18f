/**
 * Fast INSECURE development ptau: a prepared powers-of-tau file computed directly from its secrets.
 *
 * snarkjs makes one with `new` + `contribute` + `prepare phase2`, and 90 % of that is prepare's FFTs
 * over curve points (every butterfly a full scalar multiplication: power 13 took 13 minutes here).
 * A development file's secrets (tau, alpha, beta) are known by construction, so every point is a
 * scalar we can compute in the field times a generator: tau^i·G for sections 2–6, and for the
 * Lagrange sections 12–15 L_j(tau)·G, where for the domain of size n = 2^p with root w
 *   L_j(tau) = (w^j / n) · (tau^n − 1) / (tau − w^j)
 * (the Lagrange basis polynomial of w^j; Lagrange form of the identity x^n − 1 = Π (x − w^k)).
 * The workers (workers/dev-ptau.ts) turn scalars into points with fixed-base multiplication.
 *
 * The output is the standard snarkjs ptau, byte for byte what `prepare phase2` writes for the same
 * contribution (a test checks this), and passes `snarkjs powersoftau verify`: sections 1–7 and 12–15
 * as described in snarkjs' powersoftau_new.js, one contribution whose public key and hashes are made
 * as powersoftau_contribute.js makes them. The secrets live in this process's memory while it runs,
 * which is why the file is for development only.
 */
import { randomBytes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { blake2b } from '@noble/hashes/blake2b';
import { Piscina } from 'piscina';
import { ZkError } from '../core/errors.js';
import { BASE_FIELD_PRIME, FIELD_PRIME as R } from '../core/snarkjs.js';

/** Scalars of one worker task: `count` consecutive values of a geometric or a Lagrange sequence. */
export type ScalarSpec =
  /** s_i = first · ratio^i */
  | { kind: 'powers'; first: bigint; ratio: bigint; count: number }
  /** s_j = x_j · (a / (tau − x_j) + b), with x_j = x0 · w^j */
  | { kind: 'lagrange'; tau: bigint; a: bigint; b: bigint; x0: bigint; w: bigint; count: number };

export type DevPtauTask =
  | { op: 'key'; power: number; tau: bigint; alpha: bigint; beta: bigint; blinds: bigint[] }
  | { op: 'points'; group: 'G1' | 'G2'; scalars: ScalarSpec; hashForms: boolean; windowBits: number };

/** Affine points in Montgomery form ("LEM"); with hashForms also uncompressed (u) and compressed (c). */
export interface PointsResult {
  lem: Uint8Array;
  u?: Uint8Array;
  c?: Uint8Array;
}

export interface KeyResult {
  firstChallenge: Uint8Array;
  /** tau·G1, tau·G2, alpha·G1, beta·G1, beta·G2 (LEM), the contribution record's points. */
  points: Uint8Array;
  pubKeyLEM: Uint8Array;
  pubKeyU: Uint8Array;
}

const CONTRIBUTION_NAME = 'zkinfer development (INSECURE)';
/** Points per worker task: big enough to hide messaging, small enough to spread over the workers. */
const CHUNK = 1 << 13;
/** A G2 point costs about 3.6 G1 points (measured); progress counts in G1 points. */
const G2_WEIGHT = 3.6;
const G1_BYTES = 64;
const G2_BYTES = 128;
const CONTRIBUTION_BYTES = 3 * G1_BYTES + 2 * G2_BYTES + (6 * G1_BYTES + 3 * G2_BYTES) + 216 + 64 + 4;

/**
 * Writes a phase-2-ready development ptau of `power` (1..27) to `file`, with fresh random secrets.
 * `progress(fraction)` is called as the work advances (0..1). Uses `threads` worker threads
 * (default: every core). Throws on I/O errors; the caller writes to a temp name and renames.
 */
export async function writeDevPtau(file: string, power: number, opts: { progress?: (fraction: number) => void; threads?: number } = {}): Promise<void> {
  // Section 12 holds a domain of 2^(power+1), and bn128's largest is 2^28.
  if (!Number.isInteger(power) || power < 1 || power > TWO_ADICITY - 1) {
    throw new ZkError('INTERNAL', `a development ptau needs a power in 1..${TWO_ADICITY - 1}, got ${power}`);
  }
  const threads = opts.threads ?? availableParallelism();
  const pool = new Piscina({
    filename: new URL('../../workers/dev-ptau.js', import.meta.url).href,
    // ffjavascript loads web-worker, which takes any worker without workerData for one of its own.
    workerData: {},
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    atomics: 'disabled',
  });
  const fh = await open(file, 'w');
  try {
    await writeFile(fh, power, pool, threads, opts.progress ?? (() => {}));
  } finally {
    await fh.close();
    await pool.destroy();
  }
}

async function writeFile(fh: FileHandle, power: number, pool: Piscina, threads: number, progress: (f: number) => void): Promise<void> {
  const n = 2 ** power;
  const [tau, alpha, beta] = [randomTau(power), randomScalar(), randomScalar()];
  const key = (await pool.run({
    op: 'key',
    power,
    tau,
    alpha,
    beta,
    blinds: [randomScalar(), randomScalar(), randomScalar()],
  } satisfies DevPtauTask)) as KeyResult;

  const sections = layout(power);
  const total = sections.reduce((sum, s) => sum + s.weight, 0);
  let done = 0;
  const out = binWriter(fh);
  await out.header(sections.length);
  const header = Buffer.alloc(44);
  header.writeUInt32LE(32, 0);
  toLE(BASE_FIELD_PRIME, 32).copy(header, 4);
  header.writeUInt32LE(power, 36);
  header.writeUInt32LE(power, 40);
  await out.section(1, header);

  // Sections 2–6: the powers. Their compressed forms make the contribution's response hash, their
  // uncompressed forms (kept until the response hash is known) the next challenge hash.
  const response = blake2b.create({ dkLen: 64 });
  response.update(key.firstChallenge);
  const uncompressed: Uint8Array[] = [];
  // Points per worker: 12n in G1, 3n in G2 over the whole file.
  const windowBits = { G1: bestWindow((12 * n) / threads), G2: bestWindow((3 * n) / threads) };
  const powers = (id: number, group: 'G1' | 'G2', first: bigint, count: number) => ({
    id,
    tasks: chunks(count, (start, size) => ({
      op: 'points' as const,
      group,
      hashForms: true,
      windowBits: windowBits[group],
      scalars: { kind: 'powers' as const, first: mul(first, pow(tau, BigInt(start))), ratio: tau, count: size },
    })),
  });
  const lagrange = (id: number, group: 'G1' | 'G2', factor: bigint, maxP: number) => ({
    id,
    tasks: Array.from({ length: maxP + 1 }, (_, p) => lagrangeTasks(group, windowBits[group], tau, factor, p, p === power + 1)).flat(),
  });
  const run = async ({ id, tasks }: { id: number; tasks: DevPtauTask[] }) => {
    await out.startSection(id);
    await inOrder(pool, tasks, 2 * threads, async (task, result) => {
      await out.write(result.lem);
      if (result.c) response.update(result.c);
      if (result.u) uncompressed.push(result.u);
      if (task.op === 'points') done += task.scalars.count * (task.group === 'G2' ? G2_WEIGHT : 1);
      progress(done / total);
    });
    await out.endSection();
  };
  await run(powers(2, 'G1', 1n, 2 * n - 1));
  await run(powers(3, 'G2', 1n, n));
  await run(powers(4, 'G1', alpha, n));
  await run(powers(5, 'G1', beta, n));
  await run(powers(6, 'G2', beta, 1));

  const partialHash = toPartialHash(response);
  response.update(key.pubKeyU);
  const next = blake2b.create({ dkLen: 64 });
  next.update(response.digest());
  for (const u of uncompressed.splice(0)) next.update(u);
  await out.section(7, contributionSection(key, partialHash, next.digest()));

  await run(lagrange(12, 'G1', 1n, power + 1));
  await run(lagrange(13, 'G2', 1n, power));
  await run(lagrange(14, 'G1', alpha, power));
  await run(lagrange(15, 'G1', beta, power));
}

/** Section ids in file order with their work in G1-point units (for progress). */
function layout(power: number): { id: number; weight: number }[] {
  const n = 2 ** power;
  return [
    { id: 1, weight: 0 },
    { id: 2, weight: 2 * n - 1 },
    { id: 3, weight: n * G2_WEIGHT },
    { id: 4, weight: n },
    { id: 5, weight: n },
    { id: 6, weight: G2_WEIGHT },
    { id: 7, weight: 0 },
    { id: 12, weight: 4 * n - 1 },
    { id: 13, weight: (2 * n - 1) * G2_WEIGHT },
    { id: 14, weight: 2 * n - 1 },
    { id: 15, weight: 2 * n - 1 },
  ];
}

/**
 * Tasks for the Lagrange points of the domain of size n = 2^p, times `factor` (1, alpha or beta).
 * snarkjs' prepare phase2 gets them as the inverse FFT of (tau^0 .. tau^(n−1))·G. For the extra
 * domain of section 12 (p = power + 1) the file holds only n − 1 tau powers, and prepare
 * treats the missing last one as zero, so its points lose that power's share:
 * L_j(tau) − tau^(n−1)·w^j/n. Both are x_j·(a/(tau − x_j) + b) with x_j = w^j:
 *   a = factor·(tau^n − 1)/n,  b = 0, or b = −factor·tau^(n−1)/n for the extra domain.
 */
function lagrangeTasks(group: 'G1' | 'G2', windowBits: number, tau: bigint, factor: bigint, p: number, lastPowerMissing: boolean): DevPtauTask[] {
  const n = 2 ** p;
  const nInv = inv(BigInt(n));
  const w = rootOfUnity(p);
  const a = mul(factor, mul(sub(pow(tau, BigInt(n)), 1n), nInv));
  const b = lastPowerMissing ? sub(0n, mul(factor, mul(pow(tau, BigInt(n - 1)), nInv))) : 0n;
  return chunks(n, (start, size) => ({
    op: 'points',
    group,
    hashForms: false,
    windowBits,
    scalars: { kind: 'lagrange', tau, a, b, x0: pow(w, BigInt(start)), w, count: size },
  }));
}

/**
 * Window width c for fixed-base multiplication of `points` points in one worker: each costs
 * ⌈254/c⌉ additions and the table ⌈254/c⌉·(2^c − 1), so c grows with the work, up to 14 (a G2 table
 * of 19·16383 points, 40 MB per worker).
 */
function bestWindow(points: number): number {
  let best = 4;
  const cost = (c: number) => Math.ceil(254 / c) * (2 ** c - 1 + points);
  for (let c = 5; c <= 14; c++) if (cost(c) < cost(best)) best = c;
  return best;
}

function chunks<T>(count: number, make: (start: number, size: number) => T): T[] {
  const out: T[] = [];
  for (let start = 0; start < count; start += CHUNK) out.push(make(start, Math.min(CHUNK, count - start)));
  return out;
}

/** Runs tasks with at most `limit` in flight and hands results over in task order. */
async function inOrder(pool: Piscina, tasks: DevPtauTask[], limit: number, each: (task: DevPtauTask, result: PointsResult) => Promise<void>): Promise<void> {
  const running: Promise<PointsResult>[] = [];
  let next = 0;
  const launch = () => {
    while (running.length < limit && next < tasks.length) running.push(pool.run(tasks[next++]));
  };
  launch();
  for (let i = 0; i < tasks.length; i++) {
    const result = await running.shift()!;
    launch();
    await each(tasks[i], result);
  }
}

/** The contribution section: one contribution (powersoftau_utils writeContribution's layout). */
function contributionSection(key: KeyResult, partialHash: Uint8Array, nextChallenge: Uint8Array): Buffer {
  const name = Buffer.from(CONTRIBUTION_NAME, 'utf8');
  const params = Buffer.concat([Buffer.from([1, name.length]), name]);
  const out = Buffer.alloc(4 + CONTRIBUTION_BYTES + 4 + params.length);
  let at = out.writeUInt32LE(1, 0);
  for (const part of [key.points, key.pubKeyLEM, partialHash, nextChallenge]) at += Buffer.from(part).copy(out, at);
  at = out.writeUInt32LE(0, at); // type 0: a contribution, not a beacon
  at = out.writeUInt32LE(params.length, at);
  params.copy(out, at);
  return out;
}

/**
 * The 216-byte saved blake2b state snarkjs stores as a contribution's "partialHash" (misc.js
 * toPartialHash): the 128-byte pending block, the eight 64-bit chaining words as (low, high) u32
 * pairs, then the byte count already compressed and the pending byte count, little-endian.
 * `powersoftau verify` resumes this state and hashes the public key to get the response hash.
 */
function toPartialHash(hash: ReturnType<typeof blake2b.create>): Uint8Array {
  const state = hash as unknown as { buffer: Uint8Array; pos: number; length: number; get(): number[] };
  const out = Buffer.alloc(216);
  Buffer.from(state.buffer).copy(out, 0);
  state.get().forEach((word, i) => out.writeUInt32LE(word >>> 0, 128 + 4 * i));
  out.writeUInt32LE(state.length - state.pos, 128 + 64);
  out.writeUInt32LE(state.pos, 128 + 72);
  return out;
}

/** An iden3 binary file written front to back; section sizes are patched in when a section ends. */
function binWriter(fh: FileHandle) {
  let pos = 0;
  let sectionStart = -1;
  const write = async (data: Uint8Array) => {
    await fh.write(data, 0, data.length, pos);
    pos += data.length;
  };
  const startSection = async (id: number) => {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(id, 0);
    await write(head);
    sectionStart = pos;
  };
  const endSection = async () => {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(pos - sectionStart));
    await fh.write(size, 0, 8, sectionStart - 8);
  };
  return {
    write,
    startSection,
    endSection,
    header: (nSections: number) => {
      const head = Buffer.alloc(12);
      head.write('ptau', 0, 'latin1');
      head.writeUInt32LE(1, 4);
      head.writeUInt32LE(nSections, 8);
      return write(head);
    },
    section: async (id: number, data: Uint8Array) => {
      await startSection(id);
      await write(data);
      await endSection();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scalar field arithmetic (a handful of values per task; the per-point work runs in the workers)
// ---------------------------------------------------------------------------------------------

const mod = (x: bigint) => ((x % R) + R) % R;
const mul = (x: bigint, y: bigint) => (x * y) % R;
const sub = (x: bigint, y: bigint) => mod(x - y);
function pow(x: bigint, e: bigint): bigint {
  let result = 1n;
  for (let base = mod(x); e > 0n; e >>= 1n, base = mul(base, base)) if (e & 1n) result = mul(result, base);
  return result;
}
const inv = (x: bigint) => pow(x, R - 2n);

/** 2-adicity of r − 1 and its odd part: r − 1 = 2^28 · t. */
const TWO_ADICITY = 28;
const ODD_PART = (R - 1n) >> BigInt(TWO_ADICITY);
/**
 * The primitive 2^p-th root of unity ffjavascript's FFT uses (F1Field: the smallest quadratic
 * non-residue g, w_28 = g^t, w_p = w_28^(2^(28−p))), so Lagrange points match snarkjs' order.
 */
function rootOfUnity(p: number): bigint {
  let g = 2n;
  while (pow(g, (R - 1n) / 2n) !== R - 1n) g++;
  return pow(pow(g, ODD_PART), 2n ** BigInt(TWO_ADICITY - p));
}

function randomScalar(): bigint {
  for (;;) {
    const x = BigInt(`0x${randomBytes(40).toString('hex')}`) % R;
    if (x !== 0n) return x;
  }
}

/** tau must not be a 2^(power+1)-th root of unity: L_j(tau) would divide by zero. */
function randomTau(power: number): bigint {
  for (;;) {
    const tau = randomScalar();
    if (pow(tau, 2n ** BigInt(power + 1)) !== 1n) return tau;
  }
}

function toLE(x: bigint, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}
