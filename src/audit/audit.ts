/**
 * `zkinfer audit`: what anyone can check about a model's keys without trusting whoever made them.
 * From a model directory (or one downloaded from a service, see fetch.ts): the ONNX file is the one
 * model.json names; compiling it again with the recorded settings gives the same r1cs; the zkey is
 * that r1cs's key over the ptau (Groth16: snarkjs zkey verify; PLONK and FFLONK: their setup, run
 * again, gives the same zkey); which ptau it is; the phase-2 contributions and beacon; the verifying
 * key is the zkey's; the version id; and optionally that a Solidity verifier embeds that key. Each check passes, fails, warns (sound but trusting someone) or is skipped
 * with the reason.
 */
import { sha256File, sha256Hex } from '../core/hash.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSolidityVerifier } from '../chain/verifier.js';
import { compileModel } from '../model/compile.js';
import { locatePtau, readTranscript, transcriptProblem } from '../model/ceremony.js';
import { type ModelInfo, modelFiles, readModelInfo } from '../model/layout.js';
import { phase2Of } from '../model/trust.js';
import { modelVersionId } from '../model/version.js';
import { readPhase2Chain, verifyZKeyChain } from '../setup/ceremony.js';
import { exportVerificationKey, hashVerificationKey } from '../setup/keys.js';
import { identifyPtau } from '../setup/ptau-id.js';
import { PROOF_SYSTEM, type ProofSystemModule } from '../systems/index.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface AuditCheck {
  id: 'onnx' | 'recompile' | 'zkey' | 'ptau' | 'phase2' | 'vkey' | 'version' | 'verifier';
  status: CheckStatus;
  detail: string;
}

export interface AuditReport {
  model: string;
  versionId?: string;
  checks: AuditCheck[];
  /** The phase-2 contributors named in the key, in order (the beacon excluded). */
  contributors: string[];
  /** Who must be honest for the model's proofs to be sound. */
  trusted: string;
  /** No check failed. */
  ok: boolean;
}

export interface AuditOptions {
  /** The ONNX file (default: the directory's network.onnx). */
  onnx?: string;
  /** The calibration samples the model was compiled with (default: the directory's calibration.json). */
  calibration?: string;
  /** The ptau the keys were made over (default: the development cache under dataDir). */
  ptau?: string;
  dataDir: string;
  /** A Solidity verifier to check against the verifying key. */
  verifier?: string;
}

