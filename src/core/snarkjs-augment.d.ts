/**
 * What @types/snarkjs (0.7.9) lacks or gets wrong for snarkjs 0.7.6, as zkinfer calls it:
 * - `curves` (snarkjs exports it; the types do not declare it);
 * - `powersOfTau.verify` takes the ptau file and a logger (the types give an internal signature).
 */
import 'snarkjs';

declare module 'snarkjs' {
  export namespace curves {
    /** Builds (once per thread, then cached in globalThis.curve_bn128) the multi-threaded curve. */
    function getCurveFromName(name: string): Promise<unknown>;
  }
  export namespace powersOfTau {
    function verify(tauFilename: string, logger?: unknown): Promise<boolean>;
  }
}
