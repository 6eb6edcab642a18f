/**
 * Reading a powers-of-tau file's header and section table: its power, whether it is prepared for
 * phase 2, its contribution count, with every section's size checked against the power.
 */
import { ZkError } from '../core/errors.js';
import { BASE_FIELD_PRIME } from '../core/snarkjs.js';
import { type BinFile, requireFile, uniqueSection, withBinFile } from './binfile.js';
import { MAX_PTAU_POWER } from './ptau-size.js';

export interface PtauInfo {
  power: number;
  /** Whether the Lagrange sections (12..15) that Groth16 phase 2 needs are present. */
  prepared: boolean;
  contributions: number;
  /** Power of the ceremony the file comes from; larger than `power` for truncated files. */
  ceremonyPower: number;
}

const G1_BYTES = 64;
const G2_BYTES = 128;

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

export function invalid(file: string, why: string): never {
  throw new ZkError('PTAU_INVALID', `${file} is not a usable powers-of-tau file: ${why}`, { file });
}

async function readHeader(bin: BinFile, file: string) {
  const header = uniqueSection(bin, 1, file, 'PTAU_INVALID');
  if (!header) invalid(file, 'it has no header section');
  const n8 = (await bin.read(header.offset, 4)).readUInt32LE(0);
  if (n8 !== 32 || header.size !== 4 + n8 + 8) invalid(file, 'malformed header');
  const rest = await bin.read(header.offset + 4, n8 + 8);
  const q = BigInt(`0x${Buffer.from(rest.subarray(0, n8)).reverse().toString('hex')}`);
  // bn128 is the only curve the rest of the pipeline (circom's default prime) uses.
  if (q !== BASE_FIELD_PRIME) invalid(file, 'it is for a curve other than bn128 (BN254)');
  const power = rest.readUInt32LE(n8);
  const ceremonyPower = rest.readUInt32LE(n8 + 4);
  if (power < 1 || power > MAX_PTAU_POWER || ceremonyPower < power) {
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
