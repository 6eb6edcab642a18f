/**
 * Circuit sizes read straight from circom's r1cs file, as each proof system counts them, so ptau
 * sizing errors are ours (snarkjs reports them as -1 or a generic throw) and no curve is built.
 */
import { ZkError } from '../core/errors.js';
import { FIELD_PRIME } from '../core/snarkjs.js';
import { DEFAULT_PROOF_SYSTEM, type ProofSystem } from '../core/systems.js';
import { PROOF_SYSTEM, type CircuitSize } from '../systems/index.js';
import { type BinFile, requireFile, uniqueSection, withBinFile } from './binfile.js';
import { requiredPower } from './ptau-size.js';

export type { CircuitSize };

/**
 * The r1cs header (section 1: n8, prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels u64,
 * nConstraints), read directly so sizing errors are ours and no curve is built for it.
 */
export async function readR1csHeader(file: string): Promise<{ nConstraints: number; nPublic: number; nPubOut: number }> {
  await requireFile(file, 'ARTIFACT_MISSING', 'r1cs file');
  return withBinFile(file, 'r1cs', 'INTERNAL', async (bin) => {
    const { nPublic, nPubOut, nConstraints } = await readHeader(bin, file);
    return { nConstraints, nPublic, nPubOut };
  });
}

async function readHeader(bin: BinFile, file: string): Promise<{ n8: number; nPublic: number; nPubOut: number; nConstraints: number }> {
  const header = uniqueSection(bin, 1, file, 'INTERNAL');
  if (!header || header.size < 4) throw new ZkError('INTERNAL', `${file}: r1cs has no header`);
  const n8 = (await bin.read(header.offset, 4)).readUInt32LE(0);
  const body = await bin.read(header.offset + 4, n8 + 28);
  const prime = leBigInt(body, 0, n8);
  if (prime !== FIELD_PRIME) {
    throw new ZkError('INTERNAL', `${file} was compiled for a prime other than bn128's; compile with --prime bn128`);
  }
  const nPubOut = body.readUInt32LE(n8 + 4);
  const nPublic = nPubOut + body.readUInt32LE(n8 + 8);
  return { n8, nPublic, nPubOut, nConstraints: body.readUInt32LE(n8 + 24) };
}

/** The size a system's setup measures: systems that count PLONK gates read every constraint. */
export async function readCircuitSize(file: string, system: ProofSystem = DEFAULT_PROOF_SYSTEM): Promise<CircuitSize> {
  const { nConstraints, nPublic } = await readR1csHeader(file);
  const size = { nConstraints, nPublic };
  return PROOF_SYSTEM[system].countsPlonkGates ? { ...size, plonkGates: await countPlonkGates(file) } : size;
}

/** The smallest ptau power `system` can set up the circuit in `file` with. */
export async function circuitPower(file: string, system: ProofSystem = DEFAULT_PROOF_SYSTEM): Promise<number> {
  return sizePower(await readCircuitSize(file, system), system);
}

/** The smallest ptau power `system` can set up a circuit of this size with. */
export const sizePower = (size: CircuitSize, system: ProofSystem): number => requiredPower(size.nConstraints, size.nPublic, system, size.plonkGates);

/** Everything one pass over an r1cs tells: the header's counts, the non-linear constraints and the PLONK gates. */
export interface R1csSummary extends CircuitSize {
  nPubOut: number;
  /** Constraints where both A and B hold a variable (see checkCircuit in src/model/layout.ts). */
  nonLinear: number;
  plonkGates: number;
}

/** Reads the r1cs once for every size zkinfer checks (compile and setup need them all). */
export async function readR1csSummary(file: string): Promise<R1csSummary> {
  let nonLinear = 0;
  let gates = 0;
  const { nConstraints, nPublic, nPubOut } = await walkConstraints(file, (a, b, c) => {
    if (variables(a) > 0 && variables(b) > 0) nonLinear++;
    gates += gatesFor(a, b, c);
  });
  return { nConstraints, nPublic, nPubOut, nonLinear, plonkGates: nPublic + gates };
}

type LinearCombination = Map<number, bigint>;

/**
 * The number of PLONK gates snarkjs' plonk_setup / fflonk_setup (r1cs_constraint_processor.js)
 * makes from the r1cs: one per public signal, then per constraint A·B = C:
 * - A or B zero: a sum gate over C; A (or B) a constant k: a sum gate over k·B − C (terms may cancel);
 *   a sum gate takes 3 variables, each variable beyond costs one addition gate;
 * - otherwise a multiplication gate taking one variable per side, each extra one an addition gate.
 * The constant wire 0 never counts as a variable.
 */
export const countPlonkGates = async (file: string): Promise<number> => (await readR1csSummary(file)).plonkGates;

/** Calls `visit` with each constraint's A, B and C (wire → coefficient); resolves to the header. */
async function walkConstraints(file: string, visit: (a: LinearCombination, b: LinearCombination, c: LinearCombination) => void) {
  await requireFile(file, 'ARTIFACT_MISSING', 'r1cs file');
  return withBinFile(file, 'r1cs', 'INTERNAL', async (bin) => {
    const header = await readHeader(bin, file);
    const { n8, nConstraints } = header;
    const section = uniqueSection(bin, 2, file, 'INTERNAL');
    if (!section) throw new ZkError('INTERNAL', `${file}: r1cs has no constraints section`);
    const buf = await bin.read(section.offset, section.size);
    let pos = 0;
    const readLc = (): LinearCombination => {
      const lc: LinearCombination = new Map();
      const n = buf.readUInt32LE(pos);
      pos += 4;
      for (let i = 0; i < n; i++, pos += 4 + n8) {
        const value = leBigInt(buf, pos + 4, n8);
        if (value !== 0n) lc.set(buf.readUInt32LE(pos), value);
      }
      return lc;
    };
    for (let c = 0; c < nConstraints; c++) visit(readLc(), readLc(), readLc());
    return header;
  });
}

const variables = (lc: LinearCombination): number => lc.size - (lc.has(0) ? 1 : 0);
const extra = (lc: LinearCombination, max: number): number => Math.max(0, variables(lc) - max);

function gatesFor(a: LinearCombination, b: LinearCombination, c: LinearCombination): number {
  if (a.size === 0 || b.size === 0) return 1 + extra(c, 3);
  if (variables(a) === 0) return 1 + extra(scaledMinus(b, a.get(0)!, c), 3);
  if (variables(b) === 0) return 1 + extra(scaledMinus(a, b.get(0)!, c), 3);
  return 1 + extra(a, 1) + extra(b, 1) + extra(c, 1);
}

/** k·x − y over the field, zero terms dropped (snarkjs' joinLinearCombinations). */
function scaledMinus(x: LinearCombination, k: bigint, y: LinearCombination): LinearCombination {
  const out: LinearCombination = new Map();
  for (const [s, v] of x) out.set(s, (k * v) % FIELD_PRIME);
  for (const [s, v] of y) out.set(s, ((out.get(s) ?? 0n) - v + FIELD_PRIME) % FIELD_PRIME);
  for (const [s, v] of out) if (v === 0n) out.delete(s);
  return out;
}

const leBigInt = (buf: Buffer, offset: number, n8: number): bigint =>
  BigInt(
    '0x' +
      (Buffer.from(buf.subarray(offset, offset + n8))
        .reverse()
        .toString('hex') || '0'),
  );
