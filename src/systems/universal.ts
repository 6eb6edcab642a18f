/** What PLONK and FFLONK share: a universal setup, whose keys derive from the ptau alone. */
import { ZkError } from '../core/errors.js';
import { snarkjs } from '../core/snarkjs.js';
import { collectingLogger } from '../setup/snarkjs-logger.js';
import type { ProofSystemModule } from './system.js';

/** PLONK's setup resolves to -1 after logging why; FFLONK's throws: both become INTERNAL with the reason. */
export function universalSetup(system: 'plonk' | 'fflonk'): ProofSystemModule['setup'] {
  return async ({ r1cs, ptau, zkey }, opts) => {
    const { logger, errors } = collectingLogger(opts.progress);
    let result: unknown;
    try {
      result = await snarkjs[system].setup(r1cs, ptau, zkey, logger);
    } catch (e) {
      throw new ZkError('INTERNAL', `snarkjs ${system} setup failed: ${(e as Error).message}`);
    }
    if (result === -1) throw new ZkError('INTERNAL', `snarkjs ${system} setup failed: ${errors.join('; ') || 'no reason given'}`);
  };
}
