export { checkPtauBudget, checkPtauFits, MAX_DEV_PTAU_POWER, requiredPower } from './ptau-size.js';
export { inspectPtau, type PtauInfo } from './ptau-inspect.js';
export { importPtau } from './ptau-import.js';
export { devPtauPath, ensureDevPtau, sweepDevPtauTemps } from './dev-ptau-cache.js';
export { CEREMONY_FILES, ceremonyFileFor, describeCeremonyFile, recogniseCeremonyFile, type CeremonyFile } from './ptau-files.js';
export { circuitPower, countPlonkGates, readCircuitSize, readR1csHeader, readR1csSummary, sizePower, type CircuitSize, type R1csSummary } from './r1cs.js';
export {
  canonicalJson,
  hashVerificationKey,
  loadVerificationKey,
  exportVerificationKey,
  writeVerificationKey,
  setupGroth16,
  setupKeys,
  VKEY_FILE,
  ZKEY_FILE,
  type Groth16VerificationKey,
  type SetupGroth16Options,
  type SetupGroth16Result,
  type SetupKeysOptions,
  type VerificationKey,
} from './keys.js';
