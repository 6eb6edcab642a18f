/** Accepting a public ceremony's powers-of-tau file: prepared, contributed to, and verified or recognised. */
import { snarkjs } from '../core/snarkjs.js';
import { ZkError } from '../core/errors.js';
import { inspectPtau, invalid } from './ptau-inspect.js';
import { type CeremonyFile, recogniseCeremonyFile } from './ptau-files.js';
import { collectingLogger } from './snarkjs-logger.js';

/**
 * Accepts a public ceremony file (e.g. Hermez/Polygon powersOfTau28_hez_final_NN.ptau): it must be
 * a bn128 ptau, carry at least one contribution and be prepared for phase 2. With `verify`, the
 * file is hashed first: a published ceremony file (ceremony.ts) is recognised by its blake2b and
 * needs nothing more; any other file gets the full snarkjs check (pairings over every point:
 * minutes for large powers). `known` replaces the published list (tests).
 */
export async function importPtau(
  file: string,
  opts: { verify: boolean; known?: readonly CeremonyFile[] },
): Promise<{ power: number; prepared: boolean; ceremony?: CeremonyFile }> {
  const info = await inspectPtau(file);
  if (!info.prepared) {
    throw new ZkError(
      'PTAU_INVALID',
      `${file} is not prepared for phase 2. Run \`snarkjs powersoftau prepare phase2 ${file} <out.ptau>\` ` +
        `or download the "_final" file of the ceremony (e.g. powersOfTau28_hez_final_${info.power}.ptau)`,
      { file, power: info.power },
    );
  }
  if (info.contributions === 0) invalid(file, 'it has no contributions, so its secret is known (tau = 1)');
  if (!opts.verify) return { power: info.power, prepared: info.prepared };
  const ceremony = await recogniseCeremonyFile(file, opts.known);
  if (ceremony && ceremony.power === info.power) return { power: info.power, prepared: info.prepared, ceremony };
  await verifyPtau(file);
  return { power: info.power, prepared: info.prepared };
}

/** Runs snarkjs' verifier; its reasons arrive through logger.error, so they are collected. */
async function verifyPtau(file: string): Promise<void> {
  const { logger, errors } = collectingLogger();
  let ok: boolean;
  try {
    ok = await snarkjs.powersOfTau.verify(file, logger);
  } catch (e) {
    throw new ZkError('PTAU_INVALID', `${file} failed verification: ${(e as Error).message}`, { file });
  }
  if (!ok) {
    const why = errors.join('; ') || 'snarkjs reported failure';
    throw new ZkError('PTAU_INVALID', `${file} failed verification: ${why}`, { file });
  }
}
