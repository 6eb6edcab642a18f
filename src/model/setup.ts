import { writeFileSync } from 'node:fs';
import { ZkError } from '../core/errors.js';
import { PROOF_SYSTEMS, type ProofSystem } from '../core/snarkjs.js';
import { checkPtauBudget, checkPtauFits, circuitPower, ensureDevPtau, importPtau, MAX_DEV_PTAU_POWER, setupKeys } from '../setup/index.js';
import { checkCircuit, type ModelInfo, modelFiles, readModelInfo, requireArtifact } from './layout.js';

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
}

/** Proving and verifying keys for a compiled model directory; records the setup in model.json. */
export async function setupModel(dir: string, options: SetupOptions): Promise<ModelInfo> {
  const info = readModelInfo(dir);
  const files = modelFiles(dir);
  const log = options.log ?? ((m: string) => console.error(m));
  const system = options.system ?? 'groth16';
  if (!PROOF_SYSTEMS.includes(system)) throw new ZkError('INPUT_INVALID', `unknown proof system ${String(system)}: use ${PROOF_SYSTEMS.join(', ')}`);
  await checkCircuit(info, requireArtifact(files.r1cs, 'compile'));
  const needed = await circuitPower(files.r1cs, system);
  let ptauPath: string;
  let ptauPower: number;
  if (options.ptau) {
    const imported = await importPtau(options.ptau, { verify: options.verifyPtau ?? false });
    checkPtauFits(imported, needed);
    ptauPath = options.ptau;
    ptauPower = imported.power;
  } else {
    ptauPower = Math.max(needed, options.power ?? 0);
    if (options.power !== undefined && options.power < needed) {
      throw new ZkError('PTAU_INVALID', `power ${options.power} is too small for this circuit: ${system} needs ${needed}`);
    }
    checkPtauBudget(ptauPower, options.maxPower ?? MAX_DEV_PTAU_POWER, info.constraints.layers);
    ptauPath = await ensureDevPtau(options.dataDir, ptauPower, log);
  }
  const keys = await setupKeys({ system, r1csPath: files.r1cs, ptauPath, outDir: dir, log });
  const updated: ModelInfo = {
    ...info,
    setup: { system, ptauPower, developmentPtau: !options.ptau, vkeyHash: keys.vkeyHash, seconds: keys.seconds },
  };
  writeFileSync(files.info, JSON.stringify(updated, null, 2) + '\n');
  return updated;
}