/** Audits a model directory; never throws for a failed check, only for a missing model.json. */
export async function auditModel(dir: string, options: AuditOptions): Promise<AuditReport> {
  const info = readModelInfo(dir);
  const files = modelFiles(dir);
  const checks: AuditCheck[] = [];
  const add = (id: AuditCheck['id'], status: CheckStatus, detail: string) => void checks.push({ id, status, detail });
  const attempt = async (id: AuditCheck['id'], run: () => Promise<void>) => {
    try {
      await run();
    } catch (e) {
      add(id, 'fail', (e as Error).message);
    }
  };

  const onnxFile = options.onnx ?? files.onnx;
  const hidden = info.visibility.weights === 'hashed' || info.visibility.weights === 'private';
  const onnx = existsSync(onnxFile) ? readFileSync(onnxFile) : undefined;
  if (!onnx)
    add(
      'onnx',
      hidden ? 'skip' : 'fail',
      hidden ? 'no ONNX file: the owner keeps the weights secret' : 'no ONNX file (give it with --onnx): with weights in the circuit, the audit needs it',
    );
  else {
    const onnxSha256 = sha256Hex(onnx);
    add(
      'onnx',
      onnxSha256 === info.onnxSha256 ? 'pass' : 'fail',
      `sha256 ${onnxSha256}${onnxSha256 === info.onnxSha256 ? '' : `, model.json names ${info.onnxSha256}`}`,
    );
  }

  await attempt('recompile', () => checkRecompile(info, dir, onnx, hidden, options, add));
  let ptauSource: string | undefined;
  await attempt('ptau', async () => {
    const id = await identifyPtau(locatePtau(dir, options));
    ptauSource = id.source;
    const named =
      id.source === 'hermez'
        ? `${id.name}: Hermez Perpetual Powers of Tau, recognised by its published hash`
        : `${id.name}: ${id.source === 'development' ? 'development (made on one machine: its maker could forge)' : 'unknown (not a recognised public ceremony file)'}`;
    add('ptau', id.source === 'hermez' ? 'pass' : 'warn', `${named}; power ${id.power}`);
  });

  let contributors: string[] = [];
  if (info.setup && PROOF_SYSTEM[info.setup.system].phase2 !== 'none') {
    let hashes: string[] | undefined;
    await attempt('zkey', async () => {
      const verdict = await verifyZKeyChain(files.r1cs, locatePtau(dir, options), files.zkey);
      if (verdict.ok) hashes = verdict.contributionHashes;
      add(
        'zkey',
        verdict.ok ? 'pass' : 'fail',
        verdict.ok ? "snarkjs zkey verify: the key is the r1cs's over the ptau, every contribution valid" : verdict.reason,
      );
    });
    await attempt('phase2', async () => {
      const chain = await readPhase2Chain(files.zkey);
      const people = chain.contributions.filter((c) => c.kind === 'contribution');
      const beacon = chain.contributions.find((c) => c.kind === 'beacon');
      contributors = people.map((c) => c.name);
      const listed = `${people.length} contribution(s): ${contributors.join(', ') || 'none'}${beacon ? `; beacon ${beacon.beaconHash} (2^${beacon.iterationsExp} iterations)` : ''}`;
      const t = readTranscript(dir);
      if (phase2Of(info) === 'ceremony' || t) {
        const finalized = Boolean(beacon && chain.contributions.at(-1) === beacon && t?.finalized !== false && people.length > 0);
        const mismatch = t && hashes && transcriptProblem(t, chain, hashes);
        if (!finalized) add('phase2', 'fail', `unfinalized ceremony (no beacon after the contributions): ${listed}`);
        else if (mismatch) add('phase2', 'fail', `${mismatch}; the key holds ${listed}`);
        else add('phase2', 'pass', `ceremony: ${listed}`);
      } else {
        add('phase2', 'warn', `operator-only key: ${listed}; whoever made it knows delta and could forge proofs`);
      }
    });
  } else if (info.setup) {
    const system = PROOF_SYSTEM[info.setup.system];
    await attempt('zkey', () => checkSetupAgain(system, files.r1cs, locatePtau(dir, options), files.zkey, add));
  } else {
    add('zkey', 'skip', 'no keys: model.json records no setup');
  }

  let vkeyHash: string | undefined;
  if (!info.setup) add('vkey', 'skip', 'no keys: model.json records no setup');
  else
    await attempt('vkey', async () => {
      vkeyHash = hashVerificationKey(await exportVerificationKey(files.zkey));
      const stored = hashVerificationKey(JSON.parse(readFileSync(files.vkey, 'utf8')));
      if (stored !== vkeyHash) add('vkey', 'fail', `verification_key.json (${stored.slice(0, 12)}…) is not the zkey's (${vkeyHash.slice(0, 12)}…)`);
      else if (info.setup?.vkeyHash !== vkeyHash)
        add('vkey', 'fail', `model.json names key ${info.setup?.vkeyHash?.slice(0, 12)}…, the zkey's is ${vkeyHash.slice(0, 12)}…`);
      else add('vkey', 'pass', `verification_key.json is the zkey's: sha256 ${vkeyHash}`);
    });

  if (!info.setup) add('version', 'fail', 'the model has no keys yet (zkinfer setup or ceremony init), so no version id');
  else if (!info.build || !info.setup.versionId) add('version', 'fail', 'model.json has no build record or version id: compiled by an older zkinfer');
  else if (vkeyHash) {
    const expected = modelVersionId(info.onnxSha256, info.build, vkeyHash);
    add(
      'version',
      expected === info.setup.versionId ? 'pass' : 'fail',
      expected === info.setup.versionId ? `version id ${expected}` : `model.json says ${info.setup.versionId}, the artifacts give ${expected}`,
    );
  }

  if (options.verifier) {
    const verifier = options.verifier;
    await attempt('verifier', async () => {
      const expected = solidityConstants((await exportSolidityVerifier(dir)).source);
      const given = solidityConstants(readFileSync(verifier, 'utf8'));
      const differ = [...new Set([...expected.keys(), ...given.keys()])].filter((k) => expected.get(k) !== given.get(k));
      add(
        'verifier',
        differ.length ? 'fail' : 'pass',
        differ.length
          ? `${verifier} embeds another key (${differ.slice(0, 4).join(', ')}${differ.length > 4 ? ', …' : ''} differ)`
          : `${verifier} embeds the verifying key`,
      );
    });
  }

  const ok = !checks.some((c) => c.status === 'fail');
  return {
    model: info.name,
    versionId: info.setup?.versionId,
    checks,
    contributors,
    trusted: ok ? trustedParties(phase2Of(info), contributors, ptauSource) : 'unknown: a check failed',
    ok,
  };
}

/** The summary line's "who must be trusted", from what the audit found (not what model.json claims). */
function trustedParties(phase2: ReturnType<typeof phase2Of>, contributors: string[], ptauSource: string | undefined): string {
  const ptau = ptauSource === 'hermez' ? 'the Hermez powers-of-tau ceremony' : `whoever made the ${ptauSource ?? 'unknown'} ptau`;
  if (phase2 === 'operator') return 'the operator alone';
  if (phase2 === 'none') return ptau;
  return `any one of ${contributors.length} contributors (${contributors.join(', ')}) and ${ptau}`;
}

