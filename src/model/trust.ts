/**
 * Who a verifier must trust for a model's keys: whose honesty a proof's soundness rests on. No Node
 * modules here: proof bundles carry the summary, and the client library builds bundles in browsers.
 */
import { ZkError } from '../core/errors.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import type { ModelInfo, Phase2 } from './layout.js';

/** Keys from before ceremonies (no `phase2` recorded) were what the system's setup leaves: Groth16's the operator's. */
export const phase2Of = (info: ModelInfo): Phase2 | undefined => (info.setup ? (info.setup.phase2 ?? PROOF_SYSTEM[info.setup.system].phase2) : undefined);

export interface TrustSummary {
  phase2: Phase2;
  /** Who must be honest for proofs to be sound, in words. */
  trusted: string;
  /** Present when whoever runs the service could forge proofs (or no proof is sound yet). */
  warning?: string;
}

export const OPERATOR_WARNING =
  'operator-only key: the operator made the only phase-2 contribution, knows its secret (delta) and could forge a proof of any output; run a ceremony (zkinfer ceremony) for keys nobody alone controls';

export const DEVELOPMENT_PTAU_WARNING =
  'development ptau: whoever made it knows its secret (tau) and could forge a proof of any output; set up over a public ceremony file (setup --ptau) for anything but development';

/** The trust a model's keys ask for; a finalized ceremony's contributors by name (from model.json, as its transcript has them). */
export function trustSummary(info: ModelInfo): TrustSummary | undefined {
  const phase2 = phase2Of(info);
  if (!phase2 || !info.setup) return undefined;
  const ptau = info.setup.developmentPtau ? 'the development ptau (its maker alone: development only)' : 'the ptau ceremony';
  if (phase2 === 'operator') return { phase2, trusted: 'the operator alone', warning: OPERATOR_WARNING };
  // Past phase 2, a development ptau is what one machine knows the secret of: said as loudly as the operator's key.
  const ptauWarning = info.setup.developmentPtau ? { warning: DEVELOPMENT_PTAU_WARNING } : {};
  if (phase2 === 'none') return { phase2, trusted: ptau, ...ptauWarning };
  const ceremony = info.setup.ceremony ?? { contributions: 0, finalized: false };
  if (!ceremony.finalized) {
    return { phase2, trusted: 'nobody yet', warning: 'the phase-2 ceremony is not finalized: proofs are refused until its owner finalizes it with a beacon' };
  }
  const names = ceremony.names?.length ? ` (${ceremony.names.join(', ')})` : '';
  return { phase2, trusted: `any one of ${ceremony.contributions} contributors${names} and ${ptau}`, ...ptauWarning };
}

/**
 * The key of an open ceremony may still be the initial one (gamma = delta = the G2 generator), with
 * which anyone forges: A = alpha, B = beta, C = −IC(x) verifies for any public signals. So until the
 * owner finalizes it, proving, verifying and exporting verifiers are all refused.
 * Takes model.json (`setup.ceremony`) or the API's model view (`ceremony`).
 * @throws ZkError CONFLICT while the model's phase-2 ceremony is not finalized.
 */
export function requireFinalKey(model: { name: string; setup?: { ceremony?: { finalized: boolean } }; ceremony?: { finalized: boolean } }): void {
  const ceremony = model.setup?.ceremony ?? model.ceremony;
  if (ceremony && !ceremony.finalized) {
    throw new ZkError(
      'CONFLICT',
      `model ${model.name}: its phase-2 ceremony is not finalized, and its key may still be the initial one, with which anyone can forge a proof; proofs, verification and verifiers are refused until the owner finalizes it`,
      { ceremony: { finalized: false } },
    );
  }
}
