/**
 * How large a powers-of-tau file a circuit needs, and the checks that refuse one too small or a
 * circuit above the development cap, before any work.
 */
import { ZkError } from '../core/errors.js';
import { DEFAULT_PROOF_SYSTEM, type ProofSystem } from '../core/systems.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { ceremonyFileFor, describeCeremonyFile } from './ptau-files.js';

/** bn128's scalar field has 2-adicity 28, so no FFT domain (hence no ptau) can exceed 2^28. */
export const MAX_PTAU_POWER = 28;
/** Tiny circuits share one file. */
const MIN_POWER = 8;

/**
 * Smallest ptau power a proof system can use for a circuit (each system's `ptauPower`, in
 * src/systems/, gives its formula from snarkjs' setup); never below 8, so tiny circuits share one
 * file. `plonkGates` (see r1cs.ts countPlonkGates) is required by the systems that count gates.
 */
export function requiredPower(nConstraints: number, nPublic: number, system: ProofSystem = DEFAULT_PROOF_SYSTEM, plonkGates?: number): number {
  for (const [name, v] of [
    ['nConstraints', nConstraints],
    ['nPublic', nPublic],
    ['plonkGates', plonkGates ?? 0],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ZkError('INTERNAL', `requiredPower: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  const module = PROOF_SYSTEM[system];
  if (module.countsPlonkGates && plonkGates === undefined) throw new ZkError('INTERNAL', `requiredPower: ${system} needs the PLONK gate count`);
  return Math.max(MIN_POWER, module.ptauPower({ nConstraints, nPublic, plonkGates }));
}

export { MAX_DEV_PTAU_POWER } from '../core/systems.js';

/**
 * Refuses (TOO_LARGE) a circuit that needs a ptau above `limit` (the development cap, or a given
 * file's power), before any work: the message names the power needed and the way out.
 */
export function checkPtauBudget(needed: number, limit: number, constraints?: number): void {
  if (needed <= limit) return;
  throw new ZkError(
    'TOO_LARGE',
    `the circuit${constraints === undefined ? '' : ` (${constraints} constraints)`} needs a powers-of-tau file of power ${needed}, above the limit of ${limit}: ` +
      `development ptau files are generated up to ZKINFER_MAX_PTAU_POWER (--max-power); give a ceremony file of power ${needed} or more with --ptau FILE (service: ZKINFER_PTAU)`,
    { requiredPower: needed, limit },
  );
}

/** Throws PTAU_INVALID when the file's power is below what the circuit needs. */
export function checkPtauFits(info: { power: number }, required: number): void {
  if (info.power >= required) return;
  throw new ZkError(
    'PTAU_INVALID',
    `powers-of-tau file has power ${info.power} (up to 2^${info.power} constraints) but the circuit ` +
      `needs power ${required}; use a ptau of power ${required} or more` +
      (ceremonyFileFor(required) ? `, e.g. the public ${describeCeremonyFile(ceremonyFileFor(required)!)}` : ''),
    { ptauPower: info.power, requiredPower: required },
  );
}