async function checkRecompile(
  info: ModelInfo,
  dir: string,
  onnx: Buffer | undefined,
  hidden: boolean,
  options: AuditOptions,
  add: (id: 'recompile', s: CheckStatus, d: string) => void,
): Promise<void> {
  const r1cs = sha256Hex(readFileSync(modelFiles(dir).r1cs));
  if (!info.build) return add('recompile', 'fail', 'model.json records no compile settings (compiled by an older zkinfer)');
  if (r1cs !== info.build.r1csSha256)
    return add('recompile', 'fail', `main.r1cs (sha256 ${r1cs.slice(0, 12)}…) is not the one model.json records (${info.build.r1csSha256.slice(0, 12)}…)`);
  if (hidden)
    return add('recompile', 'skip', `weights=${info.visibility.weights}: the r1cs holds no weights, the owner keeps the ONNX file; r1cs sha256 ${r1cs}`);
  if (!onnx) return add('recompile', 'fail', 'no ONNX file to compile');
  const { settings } = info.build;
  const calibrationFile = options.calibration ?? modelFiles(dir).calibration;
  let samples: number[][][] | undefined;
  if (settings.calibrationSha256) {
    if (!existsSync(calibrationFile)) return add('recompile', 'fail', 'the model was calibrated on samples this audit lacks (give them with --calibration)');
    const text = readFileSync(calibrationFile, 'utf8').trim();
    if (sha256Hex(text) !== settings.calibrationSha256) return add('recompile', 'fail', `${calibrationFile} is not the calibration model.json records`);
    samples = JSON.parse(text) as number[][][];
  }
  const out = mkdtempSync(join(tmpdir(), 'zkinfer-audit-'));
  try {
    await compileModel(onnx, out, {
      name: settings.name,
      scale: settings.scale,
      headroomBits: settings.headroomBits,
      visibility: settings.visibility,
      samples,
      settings: settings.graph,
      acceptError: settings.acceptError,
    });
    const again = sha256Hex(readFileSync(modelFiles(out).r1cs));
    add(
      'recompile',
      again === r1cs ? 'pass' : 'fail',
      again === r1cs
        ? `compiled again from the ONNX file and recorded settings: same r1cs, sha256 ${r1cs}`
        : `compiled again from the ONNX file: r1cs sha256 ${again.slice(0, 12)}…, the model's is ${r1cs.slice(0, 12)}… (another model or other settings)`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * A key from the ptau alone (PLONK, FFLONK: `phase2: 'none'`) has no contributions for zkey verify to
 * check, but snarkjs' plonk and fflonk setup draw no randomness: the same r1cs and ptau give a
 * byte-identical zkey. So the system's own setup runs again here and the zkeys are compared; a key of
 * another circuit, or over another ptau (whose maker knows tau), differs.
 */
async function checkSetupAgain(
  system: ProofSystemModule,
  r1cs: string,
  ptau: string,
  zkey: string,
  add: (id: 'zkey', s: CheckStatus, d: string) => void,
): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'zkinfer-audit-key-'));
  try {
    const again = join(out, 'circuit.zkey');
    await system.setup({ r1cs, ptau, zkey: again, scratch: join(out, 'scratch.zkey') }, { log: () => {} });
    const [expected, given] = await Promise.all([sha256File(again), sha256File(zkey)]);
    add(
      'zkey',
      expected === given ? 'pass' : 'fail',
      expected === given
        ? `${system.name} setup again from the r1cs and the ptau: the same zkey, sha256 ${given}`
        : `circuit.zkey (sha256 ${given.slice(0, 12)}…) is not the ${system.name} key of this r1cs over this ptau (${expected.slice(0, 12)}…): another circuit's key, or one over another ptau`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `uint256 constant NAME = 123;` declarations: where snarkjs' verifiers embed the verifying key. */
function solidityConstants(source: string): Map<string, string> {
  return new Map([...source.matchAll(/uint256\s+constant\s+(\w+)\s*=\s*(\d+)\s*;/g)].map((m) => [m[1], m[2]]));
}

/** The report as a table (one line per check) and the summary line. */
export function formatAudit(report: AuditReport): string {
  const rows = report.checks.map((c) => `${c.status.toUpperCase().padEnd(5)} ${c.id.padEnd(10)} ${c.detail}`);
  return [
    `audit of ${report.model}${report.versionId ? ` (version ${report.versionId})` : ''}`,
    ...rows,
    `${report.ok ? 'OK' : 'FAILED'}: trusted: ${report.trusted}`,
  ].join('\n');
}
