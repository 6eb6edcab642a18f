/**
 * Groth16 key generation: circuit-specific phase 2 on top of a prepared ptau.
 *
 * Like ptau.ts, this never terminates the shared bn128 curve; the process owner does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
// @ts-ignore -- snarkjs ships no type declarations; the part used here is typed below.
import * as snarkjsUntyped from 'snarkjs';
import { ZkError } from '../core/errors.js';
import {
  BN128_R,
  type SnarkjsLogger,
  checkPtauFits,
  collectingLogger,
  inspectPtau,
  requireFile,
  requiredPower,
  uniqueSection,
  withBinFile,
} from './ptau.js';

interface ZKeyApi {
  /** Resolves to the circuit hash, or to -1 after logging the reason through logger.error. */
  newZKey(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<Uint8Array | number>;
  contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: SnarkjsLogger): Promise<unknown>;
  exportVerificationKey(zkey: string, logger?: SnarkjsLogger): Promise<Groth16VerificationKey>;
  verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<boolean>;
}

const snarkjs = snarkjsUntyped as unknown as { zKey: ZKeyApi };

export const ZKEY_FILE = 'circuit.zkey';
export const VKEY_FILE = 'verification_key.json';

/** snarkjs' JSON verifying key: field elements as decimal strings, nested in arrays. */
export interface Groth16VerificationKey {
  protocol: string;
  curve: string;
  nPublic: number;
  [field: string]: unknown;
}

export interface SetupGroth16Options {
  r1csPath: string;
  ptauPath: string;
  outDir: string;
  /** Extra entropy for the phase-2 contribution (snarkjs mixes in its own randomness too). */
  entropy?: string;
  log?: (msg: string) => void;
  /**
   * Re-derive the key from r1cs + ptau with snarkjs verifyFromR1cs. Off by default: it redoes all
   * of newZKey's work (about doubling the time) and only guards against bugs in our own run.
   */
  verify?: boolean;
}

export interface SetupGroth16Result {
  zkeyPath: string;
  vkeyPath: string;
  vkeyHash: string;
  seconds: number;
}

/**
 * newZKey → one contribution → export the verifying key. Outputs are written under temp names and
 * renamed, so a crash never leaves a half zkey; callers wanting the zkey/vkey pair to switch
 * atomically should set up into a fresh directory.
 */
