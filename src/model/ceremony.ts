/**
 * A model's Groth16 phase-2 ceremony: init (the initial key, no contribution), contributions from
 * outside checked before they are accepted, a public beacon to finalize, and verification. The
 * model directory's circuit.zkey is always the chain's head and ceremony/transcript.json its record;
 * until the beacon closes the ceremony, provers refuse the model (ModelProver.load: CONFLICT).
 *
 * With weights fixed in the circuit, the zkey holds them (as key terms, recoverable from the r1cs
 * terms): a ceremony on such a model publishes the circuit to its contributors.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../core/hash.js';
import { ZkError } from '../core/errors.js';
import { BEACON_NAME, beaconZKey, chainExtensionProblem, type Phase2Chain, readPhase2Chain, verifyZKeyChain } from '../setup/ceremony.js';
import { devPtauPath, exportVerificationKey, hashVerificationKey, writeVerificationKey } from '../setup/index.js';
import { newZKey } from '../systems/groth16.js';
import { type ModelInfo, modelFiles, readModelInfo, requireArtifact } from './layout.js';
import { recordSetup, resolvePtau, type SetupOptions } from './setup.js';

export interface TranscriptEntry {
  name: string;
  /** snarkjs' contribution hash (blake2b, hex): what the contributor's `zkey contribute` printed. */
  hash: string;
  /** sha256 of the zkey after this contribution. */
  zkeySha256: string;
  addedAt: string;
}

/** ceremony/transcript.json */
export interface Transcript {
  format: 'zkinfer-ceremony/1';
  /** snarkjs' circuit hash of the r1cs over the ptau. */
  circuitHash: string;
  ptau: { file: string; power: number; development: boolean };
  contributions: TranscriptEntry[];
  beacon: { value: string; iterationsExp: number; hash: string; addedAt: string } | null;
  finalized: boolean;
}

const transcriptFile = (dir: string): string => join(modelFiles(dir).ceremonyDir, 'transcript.json');

/** ceremony/transcript.json of a model directory; undefined when it has no ceremony. */
export function readTranscript(dir: string): Transcript | undefined {
  const file = transcriptFile(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Transcript) : undefined;
}

function requireTranscript(dir: string): Transcript {
  const t = readTranscript(dir);
  if (!t) throw new ZkError('CONFLICT', `${dir} has no ceremony; start one with zkinfer ceremony init`);
  return t;
}

const now = (): string => new Date().toISOString();

/**
 * Starts a ceremony: the initial Groth16 key (delta = 1: not yet safe, so proofs are refused) over
 * the given or development ptau. Replaces any keys the directory had.
 */
