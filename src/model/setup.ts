import { rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ZkError } from '../core/errors.js';
import { DEFAULT_PROOF_SYSTEM, PROOF_SYSTEMS, type ProofSystem } from '../core/systems.js';
import {
  type CircuitSize,
  checkPtauBudget,
  checkPtauFits,
  circuitPower,
  ensureDevPtau,
  importPtau,
  MAX_DEV_PTAU_POWER,
  setupKeys,
  sizePower,
} from '../setup/index.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { checkCircuit, type ModelInfo, modelFiles, readModelInfo, requireArtifact, type SetupInfo } from './layout.js';
import { trustSummary } from './trust.js';
import { modelVersionId } from './version.js';

export interface SetupOptions {
  /** groth16 (default), plonk or fflonk; a later setup of another system replaces the keys. */
  system?: ProofSystem;
  /** An existing powers-of-tau file (e.g. a public ceremony's); checked to fit. */
  ptau?: string;
  /** Also run the full cryptographic verification of `ptau` (slow on large files). */
  verifyPtau?: boolean;
  /** Power of the development ptau to generate (default: the smallest that fits). */
  power?: number;
  /** The largest development ptau to generate (default MAX_DEV_PTAU_POWER); a larger need is TOO_LARGE. */
  maxPower?: number;
  /** Where development ptau files are cached. */
  dataDir: string;
  log?: (message: string) => void;
  /** Where setup is: `ptau` (generating a development ptau) then `keys`, with the fraction of that stage done. */
  progress?: (p: SetupProgress) => void;
}

export interface SetupProgress {
  stage: 'ptau' | 'keys';
  /** 0..1 within the stage. */
  fraction: number;
  /** What snarkjs is doing inside `keys` ("processing constraints", …). */
  step?: string;
  /** The ptau power setup uses. */
  ptauPower: number;
}

/**
 * Proving and verifying keys for a compiled model directory; records the setup in model.json with
 * the system's `phase2`: a circuit-specific key (Groth16) gets one contribution by this machine,
 * `'operator'` (see src/model/ceremony.ts for keys nobody alone controls).
 */
export async function setupModel(dir: string, options: SetupOptions): Promise<ModelInfo> {
  const files = modelFiles(dir);
  const log = options.log ?? ((m: string) => console.error(m));
  const system = options.system ?? DEFAULT_PROOF_SYSTEM;
  if (!PROOF_SYSTEMS.includes(system)) throw new ZkError('INPUT_INVALID', `unknown proof system ${String(system)}: use ${PROOF_SYSTEMS.join(', ')}`);
  const circuit = await checkCircuit(readModelInfo(dir), requireArtifact(files.r1cs, 'compile'));
  const ptau = await resolvePtau(dir, system, { ...options, log }, circuit);
  const ptauPower = ptau.record.ptauPower;
  options.progress?.({ stage: 'keys', fraction: 0, ptauPower });
  const keys = await setupKeys({
    system,
    r1csPath: files.r1cs,
    ptauPath: ptau.path,
    circuit,
    outDir: dir,
    log,
    progress: (step, fraction) => options.progress?.({ stage: 'keys', fraction, step, ptauPower }),
  });
  // A ceremony this directory held is over: its transcript no longer describes the keys.
  rmSync(files.ceremonyDir, { recursive: true, force: true });
  const { phase2 } = PROOF_SYSTEM[system];
  if (phase2 === 'operator') log(`${system}: ${OPERATOR_NOTICE}`);
  return recordSetup(dir, { system, ...ptau.record, vkeyHash: keys.vkeyHash, seconds: keys.seconds, phase2 });
}

const OPERATOR_NOTICE = 'this machine made the only phase-2 contribution; whoever runs it could forge proofs (zkinfer ceremony for keys nobody alone controls)';

type PtauRecord = Pick<SetupInfo, 'ptauPower' | 'requiredPower' | 'ceremonyFile' | 'developmentPtau' | 'ptauFile'>;

/**
 * The ptau a setup uses: the given file (checked to fit; a published ceremony file is recognised by
 * its hash) or the development one of the needed power, generated within `options.maxPower`.
 * `circuit`: the r1cs's size when the caller has read it (else it is read here).
 */
export async function resolvePtau(
  dir: string,
  system: ProofSystem,
  options: SetupOptions,
  circuit?: CircuitSize,
): Promise<{ path: string; record: PtauRecord }> {
  const needed = circuit ? sizePower(circuit, system) : await circuitPower(requireArtifact(modelFiles(dir).r1cs, 'compile'), system);
  if (options.ptau) {
    const imported = await importPtau(options.ptau, { verify: options.verifyPtau ?? false });
    checkPtauFits(imported, needed);
    if (imported.ceremony)
      options.log?.(`ptau: ${options.ptau} is the published ${imported.ceremony.file} (blake2b matches); no point-by-point verification needed`);
    if (options.verifyPtau) options.log?.(`ptau verified: ${options.ptau} (power ${imported.power}, prepared for phase 2)`);
    const record: PtauRecord = { ptauPower: imported.power, requiredPower: needed, developmentPtau: false, ptauFile: basename(options.ptau) };
    return { path: options.ptau, record: imported.ceremony ? { ...record, ceremonyFile: imported.ceremony.file } : record };
  }
  const power = Math.max(needed, options.power ?? 0);
  if (options.power !== undefined && options.power < needed) {
    throw new ZkError('PTAU_INVALID', `power ${options.power} is too small for this circuit: ${system} needs ${needed}`);
  }
  checkPtauBudget(power, options.maxPower ?? MAX_DEV_PTAU_POWER, readModelInfo(dir).constraints.layers);
  options.progress?.({ stage: 'ptau', fraction: 0, ptauPower: power });
  const path = await ensureDevPtau(options.dataDir, power, options.log ?? (() => {}), (fraction) =>
    options.progress?.({ stage: 'ptau', fraction, ptauPower: power }),
  );
  return { path, record: { ptauPower: power, requiredPower: needed, developmentPtau: true, ptauFile: basename(path) } };
}

/** Writes `setup` (with the model version id) into model.json and returns the updated info. */
export function recordSetup(dir: string, setup: Omit<SetupInfo, 'versionId'>): ModelInfo {
  const info = readModelInfo(dir);
  const versionId = info.build ? modelVersionId(info.onnxSha256, info.build, setup.vkeyHash) : undefined;
  const withSetup: ModelInfo = { ...info, setup: { ...setup, ...(versionId ? { versionId } : {}) } };
  // Said in model.json itself, for whoever reads only that: an operator-only key is forgeable by the operator.
  const updated: ModelInfo = { ...withSetup, trust: trustSummary(withSetup) };
  writeFileSync(modelFiles(dir).info, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}
