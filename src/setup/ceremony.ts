/**
 * Groth16 phase-2 ceremonies at the level of zkey files: contribute, beacon, verify (all snarkjs'
 * own), and what snarkjs does not check for us: that a contribution extends a given chain.
 *
 * A zkey's section 10 (snarkjs zkey_utils readMPCParams) is the circuit hash (64 bytes), a u32 count,
 * then per contribution: deltaAfter G1, g1_s G1, g1_sx G1, g2_spx G2, transcript (64 bytes), type
 * u32 (0 contribution, 1 beacon) and u32-length params (1: name, 2: iterations exponent, 3: beacon
 * hash). Points are stored little-endian in Montgomery form, so equal points have equal bytes.
 */
import { randomBytes } from 'node:crypto';
import { ZkError } from '../core/errors.js';
import { BASE_FIELD_PRIME } from '../core/snarkjs.js';
import { snarkjs } from '../core/snarkjs.js';
import { type BinFile, uniqueSection, withBinFile } from './binfile.js';
import type { SnarkjsLogger } from './snarkjs-logger.js';

export interface ChainContribution {
  name: string;
  kind: 'contribution' | 'beacon';
  /** delta after this contribution (hex of the stored G1 point). */
  deltaAfter: string;
  beaconHash?: string;
  iterationsExp?: number;
  /** The stored bytes of the contribution record. */
  bytes: Buffer;
}

export interface Phase2Chain {
  /** snarkjs' circuit hash (blake2b of the r1cs and ptau terms), hex. */
  circuitHash: string;
  contributions: ChainContribution[];
  /** The key's current delta (G1, hex of the stored point). */
  delta: string;
}

/** 2^256 mod q (q: BN254's base field): G1's generator (1, 2) in Montgomery form is (R, 2R) mod q. */
const MONT_R = (1n << 256n) % BASE_FIELD_PRIME;
const le32 = (v: bigint): string => Buffer.from(v.toString(16).padStart(64, '0'), 'hex').reverse().toString('hex');
/** delta = 1 (the generator): the initial key's, which anyone can forge proofs with. */
const GENERATOR = le32(MONT_R) + le32((2n * MONT_R) % BASE_FIELD_PRIME);

const G1 = 64;
const G2 = 128;

/** Reads the phase-2 chain of a Groth16 zkey; anything else is INPUT_INVALID. */
export function readPhase2Chain(file: string): Promise<Phase2Chain> {
  return withBinFile(file, 'zkey', 'INPUT_INVALID', async (bin) => {
    const header = uniqueSection(bin, 1, file, 'INPUT_INVALID');
    if (!header || (await bin.read(header.offset, 4)).readUInt32LE(0) !== 1) throw new ZkError('INPUT_INVALID', `${file} is not a Groth16 zkey`);
    try {
      return { ...(await readMpc(bin, file)), delta: await readDelta(bin, file) };
    } catch (e) {
      // A length field pointing past its section: Buffer reads throw RangeError (it was a 500).
      if (e instanceof RangeError)
        throw new ZkError('INPUT_INVALID', `${file} is not a valid Groth16 zkey: a section is shorter than its lengths say`, undefined, { cause: e });
      throw e;
    }
  });
}

async function readDelta(bin: BinFile, file: string): Promise<string> {
  const section = requireSection(bin, 2, file);
  const head = await bin.read(section.offset, section.size);
  const n8q = head.readUInt32LE(0);
  const n8r = head.readUInt32LE(4 + n8q);
  // n8q q n8r r nVars nPublic domainSize alpha1 beta1 beta2 gamma2, then delta1.
  const at = 4 + n8q + 4 + n8r + 12 + G1 + G1 + G2 + G2;
  return head.subarray(at, at + G1).toString('hex');
}

async function readMpc(bin: BinFile, file: string): Promise<Omit<Phase2Chain, 'delta'>> {
  const section = requireSection(bin, 10, file);
  const buf = await bin.read(section.offset, section.size);
  const count = buf.readUInt32LE(64);
  let pos = 68;
  const contributions: ChainContribution[] = [];
  for (let i = 0; i < count; i++) {
    const start = pos;
    const deltaAfter = buf.subarray(pos, pos + G1).toString('hex');
    pos += G1 * 3 + G2 + 64;
    const type = buf.readUInt32LE(pos);
    const paramsLength = buf.readUInt32LE(pos + 4);
    pos += 8;
    const params = buf.subarray(pos, pos + paramsLength);
    pos += paramsLength;
    const c: ChainContribution = { name: '', kind: type === 1 ? 'beacon' : 'contribution', deltaAfter, bytes: Buffer.from(buf.subarray(start, pos)) };
    for (let p = 0; p < params.length; ) {
      const key = params[p++];
      if (key === 2) c.iterationsExp = params[p++];
      else {
        const value = params.subarray(p + 1, p + 1 + params[p]);
        p += 1 + params[p];
        if (key === 1) c.name = value.toString('utf8');
        else if (key === 3) c.beaconHash = value.toString('hex');
        else throw new ZkError('INPUT_INVALID', `${file}: unknown phase-2 parameter ${key}`);
      }
    }
    contributions.push(c);
  }
  if (pos !== buf.length) throw new ZkError('INPUT_INVALID', `${file}: malformed phase-2 contributions section`);
  return { circuitHash: buf.subarray(0, 64).toString('hex'), contributions };
}

function requireSection(bin: BinFile, type: number, file: string) {
  const section = uniqueSection(bin, type, file, 'INPUT_INVALID');
  if (!section) throw new ZkError('INPUT_INVALID', `${file} has no section ${type}: not a Groth16 zkey`);
  return section;
}