export async function initCeremony(dir: string, options: SetupOptions): Promise<ModelInfo> {
  const files = modelFiles(dir);
  const started = performance.now();
  const ptau = await resolvePtau(dir, 'groth16', options);
  mkdirSync(files.ceremonyDir, { recursive: true });
  const tmp = tempName(files.zkey);
  try {
    await newZKey(files.r1cs, ptau.path, tmp);
    const chain = await readPhase2Chain(tmp);
    renameSync(tmp, files.zkey);
    const transcript: Transcript = {
      format: 'zkinfer-ceremony/1',
      circuitHash: chain.circuitHash,
      ptau: { file: ptau.record.ptauFile!, power: ptau.record.ptauPower, development: ptau.record.developmentPtau },
      contributions: [],
      beacon: null,
      finalized: false,
    };
    return await commitHead(dir, transcript, { ...ptau.record, seconds: (performance.now() - started) / 1000 });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Where a model's ptau is: the given file, else the development cache (by the recorded name). */
export function locatePtau(dir: string, options: { ptau?: string; dataDir: string }): string {
  if (options.ptau) return options.ptau;
  const setup = readModelInfo(dir).setup;
  if (!setup) throw new ZkError('ARTIFACT_MISSING', `${dir} has no keys`);
  const dev = devPtauPath(options.dataDir, setup.ptauPower);
  if (setup.developmentPtau && existsSync(dev)) return dev;
  throw new ZkError('ARTIFACT_MISSING', `the ptau ${setup.ptauFile ?? `of power ${setup.ptauPower}`} is needed: pass it with --ptau`);
}

/**
 * Accepts a contribution after checking it: it extends the current chain by exactly one contribution
 * with a fresh delta (chainExtensionProblem), and snarkjs zkey verify accepts it against the r1cs and
 * the ptau. Anything else is INPUT_INVALID with the reason; nothing changes then.
 */
export async function addContribution(dir: string, candidate: string, options: { ptau?: string; dataDir: string }): Promise<Transcript> {
  const files = modelFiles(dir);
  const transcript = requireTranscript(dir);
  if (transcript.finalized) throw new ZkError('CONFLICT', 'the ceremony is finalized: it takes no more contributions');
  const next = await readPhase2Chain(candidate);
  const problem = chainExtensionProblem(await readPhase2Chain(files.zkey), next);
  if (problem) throw new ZkError('INPUT_INVALID', `contribution refused: ${problem}`);
  const verdict = await verifyZKeyChain(requireArtifact(files.r1cs, 'compile'), locatePtau(dir, options), candidate);
  if (!verdict.ok) throw new ZkError('INPUT_INVALID', `contribution refused: ${verdict.reason}`);
  const tmp = tempName(files.zkey);
  copyFileSync(candidate, tmp);
  renameSync(tmp, files.zkey);
  const entry = {
    name: next.contributions.at(-1)!.name,
    hash: verdict.contributionHashes.at(-1) ?? '',
    zkeySha256: await sha256File(files.zkey),
    addedAt: now(),
  };
  const updated = { ...transcript, contributions: [...transcript.contributions, entry] };
  await commitHead(dir, updated);
  return updated;
}

/**
 * Closes the ceremony with a public beacon (snarkjs zkey beacon) after at least one contribution:
 * a beacon alone is computable by anyone, so it adds no secret. Afterwards proofs are accepted.
 */
export async function finalizeCeremony(dir: string, beaconHex: string, iterationsExp = 10): Promise<Transcript> {
  const files = modelFiles(dir);
  const transcript = requireTranscript(dir);
  if (transcript.finalized) throw new ZkError('CONFLICT', 'the ceremony is already finalized');
  if (transcript.contributions.length === 0)
    throw new ZkError('CONFLICT', 'the ceremony has no contribution yet: a beacon alone is public, so the key would be forgeable');
  const tmp = tempName(files.zkey);
  try {
    const hash = await beaconZKey(files.zkey, tmp, beaconHex, iterationsExp);
    renameSync(tmp, files.zkey);
    const updated: Transcript = { ...transcript, beacon: { value: beaconHex.toLowerCase(), iterationsExp, hash, addedAt: now() }, finalized: true };
    await commitHead(dir, updated);
    return updated;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface CeremonyCheck {
  ok: boolean;
  problems: string[];
  transcript: Transcript;
}

/**
 * Checks a ceremony end to end: snarkjs zkey verify of circuit.zkey against the r1cs and ptau, the
 * transcript names and hashes exactly the key's chain (and its beacon), the verifying key is the
 * key's, and the ceremony is finalized.
 */
export async function verifyCeremony(dir: string, options: { ptau?: string; dataDir: string }): Promise<CeremonyCheck> {
  const files = modelFiles(dir);
  const transcript = requireTranscript(dir);
  const problems: string[] = [];
  const verdict = await verifyZKeyChain(requireArtifact(files.r1cs, 'compile'), locatePtau(dir, options), files.zkey);
  if (!verdict.ok) problems.push(verdict.reason);
  else {
    const problem = transcriptProblem(transcript, await readPhase2Chain(files.zkey), verdict.contributionHashes);
    if (problem) problems.push(problem);
  }
  const fromZkey = hashVerificationKey(await exportVerificationKey(files.zkey));
  if (fromZkey !== hashVerificationKey(JSON.parse(readFileSync(files.vkey, 'utf8')))) problems.push('verification_key.json is not the key of circuit.zkey');
  if (!transcript.finalized) problems.push('the ceremony is not finalized (no beacon yet)');
  return { ok: problems.length === 0, problems, transcript };
}

/**
 * Why the transcript is not exactly the zkey's chain (undefined when it is): the same names and
 * contribution hashes (`hashes`, from verifyZKeyChain) in order, and the same beacon.
 */
export function transcriptProblem(transcript: Transcript, chain: Phase2Chain, hashes: string[]): string | undefined {
  const listed = [
    ...transcript.contributions.map((c) => ({ name: c.name, hash: c.hash })),
    ...(transcript.beacon ? [{ name: BEACON_NAME, hash: transcript.beacon.hash }] : []),
  ];
  const actual = chain.contributions.map((c, i) => ({ name: c.name, hash: hashes[i] }));
  if (JSON.stringify(listed) !== JSON.stringify(actual)) return 'the transcript does not list the contributions of circuit.zkey (names and hashes)';
  const beacon = chain.contributions.at(-1);
  if (
    transcript.beacon &&
    (beacon?.kind !== 'beacon' || beacon.beaconHash !== transcript.beacon.value || beacon.iterationsExp !== transcript.beacon.iterationsExp)
  ) {
    return 'the beacon in the transcript is not the one in circuit.zkey';
  }
  return undefined;
}

/** After the head zkey changed: its verifying key, the transcript and model.json's setup. */
async function commitHead(
  dir: string,
  transcript: Transcript,
  first?: Pick<NonNullable<ModelInfo['setup']>, 'ptauPower' | 'developmentPtau' | 'ptauFile' | 'seconds'>,
): Promise<ModelInfo> {
  const files = modelFiles(dir);
  const previous = readModelInfo(dir).setup;
  const base = first ?? previous!;
  const tmp = tempName(files.vkey);
  const vkey = await writeVerificationKey(files.zkey, tmp);
  renameSync(tmp, files.vkey);
  const tTmp = tempName(transcriptFile(dir));
  writeFileSync(tTmp, `${JSON.stringify(transcript, null, 2)}\n`);
  renameSync(tTmp, transcriptFile(dir));
  return recordSetup(dir, {
    system: 'groth16',
    ptauPower: base.ptauPower,
    developmentPtau: base.developmentPtau,
    ptauFile: base.ptauFile,
    seconds: base.seconds,
    vkeyHash: hashVerificationKey(vkey),
    phase2: 'ceremony',
    ceremony: { contributions: transcript.contributions.length, names: transcript.contributions.map((c) => c.name), finalized: transcript.finalized },
  });
}

const tempName = (file: string): string => `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
