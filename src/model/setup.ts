import { writeFileSync } from 'node:fs';
import { ZkError } from '../core/errors.js';
import { PROOF_SYSTEMS, type ProofSystem } from '../core/snarkjs.js';
import { checkPtauFits, circuitPower, ensureDevPtau, importPtau, setupKeys } from '../setup/index.js';
import { type ModelInfo, modelFiles, readModelInfo, requireArtifact } from './layout.js';

export interface SetupOptions {
  /** groth16 (default), plonk or fflonk; a later setup of another system replaces the keys. */
  system?: ProofSystem;
  /** An existing powers-of-tau file (e.g. a public ceremony's); checked to fit. */
  ptau?: string;
  /** Also run the full cryptographic verification of `ptau` (slow on large files). */
  verifyPtau?: boolean;
  /** Power of the development ptau to generate (default: the smallest that fits). */
  power?: number;
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

/** Proving and verifying keys for a compiled model directory; records the setup in model.json. */
export async function setupModel(dir: string, options: SetupOptions): Promise<ModelInfo> {
  const info = readModelInfo(dir);
  const files = modelFiles(dir);
  const log = options.log ?? ((m: string) => console.error(m));
  const system = options.system ?? 'groth16';
  if (!PROOF_SYSTEMS.includes(system)) throw new ZkError('INPUT_INVALID', `unknown proof system ${String(system)}: use ${PROOF_SYSTEMS.join(', ')}`);
  const needed = await circuitPower(requireArtifact(files.r1cs, 'compile'), system);
  let ptauPath: string;
  let ptauPower: number;
  let ceremonyFile: string | undefined;
  if (options.ptau) {
    const imported = await importPtau(options.ptau, { verify: options.verifyPtau ?? false });
    checkPtauFits(imported, needed);
    if (imported.ceremony) log(`ptau: ${options.ptau} is the published ${imported.ceremony.file} (blake2b matches); no point-by-point verification needed`);
    ptauPath = options.ptau;
    ptauPower = imported.power;
    ceremonyFile = imported.ceremony?.file;
  } else {
    ptauPower = Math.max(needed, options.power ?? 0);
    if (options.power !== undefined && options.power < needed) {
      throw new ZkError('PTAU_INVALID', `power ${options.power} is too small for this circuit: ${system} needs ${needed}`);
    }
    options.progress?.({ stage: 'ptau', fraction: 0, ptauPower });
    ptauPath = await ensureDevPtau(options.dataDir, ptauPower, log, (fraction) => options.progress?.({ stage: 'ptau', fraction, ptauPower }));
  }
  options.progress?.({ stage: 'keys', fraction: 0, ptauPower });
  const keys = await setupKeys({
    system,
    r1csPath: files.r1cs,
    ptauPath,
    outDir: dir,
    log,
    progress: (step, fraction) => options.progress?.({ stage: 'keys', fraction, step, ptauPower }),
  });
  const updated: ModelInfo = {
    ...info,
    setup: { system, ptauPower, requiredPower: needed, ...(ceremonyFile ? { ceremonyFile } : {}), developmentPtau: !options.ptau, vkeyHash: keys.vkeyHash, seconds: keys.seconds },
  };
  writeFileSync(files.info, JSON.stringify(updated, null, 2) + '\n');
  return updated;
}