/**
 * Why `next` is not `current` plus exactly one contribution (undefined when it is): same circuit,
 * every earlier contribution byte for byte, one new non-beacon contribution, and a delta that is not
 * one already known (the generator or any earlier delta). snarkjs' verify checks the rest.
 */
export function chainExtensionProblem(current: Phase2Chain, next: Phase2Chain): string | undefined {
  if (next.circuitHash !== current.circuitHash) return 'it is a key of another circuit (its circuit hash differs)';
  const known = current.contributions.length;
  if (next.contributions.length !== known + 1) {
    return `it has ${next.contributions.length} contributions; the ceremony has ${known}, and each contribution must add exactly one to them`;
  }
  const replaced = current.contributions.findIndex((c, i) => !c.bytes.equals(next.contributions[i].bytes));
  if (replaced >= 0) return `it does not extend the current chain: contribution #${replaced + 1} differs`;
  if (next.contributions[known].kind === 'beacon') return 'it is a beacon: only the owner finalizes the ceremony with one';
  if ([GENERATOR, ...current.contributions.map((c) => c.deltaAfter)].includes(next.delta) || next.delta === current.delta) {
    return 'its delta is a known value (reset to the initial key or an earlier contribution)';
  }
  return undefined;
}

/** A logger keeping snarkjs' info lines (verify reports contribution hashes there) and its errors. */
function recordingLogger(): { logger: SnarkjsLogger; info: string[]; errors: string[] } {
  const info: string[] = [];
  const errors: string[] = [];
  return {
    logger: {
      log: () => {},
      debug: () => {},
      info: (m) => void info.push(String(m)),
      warn: (m) => void errors.push(String(m)),
      error: (m) => void errors.push(String(m)),
    },
    info,
    errors,
  };
}

const hashHex = (h: Uint8Array): string => Buffer.from(h).toString('hex');

/**
 * One phase-2 contribution (snarkjs zkey contribute): `entropy` is mixed with snarkjs' own randomness;
 * by default 32 random bytes. Returns the contribution hash (hex), which the contributor publishes.
 */
export async function contributeZKey(input: string, output: string, name: string, entropy?: string): Promise<string> {
  if (!name.trim() || Buffer.byteLength(name) > 64) throw new ZkError('INPUT_INVALID', 'a contribution needs a name of 1 to 64 bytes');
  const { logger, errors } = recordingLogger();
  const hash = await snarkjs.zKey.contribute(input, output, name, entropy || randomBytes(32).toString('hex'), logger).catch((e: Error) => {
    throw new ZkError('INPUT_INVALID', `snarkjs zkey contribute failed on ${input}: ${e.message}`);
  });
  if (!(hash instanceof Uint8Array))
    throw new ZkError('INPUT_INVALID', `snarkjs zkey contribute failed on ${input}: ${errors.join('; ') || 'no reason given'}`);
  return hashHex(hash);
}

/** The name snarkjs records for the closing beacon contribution. */
export const BEACON_NAME = 'final beacon';

/**
 * The closing contribution from a public random beacon (snarkjs zkey beacon): `beaconHex` (1 to 255
 * bytes, e.g. a future block hash) hashed 2^iterationsExp times (10 to 63). Anyone can recompute it.
 */
export async function beaconZKey(input: string, output: string, beaconHex: string, iterationsExp: number): Promise<string> {
  if (!/^([0-9a-fA-F]{2}){1,255}$/.test(beaconHex)) throw new ZkError('INPUT_INVALID', 'the beacon must be 1 to 255 bytes of hex');
  if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63)
    throw new ZkError('INPUT_INVALID', 'beacon iterations: an exponent from 10 to 63');
  const { logger, errors } = recordingLogger();
  const hash = await snarkjs.zKey.beacon(input, output, BEACON_NAME, beaconHex.toLowerCase(), iterationsExp, logger);
  if (!(hash instanceof Uint8Array)) throw new ZkError('INPUT_INVALID', `snarkjs zkey beacon failed: ${errors.join('; ') || 'no reason given'}`);
  return hashHex(hash);
}

export type ZKeyVerdict = { ok: true; contributionHashes: string[] } | { ok: false; reason: string };

/**
 * snarkjs zkey verify: the zkey is the key of this r1cs over this ptau, and every contribution in its
 * chain is a valid step (a beacon's derived from its hash). Returns the contribution hashes (hex, in
 * chain order), as snarkjs reports them.
 */
export async function verifyZKeyChain(r1cs: string, ptau: string, zkey: string): Promise<ZKeyVerdict> {
  const { logger, info, errors } = recordingLogger();
  let ok: boolean;
  try {
    ok = await snarkjs.zKey.verifyFromR1cs(r1cs, ptau, zkey, logger);
  } catch (e) {
    return { ok: false, reason: `snarkjs zkey verify failed: ${(e as Error).message}` };
  }
  if (!ok) return { ok: false, reason: `snarkjs zkey verify: ${errors.join('; ') || 'the contribution chain is invalid'}` };
  // verify logs each contribution as "contribution #i NAME:\n\t\t<4 lines of 4 words of hex>", last first.
  const hashes = info.flatMap((line) => {
    const m = /^contribution #(\d+)[^\n]*\n([\s\S]*)$/.exec(line);
    return m ? [{ index: Number(m[1]), hash: m[2].replace(/[^0-9a-f]/g, '') }] : [];
  });
  return { ok: true, contributionHashes: hashes.sort((a, b) => a.index - b.index).map((h) => h.hash) };
}
