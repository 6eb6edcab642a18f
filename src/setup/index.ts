export {
  checkPtauBudget,
  checkPtauFits,
  MAX_DEV_PTAU_POWER,
  devPtauPath,
  ensureDevPtau,
  importPtau,
  inspectPtau,
  requiredPower,
  type PtauInfo,
} from './ptau.js';
export { CEREMONY_FILES, ceremonyFileFor, describeCeremonyFile, recogniseCeremonyFile, type CeremonyFile } from './ptau-files.js';
export { circuitPower, countNonLinear, countPlonkGates, readCircuitSize, readR1csHeader, type CircuitSize } from './r1cs.js';
export {
  canonicalJson,
  hashVerificationKey,
  loadVerificationKey,
  newZKey,
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
