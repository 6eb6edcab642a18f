/**
 * Proving and verifying keys for any proof system: the system's own setup (src/systems/: Groth16's
 * circuit-specific phase 2, PLONK's and FFLONK's universal setup) inside the steps all share (size
 * check, temp files, renames, verifying key export and hash).
 *
 * Like dev-ptau-cache.ts, this never terminates the shared bn128 curve; the process owner does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ZkError } from '../core/errors.js';
import { snarkjs } from '../core/snarkjs.js';
import { DEFAULT_PROOF_SYSTEM, PROOF_SYSTEMS, type ProofSystem } from '../core/systems.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { inspectPtau } from './ptau-inspect.js';
import { checkPtauFits } from './ptau-size.js';
import { type CircuitSize, circuitPower, sizePower } from './r1cs.js';
import { collectingLogger } from './snarkjs-logger.js';

export const ZKEY_FILE = 'circuit.zkey';
export const VKEY_FILE = 'verification_key.json';

/** snarkjs' JSON verifying key (any system): field elements as decimal strings, nested in arrays. */
export interface Groth16VerificationKey {
  protocol: string;
  curve: string;
  nPublic: number;
  [field: string]: unknown;
}

export type VerificationKey = Groth16VerificationKey;

export interface SetupGroth16Options {
  r1csPath: string;
  ptauPath: string;
  outDir: string;
  /** Extra entropy for Groth16's phase-2 contribution (snarkjs mixes in its own randomness too). */
  entropy?: string;
  log?: (msg: string) => void;
  /**
   * Groth16: re-derive the key from r1cs + ptau with snarkjs verifyFromR1cs. Off by default: it redoes all
   * of newZKey's work (about doubling the time) and only guards against bugs in our own run.
   */
  verify?: boolean;
  /** snarkjs' own progress lines ("processing constraints: 20000/71000") as a step name and fraction. */
  progress?: (step: string, fraction: number) => void;
}

export interface SetupKeysOptions extends SetupGroth16Options {
  /** Default groth16. */
  system?: ProofSystem;
  /** The r1cs's size when the caller has read it (readR1csSummary); else it is read here. */
  circuit?: CircuitSize;
}

export interface SetupGroth16Result {
  zkeyPath: string;
  vkeyPath: string;
  vkeyHash: string;
  seconds: number;
}

/** Groth16 keys; kept for callers from before PLONK and FFLONK. */
export const setupGroth16 = (opts: SetupGroth16Options): Promise<SetupGroth16Result> => setupKeys({ ...opts, system: 'groth16' });

/**
 * The system's zkey (Groth16: newZKey → one contribution; PLONK/FFLONK: their setup) → export the
 * verifying key. Outputs are written under temp names and renamed, so a crash never leaves a half
 * zkey; callers wanting the zkey/vkey pair to switch atomically should set up into a fresh directory.
 */
export async function setupKeys(opts: SetupKeysOptions): Promise<SetupGroth16Result> {
  const started = performance.now();
  const system = opts.system ?? DEFAULT_PROOF_SYSTEM;
  const log = opts.log ?? ((msg: string) => console.error(msg));
  await checkInputs(opts, system);
  await mkdir(opts.outDir, { recursive: true });
  const zkeyPath = path.join(opts.outDir, ZKEY_FILE);
  const vkeyPath = path.join(opts.outDir, VKEY_FILE);
  const tmp = `.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const [initTmp, zkeyTmp, vkeyTmp] = ['init.zkey', ZKEY_FILE, VKEY_FILE].map((n) => path.join(opts.outDir, n + tmp));
  try {
    await PROOF_SYSTEM[system].setup({ r1cs: opts.r1csPath, ptau: opts.ptauPath, zkey: zkeyTmp, scratch: initTmp }, { ...opts, log });
    const vkey = await writeVerificationKey(zkeyTmp, vkeyTmp);
    await requireNonEmpty(zkeyTmp);
    await rename(zkeyTmp, zkeyPath);
    await rename(vkeyTmp, vkeyPath);
    const seconds = (performance.now() - started) / 1000;
    log(`${system}: wrote ${zkeyPath} and ${vkeyPath} in ${seconds.toFixed(1)} s`);
    return { zkeyPath, vkeyPath, vkeyHash: hashVerificationKey(vkey), seconds };
  } finally {
    await Promise.all([initTmp, zkeyTmp, vkeyTmp].map((f) => rm(f, { force: true })));
  }
}

/** Fails early with our own messages instead of snarkjs' -1 / generic throws. */
async function checkInputs({ r1csPath, ptauPath, circuit }: SetupKeysOptions, system: ProofSystem): Promise<void> {
  const needed = circuit ? sizePower(circuit, system) : await circuitPower(r1csPath, system);
  const ptau = await inspectPtau(ptauPath);
  // PLONK and FFLONK read the Lagrange sections too (and FFLONK refuses a file without them).
  if (!ptau.prepared) {
    throw new ZkError('PTAU_INVALID', `${ptauPath} is not prepared for phase 2 (run snarkjs powersoftau prepare phase2)`);
  }
  checkPtauFits(ptau, needed);
}

/** The verifying key a zkey holds (snarkjs zkey export verificationkey), in memory. */
export const exportVerificationKey = (zkey: string): Promise<Groth16VerificationKey> => snarkjs.zKey.exportVerificationKey(zkey, collectingLogger().logger);

/** Exports the zkey's verifying key to `file` (pretty JSON) and returns it. */
export async function writeVerificationKey(zkey: string, file: string): Promise<Groth16VerificationKey> {
  const vkey = await exportVerificationKey(zkey);
  await writeFile(file, `${JSON.stringify(vkey, null, 2)}\n`);
  return vkey;
}

async function requireNonEmpty(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info || info.size === 0) throw new ZkError('INTERNAL', `snarkjs did not write ${file}`);
}

/** Reads `${dir}/verification_key.json` (any system); a missing file is ARTIFACT_MISSING. */
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
  const protocol = (vkey as { protocol?: unknown } | null)?.protocol;
  if (typeof vkey !== 'object' || !PROOF_SYSTEMS.includes(protocol as ProofSystem)) {
    throw new ZkError('INTERNAL', `${file} is not a verification key of ${PROOF_SYSTEMS.join(', ')}`, { file });
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
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value) ?? 'null';
}
