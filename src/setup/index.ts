export {
  checkPtauFits,
  devPtauPath,
  ensureDevPtau,
  importPtau,
  inspectPtau,
  requiredPower,
  type PtauInfo,
} from './ptau.js';
export {
  canonicalJson,
  hashVerificationKey,
  loadVerificationKey,
  readR1csHeader,
  setupGroth16,
  VKEY_FILE,
  ZKEY_FILE,
  type Groth16VerificationKey,
  type SetupGroth16Options,
  type SetupGroth16Result,
} from './groth16.js';