export async function setupGroth16(opts: SetupGroth16Options): Promise<SetupGroth16Result> {
  const started = performance.now();
  const log = opts.log ?? ((msg: string) => console.error(msg));
  await checkInputs(opts.r1csPath, opts.ptauPath);
  await mkdir(opts.outDir, { recursive: true });
  const zkeyPath = path.join(opts.outDir, ZKEY_FILE);
  const vkeyPath = path.join(opts.outDir, VKEY_FILE);
  const tmp = `.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const [initTmp, zkeyTmp, vkeyTmp] = ['init.zkey', ZKEY_FILE, VKEY_FILE].map((n) => path.join(opts.outDir, n + tmp));
  try {
    await newZKey(opts.r1csPath, opts.ptauPath, initTmp);
    log('groth16: adding ONE development phase-2 contribution (random entropy, not a multi-party ceremony)');
    await contribute(initTmp, zkeyTmp, opts.entropy);
    if (opts.verify) await verifyZKey(opts.r1csPath, opts.ptauPath, zkeyTmp);
    const vkey = await snarkjs.zKey.exportVerificationKey(zkeyTmp, collectingLogger().logger);
    await writeFile(vkeyTmp, JSON.stringify(vkey, null, 2) + '\n');
    await requireNonEmpty(zkeyTmp);
    await rename(zkeyTmp, zkeyPath);
    await rename(vkeyTmp, vkeyPath);
    const seconds = (performance.now() - started) / 1000;
    log(`groth16: wrote ${zkeyPath} and ${vkeyPath} in ${seconds.toFixed(1)} s`);
    return { zkeyPath, vkeyPath, vkeyHash: hashVerificationKey(vkey), seconds };
  } finally {
    await Promise.all([initTmp, zkeyTmp, vkeyTmp].map((f) => rm(f, { force: true })));
  }
}

/** Fails early with our own messages instead of snarkjs' -1 / generic throws. */
async function checkInputs(r1csPath: string, ptauPath: string): Promise<void> {
  const circuit = await readR1csHeader(r1csPath);
  const ptau = await inspectPtau(ptauPath);
  if (!ptau.prepared) {
    throw new ZkError('PTAU_INVALID', `${ptauPath} is not prepared for phase 2 (run snarkjs powersoftau prepare phase2)`);
  }
  checkPtauFits(ptau, requiredPower(circuit.nConstraints, circuit.nPublic));
}

async function newZKey(r1csPath: string, ptauPath: string, out: string): Promise<void> {
  const { logger, errors } = collectingLogger();
  const csHash = await snarkjs.zKey.newZKey(r1csPath, ptauPath, out, logger);
  if (!(csHash instanceof Uint8Array)) {
    throw new ZkError('INTERNAL', `snarkjs newZKey failed: ${errors.join('; ') || 'no reason given'}`);
  }
}

async function contribute(from: string, to: string, entropy: string | undefined): Promise<void> {
  // This is the development phase-2 contribution: whoever ran it knows its delta, so the keys are
  // only as trustworthy as this machine. An empty entropy would make snarkjs prompt on stdin.
  const mixed = entropy ? entropy : randomBytes(32).toString('hex');
  await snarkjs.zKey.contribute(from, to, 'zkinfer development phase-2', mixed, collectingLogger().logger);
}

async function verifyZKey(r1csPath: string, ptauPath: string, zkey: string): Promise<void> {
  const { logger, errors } = collectingLogger();
  if (!(await snarkjs.zKey.verifyFromR1cs(r1csPath, ptauPath, zkey, logger))) {
    throw new ZkError('INTERNAL', `generated zkey does not verify: ${errors.join('; ')}`);
  }
}

async function requireNonEmpty(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info || info.size === 0) throw new ZkError('INTERNAL', `snarkjs did not write ${file}`);
}

/**
 * The r1cs header (section 1: n8, prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels u64,
 * nConstraints), read directly so sizing errors are ours and no curve is built for it.
 */
export async function readR1csHeader(file: string): Promise<{ nConstraints: number; nPublic: number }> {
  await requireFile(file, 'ARTIFACT_MISSING', 'r1cs file');
  return withBinFile(file, 'r1cs', 'INTERNAL', async (bin) => {
    const header = uniqueSection(bin, 1, file, 'INTERNAL');
    if (!header || header.size < 4) throw new ZkError('INTERNAL', `${file}: r1cs has no header`);
    const n8 = (await bin.read(header.offset, 4)).readUInt32LE(0);
    const body = await bin.read(header.offset + 4, n8 + 28);
    const prime = BigInt('0x' + Buffer.from(body.subarray(0, n8)).reverse().toString('hex'));
    if (prime !== BN128_R) {
      throw new ZkError('INTERNAL', `${file} was compiled for a prime other than bn128's; compile with --prime bn128`);
    }
    const nPublic = body.readUInt32LE(n8 + 4) + body.readUInt32LE(n8 + 8);
    return { nConstraints: body.readUInt32LE(n8 + 24), nPublic };
  });
}

/** Reads `${dir}/verification_key.json`; a missing file is ARTIFACT_MISSING. */
export async function loadVerificationKey(dir: string): Promise<Groth16VerificationKey> {
  const file = path.join(dir, VKEY_FILE);
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new ZkError('ARTIFACT_MISSING', `verification key not found: ${file}`, { file });
    throw e;
  });
  let vkey: unknown;
  try {
    vkey = JSON.parse(text);
  } catch {
    throw new ZkError('INTERNAL', `${file} is not valid JSON`, { file });
  }
  if (typeof vkey !== 'object' || vkey === null || (vkey as { protocol?: unknown }).protocol !== 'groth16') {
    throw new ZkError('INTERNAL', `${file} is not a Groth16 verification key`, { file });
  }
  return vkey as Groth16VerificationKey;
}

/** sha256 (hex) of the canonical JSON, so formatting of the stored file does not matter. */
export function hashVerificationKey(vkey: Groth16VerificationKey): string {
  return createHash('sha256').update(canonicalJson(vkey)).digest('hex');
}

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value) ?? 'null';
}
