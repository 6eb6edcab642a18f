/**
 * The logger snarkjs calls into, adapted: its warnings and errors are where it says why a call
 * failed (many calls resolve to -1 or false instead of throwing), so they are kept for our error
 * messages. No Node built-ins: the proof-system modules (src/systems/) use it in browsers too.
 */

/** The logger shape snarkjs calls into (some calls use `log`, the rest debug..error). */
export interface SnarkjsLogger {
  log(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * A snarkjs logger that keeps warnings/errors (for error messages) and drops the chatter, except
 * its progress lines ("<step>: <done>/<total>"), which go to `progress` when given.
 */
export function collectingLogger(progress?: (step: string, fraction: number) => void): { logger: SnarkjsLogger; errors: string[] } {
  const errors: string[] = [];
  const chatter = (msg: string) => {
    const m = progress && /^(.*?):?\s+(\d+)\/(\d+)\s*$/.exec(String(msg));
    if (m && Number(m[3]) > 0) progress!(m[1], Number(m[2]) / Number(m[3]));
  };
  const keep = (msg: string) => void errors.push(String(msg));
  return { logger: { log: chatter, debug: chatter, info: chatter, warn: keep, error: keep }, errors };
}
