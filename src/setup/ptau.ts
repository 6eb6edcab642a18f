/**
 * Powers-of-tau (phase 1) management: sizing, inspecting, importing public ceremony files and
 * generating INSECURE development files.
 *
 * The shared bn128 curve (globalThis.curve_bn128) is deliberately never terminated here: other
 * concurrent calls in the same process may be using it. Whoever owns the process (CLI entry point,
 * worker, test) must `await globalThis.curve_bn128?.terminate()` before exiting.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
// @ts-ignore -- snarkjs ships no type declarations; the part used here is typed below.
import * as snarkjsUntyped from 'snarkjs';
import { ZkError, type ZkErrorCode } from '../core/errors.js';
import { BASE_FIELD_PRIME, type ProofSystem } from '../core/snarkjs.js';
import { type CeremonyFile, ceremonyFileFor, describeCeremonyFile, recogniseCeremonyFile } from './ptau-files.js';

/** The logger shape snarkjs calls into (some calls use `log`, the rest debug..error). */
export interface SnarkjsLogger {
  log(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

interface PowersOfTauApi {
  truncate(file: string, template: string, logger?: SnarkjsLogger): Promise<boolean>;
  verify(file: string, logger?: SnarkjsLogger): Promise<boolean>;
}

const snarkjs = snarkjsUntyped as unknown as { powersOfTau: PowersOfTauApi };

export interface PtauInfo {
  power: number;
  /** Whether the Lagrange sections (12..15) that Groth16 phase 2 needs are present. */
  prepared: boolean;
  contributions: number;
  /** Power of the ceremony the file comes from; larger than `power` for truncated files. */
  ceremonyPower: number;
}

/** bn128's scalar field has 2-adicity 28, so no FFT domain (hence no ptau) can exceed 2^28. */
const MAX_POWER = 28;
const MIN_POWER = 8;
const G1_BYTES = 64;
const G2_BYTES = 128;

/**
 * Smallest ptau power a proof system can use for a circuit; never below 8, so tiny circuits share
 * one file. `plonkGates` (see r1cs.ts countPlonkGates) is required for PLONK and FFLONK.
 * - Groth16: snarkjs' newZKey computes `cirPower = log2(nConstraints + nPubInputs + nOutputs) + 1`
 *   (integer log2) and rejects when `cirPower > ptauPower`: the smallest p with
 *   2^p >= nConstraints + nPublic + 1.
 * - PLONK: plonk_setup's `cirPower = log2(gates - 1) + 1` (at least 3) must not exceed the power:
 *   the smallest p with 2^p >= gates.
 * - FFLONK: fflonk_setup's domain is the smallest 2^c >= gates + 2 (two blinding rows, c >= 3), and
 *   it reads 9·2^c + 18 powers of tau in G1, of which a ptau of power p has 2^(p+1) − 1: so about
 *   c + 3.
 */
export function requiredPower(nConstraints: number, nPublic: number, system: ProofSystem = 'groth16', plonkGates?: number): number {
  for (const [name, v] of [['nConstraints', nConstraints], ['nPublic', nPublic], ['plonkGates', plonkGates ?? 0]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ZkError('INTERNAL', `requiredPower: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  if (system !== 'groth16' && plonkGates === undefined) throw new ZkError('INTERNAL', `requiredPower: ${system} needs the PLONK gate count`);
  const log2Ceil = (n: number): number => {
    let p = 0;
    while (2 ** p < n) p++;
    return p;
  };
  let power: number;
  if (system === 'groth16') power = log2Ceil(nConstraints + nPublic + 1);
  else if (system === 'plonk') power = Math.max(3, log2Ceil(plonkGates!));
  else {
    const domain = 2 ** Math.max(3, log2Ceil(plonkGates! + 2));
    power = log2Ceil((9 * domain + 18 + 1) / 2);
  }
  return Math.max(MIN_POWER, power);
}

export { MAX_DEV_PTAU_POWER } from '../core/systems.js';

/**
 * Refuses (TOO_LARGE) a circuit that needs a ptau above `limit` (the development cap, or a given
 * file's power), before any work: the message names the power needed and the way out.
 */
export function checkPtauBudget(needed: number, limit: number, constraints?: number): void {
  if (needed <= limit) return;
  throw new ZkError(
    'TOO_LARGE',
    `the circuit${constraints === undefined ? '' : ` (${constraints} constraints)`} needs a powers-of-tau file of power ${needed}, above the limit of ${limit}: ` +
      `development ptau files are generated up to ZKINFER_MAX_PTAU_POWER (--max-power); give a ceremony file of power ${needed} or more with --ptau FILE (service: ZKINFER_PTAU)`,
    { requiredPower: needed, limit },
  );
}

/** Throws PTAU_INVALID when the file's power is below what the circuit needs. */
export function checkPtauFits(info: { power: number }, required: number): void {
  if (info.power >= required) return;
  throw new ZkError(
    'PTAU_INVALID',
    `powers-of-tau file has power ${info.power} (up to 2^${info.power} constraints) but the circuit ` +
      `needs power ${required}; use a ptau of power ${required} or more` +
      (ceremonyFileFor(required) ? `, e.g. the public ${describeCeremonyFile(ceremonyFileFor(required)!)}` : ''),
    { ptauPower: info.power, requiredPower: required },
  );
}

// ---------------------------------------------------------------------------------------------
// Binary file structure (iden3 "binfile": magic, version, then typed sections of u64 length)
// ---------------------------------------------------------------------------------------------

export interface BinSection {
  offset: number;
  size: number;
}

export interface BinFile {
  version: number;
  sections: Map<number, BinSection[]>;
  /** Reads `length` bytes at `offset`; only valid inside the callback of `withBinFile`. */
  read(offset: number, length: number): Promise<Buffer>;
}

/**
 * Opens an iden3 binary file (ptau, r1cs, zkey) and scans its section table without loading any
 * payload, so inspecting a multi-GB ceremony file costs a few reads. Format problems become a
 * ZkError with `code`, including a section running past the end (a truncated download).
 */
export async function withBinFile<T>(
  file: string,
  magic: string,
  code: ZkErrorCode,
  use: (bin: BinFile) => Promise<T>,
): Promise<T> {
  const fh = await open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      if (offset + length > fileSize) throw new ZkError(code, `${file}: unexpected end of file`);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      return buf;
    };
    const head = fileSize >= 12 ? await read(0, 12) : Buffer.alloc(0);
    if (head.length < 12 || head.toString('latin1', 0, 4) !== magic) {
      throw new ZkError(code, `${file} is not a ${magic} file (bad magic bytes)`);
    }
    const sections = await scanSections(file, code, head.readUInt32LE(8), fileSize, read);
    return await use({ version: head.readUInt32LE(4), sections, read });
  } finally {
    await fh.close();
  }
}

async function scanSections(
  file: string,
  code: ZkErrorCode,
  count: number,
  fileSize: number,
  read: BinFile['read'],
): Promise<Map<number, BinSection[]>> {
  const sections = new Map<number, BinSection[]>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos + 12 > fileSize) throw new ZkError(code, `${file} is truncated (section table ends early)`);
    const entry = await read(pos, 12);
    const type = entry.readUInt32LE(0);
    const size = Number(entry.readBigUInt64LE(4));
    const offset = pos + 12;
    if (offset + size > fileSize) {
      throw new ZkError(code, `${file} is truncated: section ${type} runs past the end of the file`);
    }
    sections.set(type, [...(sections.get(type) ?? []), { offset, size }]);
    pos = offset + size;
  }
  return sections;
}

/** The single section of a type, or undefined; duplicates are a format error. */
export function uniqueSection(bin: BinFile, type: number, file: string, code: ZkErrorCode) {
  const found = bin.sections.get(type);
  if (found && found.length > 1) throw new ZkError(code, `${file}: section ${type} is duplicated`);
  return found?.[0];
}

// ---------------------------------------------------------------------------------------------
// Inspecting
// ---------------------------------------------------------------------------------------------

/**
 * Reads a ptau header the way snarkjs' readPTauHeader does (section 1: n8, q, power,
 * ceremonyPower), plus the contribution count (first u32 of section 7) and whether phase-2
 * sections exist. Section sizes are checked against the power so damaged files fail here, early.
 */
export async function inspectPtau(file: string): Promise<PtauInfo> {
  await requireFile(file, 'PTAU_INVALID', 'powers-of-tau file');
  return withBinFile(file, 'ptau', 'PTAU_INVALID', async (bin) => {
    if (bin.version !== 1) invalid(file, `unsupported ptau version ${bin.version}`);
    const { power, ceremonyPower } = await readHeader(bin, file);
    checkSectionSizes(bin, file, phase1Sizes(power));
    const prepared = hasPhase2Sections(bin, file, power);
    const contributions = await readContributionCount(bin, file);
    return { power, prepared, contributions, ceremonyPower };
  });
}

function invalid(file: string, why: string): never {
  throw new ZkError('PTAU_INVALID', `${file} is not a usable powers-of-tau file: ${why}`, { file });
}

async function readHeader(bin: BinFile, file: string) {
  const header = uniqueSection(bin, 1, file, 'PTAU_INVALID');
  if (!header) invalid(file, 'it has no header section');
  const n8 = (await bin.read(header.offset, 4)).readUInt32LE(0);
  if (n8 !== 32 || header.size !== 4 + n8 + 8) invalid(file, 'malformed header');
  const rest = await bin.read(header.offset + 4, n8 + 8);
  const q = BigInt('0x' + Buffer.from(rest.subarray(0, n8)).reverse().toString('hex'));
  // bn128 is the only curve the rest of the pipeline (circom's default prime) uses.
  if (q !== BASE_FIELD_PRIME) invalid(file, 'it is for a curve other than bn128 (BN254)');
  const power = rest.readUInt32LE(n8);
  const ceremonyPower = rest.readUInt32LE(n8 + 4);
  if (power < 1 || power > MAX_POWER || ceremonyPower < power) {
    invalid(file, `implausible power ${power} (ceremony power ${ceremonyPower})`);
  }
  return { power, ceremonyPower };
}

/** Expected byte sizes of the phase-1 point sections, as snarkjs newAccumulator writes them. */
function phase1Sizes(power: number): Record<number, number> {
  const n = 2 ** power;
  return { 2: (2 * n - 1) * G1_BYTES, 3: n * G2_BYTES, 4: n * G1_BYTES, 5: n * G1_BYTES, 6: G2_BYTES };
}

/** Lagrange sections written by preparePhase2: every domain size 2^0..2^power (+2^(power+1) for tau G1). */
function phase2Sizes(power: number): Record<number, number> {
  const levels = 2 * 2 ** power - 1;
  return {
    12: (4 * 2 ** power - 1) * G1_BYTES,
    13: levels * G2_BYTES,
    14: levels * G1_BYTES,
    15: levels * G1_BYTES,
  };
}

function checkSectionSizes(bin: BinFile, file: string, expected: Record<number, number>): void {
  for (const [type, size] of Object.entries(expected)) {
    const section = uniqueSection(bin, Number(type), file, 'PTAU_INVALID');
    if (!section) invalid(file, `section ${type} is missing`);
    if (section.size !== size) {
      invalid(file, `section ${type} has ${section.size} bytes, expected ${size} for its power`);
    }
  }
}

function hasPhase2Sections(bin: BinFile, file: string, power: number): boolean {
  const present = [12, 13, 14, 15].filter((t) => bin.sections.has(t)).length;
  if (present === 0) return false;
  if (present < 4) invalid(file, 'it has only part of the phase-2 sections (interrupted preparation?)');
  checkSectionSizes(bin, file, phase2Sizes(power));
  return true;
}

async function readContributionCount(bin: BinFile, file: string): Promise<number> {
  const section = uniqueSection(bin, 7, file, 'PTAU_INVALID');
  if (!section || section.size < 4) invalid(file, 'it has no contributions section');
  return (await bin.read(section.offset, 4)).readUInt32LE(0);
}

export async function requireFile(file: string, code: ZkErrorCode, what: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new ZkError(code, `${what} not found: ${file}`, { file });
}

// ---------------------------------------------------------------------------------------------
// Importing public ceremony files
// ---------------------------------------------------------------------------------------------

/**
 * Accepts a public ceremony file (e.g. Hermez/Polygon powersOfTau28_hez_final_NN.ptau): it must be
 * a bn128 ptau, carry at least one contribution and be prepared for phase 2. With `verify`, the
 * file is hashed first: a published ceremony file (ceremony.ts) is recognised by its blake2b and
 * needs nothing more; any other file gets the full snarkjs check (pairings over every point:
 * minutes for large powers). `known` replaces the published list (tests).
 */
export async function importPtau(
  file: string,
  opts: { verify: boolean; known?: readonly CeremonyFile[] },
): Promise<{ power: number; prepared: boolean; ceremony?: CeremonyFile }> {
  const info = await inspectPtau(file);
  if (!info.prepared) {
    throw new ZkError(
      'PTAU_INVALID',
      `${file} is not prepared for phase 2. Run \`snarkjs powersoftau prepare phase2 ${file} <out.ptau>\` ` +
        `or download the "_final" file of the ceremony (e.g. powersOfTau28_hez_final_${info.power}.ptau)`,
      { file, power: info.power },
    );
  }
  if (info.contributions === 0) invalid(file, 'it has no contributions, so its secret is known (tau = 1)');
  if (!opts.verify) return { power: info.power, prepared: info.prepared };
  const ceremony = await recogniseCeremonyFile(file, opts.known);
  if (ceremony && ceremony.power === info.power) return { power: info.power, prepared: info.prepared, ceremony };
  await verifyPtau(file);
  return { power: info.power, prepared: info.prepared };
}

/** Runs snarkjs' verifier; its reasons arrive through logger.error, so they are collected. */
async function verifyPtau(file: string): Promise<void> {
  const { logger, errors } = collectingLogger();
  let ok: boolean;
  try {
    ok = await snarkjs.powersOfTau.verify(file, logger);
  } catch (e) {
    throw new ZkError('PTAU_INVALID', `${file} failed verification: ${(e as Error).message}`, { file });
  }
  if (!ok) {
    const why = errors.join('; ') || 'snarkjs reported failure';
    throw new ZkError('PTAU_INVALID', `${file} failed verification: ${why}`, { file });
  }
}

/**
 * A snarkjs logger that keeps warnings/errors (for error messages) and drops the chatter, except
 * its progress lines ("<step>: <done>/<total>"), which go to `progress` when given.
 */
export function collectingLogger(progress?: (step: string, fraction: number) => void): { logger: SnarkjsLogger; errors: string[] } {
  const errors: string[] = [];
  const chatter = (msg: string) => {
    const m = progress && /^(.*?):?\s+(\d+)\/(\d+)\s*$/.exec(String(msg));
    if (m && Number(m[3]) > 0) progress!(m[1], Number(m[2]) / Number(m[3]));
  };
  const keep = (msg: string) => void errors.push(String(msg));
  return { logger: { log: chatter, debug: chatter, info: chatter, warn: keep, error: keep }, errors };
}

// ---------------------------------------------------------------------------------------------
// Development ptau
// ---------------------------------------------------------------------------------------------

type DevSource = 'reused' | 'generated' | `truncated from ${string}`;

/** One generation per file per process: concurrent callers await the same promise. */
const inflight = new Map<string, Promise<DevSource>>();

export function devPtauPath(dataDir: string, power: number): string {
  return path.join(dataDir, 'ptau', `dev-pot${power}.ptau`);
}

/**
 * Returns a phase-2-ready dev ptau of exactly `power`, creating it on first use: truncated from a
 * larger dev ptau when one exists (a prefix copy, seconds), else generated from its secrets
 * (dev-ptau.ts). Files appear by rename only, so a crash or a concurrent process never leaves a
 * partial file in place. `progress` hears the generation's fraction done (0..1) when this call
 * generates; callers joining a generation already under way hear nothing until it ends.
 */
export async function ensureDevPtau(
  dataDir: string,
  power: number,
  log: (msg: string) => void = (msg) => console.error(msg),
  progress?: (fraction: number) => void,
): Promise<string> {
  if (!Number.isInteger(power) || power < 1 || power > MAX_POWER) {
    throw new ZkError('INTERNAL', `ptau power must be an integer in 1..${MAX_POWER}, got ${power}`);
  }
  const file = path.resolve(devPtauPath(dataDir, power));
  let pending = inflight.get(file);
  if (!pending) {
    pending = obtainDevPtau(file, power, log, progress).finally(() => inflight.delete(file));
    inflight.set(file, pending);
  }
  warnInsecure(log, file, power, await pending);
  return file;
}

function warnInsecure(log: (msg: string) => void, file: string, power: number, source: DevSource): void {
  const bar = '!'.repeat(96);
  log(
    [
      bar,
      `!!! WARNING: INSECURE DEVELOPMENT POWERS-OF-TAU (power ${power}, ${source}): ${file}`,
      '!!! Its toxic waste was produced on THIS machine: whoever had access to it can forge proofs.',
      `!!! FOR DEVELOPMENT ONLY. For real keys bring a public ceremony file of power ${power} or more, such as`,
      `!!! powersOfTau28_hez_final_${String(power).padStart(2, '0')}.ptau of the Hermez Perpetual Powers of Tau (snarkjs' README links them),`,
      '!!! and run `zkinfer setup DIR --ptau FILE --verify-ptau` (the service: ZKINFER_PTAU=FILE).',
      bar,
    ].join('\n'),
  );
}

async function obtainDevPtau(file: string, power: number, log: (msg: string) => void, progress?: (fraction: number) => void): Promise<DevSource> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  if (await isUsableDevPtau(file, power, log)) return 'reused';
  await sweepStaleTemps(dir);
  const larger = await findLargerDevPtau(dir, power);
  if (larger) {
    log(`ptau: truncating ${path.basename(larger)} to power ${power}`);
    await inTempDir(dir, (tmp) => truncateInto(larger, power, tmp, file));
    return `truncated from ${path.basename(larger)}`;
  }
  log(`ptau: generating development ptau of power ${power} (one-time; about a minute at power 16 on 2 cores)`);
  await inTempDir(dir, (tmp) => generateInto(power, tmp, file, progress));
  return 'generated';
}

/** An existing file is trusted only if its header matches; a damaged one is regenerated. */
async function isUsableDevPtau(file: string, power: number, log: (msg: string) => void): Promise<boolean> {
  if (!(await stat(file).catch(() => undefined))) return false;
  try {
    const info = await inspectPtau(file);
    if (info.power === power && info.prepared) return true;
    log(`ptau: ${file} has power ${info.power}${info.prepared ? '' : ', unprepared'}; recreating it`);
  } catch (e) {
    log(`ptau: ${file} is unreadable (${(e as Error).message}); recreating it`);
  }
  return false;
}

/** The smallest prepared dev ptau above `power`: the cheapest source to truncate from. */
async function findLargerDevPtau(dir: string, power: number): Promise<string | undefined> {
  const powers = (await readdir(dir))
    .map((name) => /^dev-pot(\d+)\.ptau$/.exec(name)?.[1])
    .map(Number)
    .filter((p) => p > power)
    .sort((a, b) => a - b);
  for (const p of powers) {
    const candidate = path.join(dir, `dev-pot${p}.ptau`);
    const info = await inspectPtau(candidate).catch(() => undefined);
    if (info?.prepared && info.power === p) return candidate;
  }
  return undefined;
}

/**
 * snarkjs truncate keeps the prefix of every section, which is exactly the smaller ceremony
 * (Lagrange sections are stored per domain size, smallest first). It writes every power below the
 * source's; we keep the one asked for and the temp dir takes the rest away.
 */
async function truncateInto(source: string, power: number, tmp: string, dest: string): Promise<void> {
  const template = path.join(tmp, 'pot');
  await snarkjs.powersOfTau.truncate(source, template, collectingLogger().logger);
  await rename(`${template}${String(power).padStart(2, '0')}.ptau`, dest);
}

/**
 * Computes the prepared file directly from fresh random secrets (dev-ptau.ts: seconds where
 * snarkjs' new + contribute + prepare phase2 takes minutes to hours). Loaded on demand: most
 * commands never generate a ptau.
 */
async function generateInto(power: number, tmp: string, dest: string, progress?: (fraction: number) => void): Promise<void> {
  const { writeDevPtau } = await import('./dev-ptau.js');
  const file = path.join(tmp, 'prepared.ptau');
  await writeDevPtau(file, power, { progress });
  await rename(file, dest);
}

/** Temp dirs live next to the destination so the final rename stays on one filesystem (atomic). */
async function inTempDir(dir: string, work: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await mkdtemp(path.join(dir, `.tmp-${process.pid}-`));
  try {
    await work(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** At service start: removes the temp dirs of ptau generations whose process died (see sweepStaleTemps). */
export async function sweepDevPtauTemps(dataDir: string): Promise<void> {
  const dir = path.dirname(devPtauPath(dataDir, 1));
  if (existsSync(dir)) await sweepStaleTemps(dir);
}

/** Removes temp dirs of processes that died mid-generation (the pid is in the name). */
async function sweepStaleTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid)) {
      await rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
