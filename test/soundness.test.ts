/**
 * Soundness, against real circom2 and snarkjs (no mocks). What the product promises: for every
 * template, a tampered witness or public signal must fail; an out-of-range value must make witness
 * generation fail with a clear error, not a proof of a wrapped-around number.
 *
 * - Each gadget template (FloorShift, Rescale, RescaleRelu) in a small main circuit: the witness
 *   computes floor division / ReLU exactly across the whole signed range, every single-entry change of
 *   the witness breaks a constraint, a cheating quotient with a compensating remainder is caught, and
 *   out-of-range inputs make the witness calculator throw.
 * - Whole models (tinyMlp, tinyCnn): exhaustive single-entry tampering of real witnesses, Groth16
 *   proofs whose public signals cannot be changed, bundles whose shown outputs cannot be edited, keys
 *   that do not cross models, and inputs beyond the calibrated range refused before any proof.
 *
 * Needs the suite's development ptau: `node dist/test/global-setup.js` when run alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { ZkError } from '../src/core/errors.js';
import { FIELD_PRIME, releaseCurve, snarkjs, toField, toSigned } from '../src/core/snarkjs.js';
import { PROOF_SYSTEM } from '../src/systems/index.js';
import { type ModelInfo, modelFiles } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import { type ProofBundle, decodeTensor } from '../src/prove/bundle.js';
import { witnessInput } from '../src/prove/engine.js';
import { ModelProver } from '../src/prove/prover.js';
import { evaluate } from '../src/quantize/evaluate.js';
import { quantizeForPlan } from '../src/quantize/input.js';
import { type Groth16VerificationKey, loadVerificationKey, readR1csHeader, requiredPower } from '../src/setup/index.js';
import { verifyBundle } from '../src/verify/verify.js';
import { EXAMPLES, tinyCnn, tinyMlp } from '../scripts/example-models.js';
import { type CompiledModel, compileWhole, fixedPoint, honestWitness, signalNames, witnessInputOf } from './support/model-witness.js';
import { gemmRelu } from './support/models.js';
import { TEST_DATA_DIR, TEST_PTAU_POWER, tempDir } from './support/env.js';
import {
  type Snippet,
  compileSnippet,
  encodeWtns,
  failingConstraints,
  namesByIndex,
  nonConstantIndices,
  quietly,
  readR1cs,
  singleTamperSurvivors,
  tamperedWitnessesFail,
  witnessFromAssignment,
  witnessIndex,
  witnessSatisfies,
} from './support/witness.js';
import { floorDiv, pow2 } from './support/reference.js';

// ---------------------------------------------------------------------------------------------
// Reference integer semantics, written independently of the compiler's evaluator.
// ---------------------------------------------------------------------------------------------

const max0 = (x: bigint): bigint => (x > 0n ? x : 0n);
const bitsOf = (u: bigint, n: number): bigint[] => Array.from({ length: n }, (_, i) => (u >> BigInt(i)) & 1n);

/** Inputs across the whole signed range [−2^(bits−1), 2^(bits−1)): both extremes, around 0 and around ±2^shift. */
function rangeSamples(shift: number, bits: number): bigint[] {
  const half = pow2(bits - 1);
  const d = pow2(shift);
  const xs = [
    -half,
    -half + 1n,
    -half + d,
    -(half / 3n),
    -d - 1n,
    -d,
    -d + 1n,
    -2n,
    -1n,
    0n,
    1n,
    2n,
    d - 1n,
    d,
    d + 1n,
    half / 3n,
    half - d - 1n,
    half - 2n,
    half - 1n,
  ];
  return [...new Set(xs)].filter((x) => x >= -half && x < half).sort((a, b) => (a < b ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// The templates, each in a small main circuit (as main itself, or wrapped as a subcomponent the way
// emitted models use them; inputs public or private).
// ---------------------------------------------------------------------------------------------

interface TemplateCase {
  label: string;
  shift: number;
  bits: number;
  relu: boolean;
  /** The main input signal. */
  input: string;
  /** Whether main exposes FloorShift's `nonNeg` output. */
  nonNeg: boolean;
  code: string;
}

const PRELUDE = 'pragma circom 2.1.0;\ninclude "zkinfer/fixedpoint.circom";\n';

const CASES: TemplateCase[] = [
  {
    label: 'FloorShift(3, 10) as main, public input',
    shift: 3,
    bits: 10,
    relu: false,
    input: 'in',
    nonNeg: true,
    code: `${PRELUDE}component main {public [in]} = FloorShift(3, 10);\n`,
  },
  {
    label: 'FloorShift(0, 6) in a wrapper, private input',
    shift: 0,
    bits: 6,
    relu: false,
    input: 'x',
    nonNeg: false,
    code: `${PRELUDE}template Wrap() {\n  signal input x;\n  signal output out;\n  component f = FloorShift(0, 6);\n  f.in <== x;\n  out <== f.out;\n}\ncomponent main = Wrap();\n`,
  },
  {
    label: 'Rescale(4, 12) as main, private input',
    shift: 4,
    bits: 12,
    relu: false,
    input: 'in',
    nonNeg: false,
    code: `${PRELUDE}component main = Rescale(4, 12);\n`,
  },
  {
    label: 'RescaleRelu(4, 12) in a wrapper, public input',
    shift: 4,
    bits: 12,
    relu: true,
    input: 'x',
    nonNeg: false,
    code: `${PRELUDE}template Wrap() {\n  signal input x;\n  signal output out;\n  component r = RescaleRelu(4, 12);\n  r.in <== x;\n  out <== r.out;\n}\ncomponent main {public [x]} = Wrap();\n`,
  },
];

const snippets = new Map<TemplateCase, Snippet>();

/** Build directories this file creates, removed when it ends. */
const scratchDirs: string[] = [];
const scratch = (dir: string): string => (scratchDirs.push(dir), dir);

before(async () => {
  const compiled = await Promise.all(CASES.map((c) => compileSnippet(c.code)));
  CASES.forEach((c, i) => {
    scratch(compiled[i].dir);
    snippets.set(c, compiled[i]);
  });
});

/** The witness entry of main's input, or undefined when it is private and circom's O2 substituted it away (a linear function of kept signals). */
const inputIndex = (s: Snippet, c: TemplateCase): number | undefined => {
  const idx = s.symbols.get(`main.${c.input}`);
  assert.ok(idx !== undefined, `main.${c.input} is in the .sym file`);
  return idx >= 0 ? idx : undefined;
};

const witnessOf = (s: Snippet, c: TemplateCase, x: bigint): Promise<bigint[]> => s.witness.calculateWitness({ [c.input]: toField(x).toString() }, true);

/** The wasm's failure on an out-of-range input: circom's assert in Num2Bits's sum constraint. */
const isRangeAssertion = (e: unknown): boolean => e instanceof Error && /Assert Failed/.test(e.message) && /Num2Bits/.test(e.message);

describe('gadget templates', () => {
  for (const c of CASES) {
    test(`${c.label}: exact on the whole range, and every single-entry tampering fails`, async (t) => {
      const s = snippets.get(c)!;
      const names = namesByIndex(s.symbols);
      const outIdx = witnessIndex(s.symbols, 'main.out');
      const inIdx = inputIndex(s, c);
      const xs = rangeSamples(c.shift, c.bits);
      let tampered = 0;
      for (const x of xs) {
        const w = await witnessOf(s, c, x);
        const q = floorDiv(x, pow2(c.shift));
        const expected = c.relu ? max0(q) : q;
        if (inIdx !== undefined) assert.equal(w[inIdx], toField(x), `input entry for x = ${x}`);
        assert.equal(toSigned(w[outIdx]), expected, `out for x = ${x}`);
        if (c.nonNeg) assert.equal(w[witnessIndex(s.symbols, 'main.nonNeg')], x >= 0n ? 1n : 0n, `nonNeg for x = ${x}`);
        tampered += await tamperedWitnessesFail(s.r1csPath, w, nonConstantIndices(w.length), names);
      }
      t.diagnostic(
        `${xs.length} inputs from ${xs[0]} to ${xs[xs.length - 1]}; witness of ${names.size + 1} entries (${s.constraints} constraints); ${tampered} tampered witnesses all rejected by snarkjs.wtns.check`,
      );
    });

    test(`${c.label}: out-of-range inputs make the witness calculator throw, and their wrapped-around witness fails`, async (t) => {
      const s = snippets.get(c)!;
      const half = pow2(c.bits - 1);
      const r1cs = new Uint8Array(readFileSync(s.r1csPath));
      const inIdx = inputIndex(s, c);
      const outIdx = witnessIndex(s.symbols, 'main.out');
      const messages: string[] = [];
      for (const x of [half, -half - 1n, half * 2n, -half * 4n, FIELD_PRIME / 2n]) {
        let message = '';
        await assert.rejects(
          quietly(() => witnessOf(s, c, x)),
          (e: unknown) => {
            message = (e as Error).message?.split('\n')[0] ?? String(e);
            return isRangeAssertion(e);
          },
          `x = ${x} is outside [-2^${c.bits - 1}, 2^${c.bits - 1}) and must be refused by the witness calculator`,
        );
        messages.push(message);
      }
      // What a wrap-around would prove: the honest witness of x ∓ 2^bits (in range) claimed for x,
      // with its own output or with the true output of x.
      let wraps = 0;
      for (const x of [half, -half - 1n]) {
        const wrapped = x >= 0n ? x - pow2(c.bits) : x + pow2(c.bits);
        const truth = c.relu ? max0(floorDiv(x, pow2(c.shift))) : floorDiv(x, pow2(c.shift));
        const honest = await witnessOf(s, c, wrapped);
        for (const claim of ['input', 'output', 'both'] as const) {
          if (claim !== 'output' && inIdx === undefined) continue; // a private input the optimiser folded away
          const w = [...honest];
          if (claim !== 'output') w[inIdx!] = toField(x);
          if (claim !== 'input') w[outIdx] = toField(truth);
          assert.equal(await witnessSatisfies(r1cs, w), false, `the witness of ${wrapped} must not pass for x = ${x} (claiming the ${claim})`);
          wraps++;
        }
      }
      t.diagnostic(`rejected with: ${[...new Set(messages)].join(' | ')}; ${wraps} wrapped-around witnesses fail the check`);
    });
  }

  describe('FloorShift(3, 10): a wrong quotient with a compensating remainder', () => {
    const c = CASES[0];
    const [shift, bits] = [c.shift, c.bits];
    const d = pow2(shift);
    const half = pow2(bits - 1);

    /**
     * Every signal of main = FloorShift(shift, bits) for input x, claiming the quotient
     * floor(x/2^shift) + delta with the remainder r − delta·2^shift, all linear relations intact
     * (b.in = Σ b.out[i]·2^i, out and nonNeg from the bits):
     * - `boolean` remainder bits: the honest bits of r (so Σ bits misses u by delta·2^shift);
     * - otherwise bits 1.. of r and b.out[0] absorbing the difference (so b.out[0] is not a bit).
     */
    function assignment(x: bigint, delta: bigint, remainder: 'boolean' | 'compensating'): Map<string, bigint> {
      const u = x + half;
      const high = (u >> BigInt(shift)) + delta;
      const r = u & (d - 1n);
      assert.ok(high >= 0n && high < pow2(bits - shift), 'the cheating quotient must still fit the high bits');
      const bitsHigh = bitsOf(high, bits - shift);
      const bitsLow = bitsOf(r, shift);
      if (remainder === 'compensating' && delta !== 0n) bitsLow[0] = r - delta * d - bitsLow.slice(1).reduce((s, b, i) => s + b * pow2(i + 1), 0n);
      const all = [...bitsLow, ...bitsHigh];
      const values = new Map<string, bigint>([
        ['main.in', x],
        ['main.b.in', u],
        ['main.out', floorDiv(x, d) + delta],
        ['main.nonNeg', all[bits - 1]],
      ]);
      all.forEach((b, i) => values.set(`main.b.out[${i}]`, b));
      return values;
    }

    test('the honest assignment rebuilds the calculator witness exactly', async () => {
      const s = snippets.get(c)!;
      for (const x of rangeSamples(shift, bits)) {
        const w = await witnessOf(s, c, x);
        assert.deepEqual(witnessFromAssignment(s.symbols, w.length, assignment(x, 0n, 'boolean')), w, `x = ${x}`);
      }
    });

    test('q ± 1 with r ∓ 2^shift fails the check: the remainder would leave [0, 2^shift)', async (t) => {
      const s = snippets.get(c)!;
      const r1csBytes = new Uint8Array(readFileSync(s.r1csPath));
      const r1cs = readR1cs(s.r1csPath);
      const size = r1cs.nWires;
      const outIdx = witnessIndex(s.symbols, 'main.out');
      let cases = 0;
      for (const x of [-half + d, -13n, -1n, 0n, 5n, 100n, half - d - 1n]) {
        for (const delta of [1n, -1n]) {
          for (const remainder of ['boolean', 'compensating'] as const) {
            const w = witnessFromAssignment(s.symbols, size, assignment(x, delta, remainder));
            assert.equal(toSigned(w[outIdx]), floorDiv(x, d) + delta, 'the cheat claims the wrong quotient');
            assert.equal(
              await witnessSatisfies(r1csBytes, w),
              false,
              `x = ${x}: quotient ${floorDiv(x, d) + delta} (${remainder} remainder bits) must not verify`,
            );
            const failing = failingConstraints(r1cs, w);
            assert.ok(failing.length >= 1);
            // With every linear relation kept, the compensating cheat breaks exactly one constraint:
            // the booleanity of b.out[0], i.e. the range check of the remainder.
            if (remainder === 'compensating') assert.equal(failing.length, 1, `x = ${x}, delta = ${delta}: constraints ${failing} fail`);
            cases++;
          }
        }
      }
      t.diagnostic(`${cases} cheating witnesses rejected`);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Whole models.
// ---------------------------------------------------------------------------------------------

/** A compiled example with its example input (seed 1) as floats, one flat array per graph input. */
interface Compiled extends CompiledModel {
  example: number[][];
}

const exampleOf = (name: string) => EXAMPLES.find((e) => e.name === name)!;

async function compileExample(label: string, onnx: Uint8Array, exampleName: string, headroomBits?: number): Promise<Compiled> {
  const ex = exampleOf(exampleName);
  // The example input (seed 1) and three more draws of the same distribution calibrate the ranges.
  const m = await compileWhole(label, onnx, scratch(tempDir(label)), { samples: [1, 2, 3, 4].map((seed) => ex.inputData(seed)), headroomBits });
  const header = await readR1csHeader(modelFiles(m.dir).r1cs);
  assert.ok(requiredPower(header.nConstraints, header.nPublic) <= TEST_PTAU_POWER, `${label} must fit the suite's ptau of power ${TEST_PTAU_POWER}`);
  return { ...m, example: ex.inputData(1) };
}

describe('whole models', () => {
  let mlp: Compiled;
  let cnn: Compiled;

  before(async () => {
    [mlp, cnn] = await Promise.all([
      compileExample('tiny-mlp', tinyMlp(), 'tiny_mlp'),
      // One bit of headroom instead of the default two keeps tinyCnn inside the suite's ptau.
      compileExample('tiny-cnn', tinyCnn(), 'tiny_cnn', 1),
    ]);
  });

  /** The model's witness for its example input, checked against the reference evaluator. */
  const exampleWitness = (m: Compiled): Promise<bigint[]> => honestWitness(m, quantizeForPlan(m.plan, m.example).inputs);

  test('tinyMlp: every single-entry tampering of its witness fails (snarkjs.wtns.check, exhaustive)', async (t) => {
    const w = await exampleWitness(mlp);
    const all = nonConstantIndices(w.length);
    const checked = await tamperedWitnessesFail(modelFiles(mlp.dir).r1cs, w, all, signalNames(mlp));
    // The direct evaluator used for tinyCnn agrees on all of them.
    assert.deepEqual(singleTamperSurvivors(readR1cs(modelFiles(mlp.dir).r1cs), w, all), []);
    t.diagnostic(`${checked} tampered witnesses of ${mlp.info.layers.map((l) => `${l.count} x ${l.gadget}`).join(', ')} all rejected`);
  });

  test('tinyCnn: every single-entry tampering of its witness fails (direct R1CS evaluation, exhaustive; snarkjs on a sample)', async (t) => {
    const w = await exampleWitness(cnn);
    const files = modelFiles(cnn.dir);
    const names = signalNames(cnn);
    const all = nonConstantIndices(w.length);
    const survivors = singleTamperSurvivors(readR1cs(files.r1cs), w, all);
    assert.deepEqual(
      survivors.map((i) => `${i} (${names.get(i)})`),
      [],
      'unconstrained witness entries',
    );
    // snarkjs.wtns.check on every public signal and an even spread of the private entries.
    const publicCount = cnn.info.publicSignals;
    const stride = Math.ceil((w.length - 1 - publicCount) / 60);
    const sample = all.filter((i) => i <= publicCount || (i - publicCount) % stride === 0);
    const checked = await tamperedWitnessesFail(files.r1cs, w, sample, names);
    t.diagnostic(
      `${all.length} tampered witnesses of ${cnn.info.layers.map((l) => `${l.count} x ${l.gadget}`).join(', ')} all break a constraint; ${checked} of them also checked by snarkjs.wtns.check`,
    );
  });

  describe('proofs', () => {
    const keys = new Map<Compiled, { info: ModelInfo; vkey: Groth16VerificationKey; bundle: ProofBundle }>();

    before(async () => {
      for (const m of [mlp, cnn]) {
        const info = await setupModel(m.dir, { dataDir: TEST_DATA_DIR, log: () => {} });
        const bundle = await (await ModelProver.load(m.dir)).prove(m.example);
        keys.set(m, { info, vkey: await loadVerificationKey(m.dir), bundle });
      }
    });

    for (const which of ['tinyMlp', 'tinyCnn'] as const) {
      test(`${which}: the honest proof verifies; changing any output or an input signal fails`, async (t) => {
        const m = which === 'tinyMlp' ? mlp : cnn;
        const { info, vkey, bundle } = keys.get(m)!;
        assert.equal(await PROOF_SYSTEM.groth16.verify(vkey, bundle.publicSignals, bundle.proof), true);
        assert.deepEqual(await verifyBundle(info, vkey, bundle), { valid: true });
        const outputCount = info.outputs.reduce((s, o) => s + o.dims.reduce((a, b) => a * b, 1), 0);
        const changed = [...Array.from({ length: outputCount }, (_, k) => k), outputCount, bundle.publicSignals.length - 1];
        for (const k of changed) {
          for (const by of [1n, FIELD_PRIME - 1n]) {
            const signals = [...bundle.publicSignals];
            signals[k] = ((BigInt(signals[k]) + by) % FIELD_PRIME).toString();
            assert.equal(await PROOF_SYSTEM.groth16.verify(vkey, signals, bundle.proof), false, `public signal ${k} changed by ${toSigned(by)}`);
          }
        }
        t.diagnostic(`${changed.length * 2} altered public signal vectors rejected (outputs 0..${outputCount - 1}, the first and last input)`);
      });
    }

    test('verifyBundle reports invalid for a bundle whose decoded output was edited', async () => {
      for (const m of [mlp, cnn]) {
        const { info, vkey, bundle } = keys.get(m)!;
        const scale = bundle.outputs[0].scale;
        // The readable value alone, and the integer with it (consistently, as a careful forger would).
        const valueOnly = structuredClone(bundle);
        valueOnly.outputs[0].values[0] += 0.5;
        const both = structuredClone(bundle);
        const edited = BigInt(both.outputs[0].integers[0]) + pow2(scale - 1);
        both.outputs[0].integers[0] = edited.toString();
        both.outputs[0].values[0] = Number(edited) / 2 ** scale;
        for (const forged of [valueOnly, both]) {
          const verdict = await verifyBundle(info, vkey, forged);
          assert.equal(verdict.valid, false, `${m.label}: an edited output must be invalid`);
          assert.match((verdict as { reason: string }).reason, /output .*\[0\].* differs from the proven public signal/);
        }
        // And changing the proven signal to match the edit breaks the pairing.
        const signals = structuredClone(both);
        signals.publicSignals[0] = toField(BigInt(both.outputs[0].integers[0])).toString();
        assert.equal((await verifyBundle(info, vkey, signals)).valid, false);
      }
    });

    test("a tinyMlp proof does not verify with tinyCnn's key", async () => {
      const { bundle } = keys.get(mlp)!;
      const { info: cnnInfo, vkey: cnnVkey } = keys.get(cnn)!;
      assert.equal(await PROOF_SYSTEM.groth16.verify(cnnVkey, bundle.publicSignals, bundle.proof), false);
      // Padded to tinyCnn's number of public signals, so only the key differs.
      const padded = [...bundle.publicSignals, ...Array<string>(cnnInfo.publicSignals - bundle.publicSignals.length).fill('0')];
      assert.equal(await PROOF_SYSTEM.groth16.verify(cnnVkey, padded, bundle.proof), false);
      assert.equal((await verifyBundle(cnnInfo, cnnVkey, { ...bundle, publicSignals: padded })).valid, false);
    });

    test('an input beyond the calibrated range is refused: no proof of a wrapped value', async () => {
      const { info } = keys.get(mlp)!;
      const prover = await ModelProver.load(mlp.dir);
      const big = mlp.example.map((row) => row.map((v) => v * 1000));
      const layer = info.layers[0];
      await assert.rejects(
        prover.prove(big),
        (e: unknown) =>
          e instanceof ZkError &&
          e.code === 'INPUT_OUT_OF_RANGE' &&
          e.message.includes(`layer ${layer.layer}`) &&
          e.message.includes(layer.node) &&
          (e.details as { layer?: number }).layer === layer.layer,
      );
      // The circuit itself refuses it too: no witness, hence no proof, whoever runs the prover.
      const input = witnessInputOf(mlp, fixedPoint(mlp, big));
      await assert.rejects(
        quietly(() => mlp.wasm.calculateWTNSBin(input, true)),
        isRangeAssertion,
      );
      await assert.rejects(
        quietly(() => mlp.wasm.calculateWitness(input, true)),
        isRangeAssertion,
      );
    });

    test('encodeWtns writes what the witness calculator writes', async () => {
      const input = witnessInputOf(mlp, fixedPoint(mlp, mlp.example));
      const bin = await mlp.wasm.calculateWTNSBin(input, true);
      const values = await mlp.wasm.calculateWitness(input, true);
      assert.deepEqual(encodeWtns(values), new Uint8Array(bin));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Public inputs are field elements that neither the circuit nor verifyBundle range-checks. When a
// model's first range-checked layer has fewer independent rows than there are inputs (any
// "wide → narrow" layer, e.g. MNIST's 784 → 128), an input vector x + Δ with C·Δ ≡ 0 (mod p) but
// C·Δ ≠ 0 over the integers gives every range check exactly the same value as x: the witness
// calculator accepts it, the proof verifies, and verifyBundle reports valid for inputs of ~2^250
// whose true (integer) evaluation overflows every range. The defence: inputs are bounded (|q| < 2^64,
// checked by the prover and by verifyBundle on the public signals) and the compiler proves that no
// affine form over bounded inputs reaches the field's half (checkNoWrap).
// ---------------------------------------------------------------------------------------------

const modPow = (b: bigint, e: bigint, p: bigint): bigint => {
  let r = 1n;
  for (b %= p; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
  return r;
};

/** A vector Δ with M·Δ ≡ 0 (mod p) and Δ[free] = 1, for a matrix of fewer rows than columns (Gauss–Jordan mod p). */
function kernelVector(rows: bigint[][], p: bigint): bigint[] {
  const m = rows.map((r) => r.map((v) => toField(v)));
  const n = m[0].length;
  const pivots: number[] = [];
  let row = 0;
  for (let col = 0; col < n && row < m.length; col++) {
    const pr = m.findIndex((r, i) => i >= row && r[col] !== 0n);
    if (pr < 0) continue;
    [m[row], m[pr]] = [m[pr], m[row]];
    const inv = modPow(m[row][col], p - 2n, p);
    m[row] = m[row].map((v) => (v * inv) % p);
    m.forEach((r, i) => {
      if (i !== row && r[col] !== 0n) {
        const f = r[col];
        m[i] = r.map((v, k) => toField(v - f * m[row][k]));
      }
    });
    pivots.push(col);
    row++;
  }
  const free = Array.from({ length: n }, (_, i) => i).find((c) => !pivots.includes(c));
  assert.ok(free !== undefined, 'the matrix has full column rank: no kernel');
  const delta = new Array<bigint>(n).fill(0n);
  delta[free] = 1n;
  pivots.forEach((col, i) => (delta[col] = toField(-m[i][free])));
  return delta;
}

test('an input the prover refuses (|x| ≥ 2^64, beyond every range) cannot be proven either', async (t) => {
  const ex = exampleOf('tiny_mlp');
  // [1, 4] → Gemm (2 units) → Relu: two range-checked forms over four inputs.
  const onnx = gemmRelu({ seed: 3, inputs: 4, units: 2, amp: 0.5 });
  const { dir, plan, wasm } = await compileWhole('wide-to-narrow', onnx, scratch(tempDir('wide-to-narrow')), {
    samples: [1, 2, 3, 4].map((s) => ex.inputData(s)),
  });
  const info = await setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} });
  const files = modelFiles(dir);
  const honest = await (await ModelProver.load(dir)).prove(ex.inputData(1));
  const vkey = await loadVerificationKey(dir);

  // The first range-checked layer's coefficients on the input wires, and a kernel vector mod p.
  const group = plan.groups[0];
  assert.equal(group.kind, 'shift');
  const first = plan.inputs[0].firstWire;
  const rows = (group.kind === 'shift' ? group.inputs : []).map((f) => Array.from({ length: 4 }, (_, c) => f.coefs[f.wires.indexOf(first + c)] ?? 0n));
  const delta = kernelVector(rows, FIELD_PRIME);
  const ints = honest.inputs[0].integers.map(BigInt);
  const forged = ints.map((v, i) => toSigned(toField(v + delta[i])));
  assert.ok(
    forged.some((v) => v >= 2n ** 64n || v <= -(2n ** 64n)),
    'the forged input is far out of range',
  );
  // Over the integers the forged input overflows the first layer's range check, and the prover refuses it.
  assert.throws(
    () => evaluate(plan, [forged], { checkRanges: true }),
    (e: unknown) => e instanceof ZkError && e.code === 'INPUT_OUT_OF_RANGE',
  );
  await assert.rejects(
    (await ModelProver.load(dir)).prove([forged.map((v) => Number(v) / 2 ** info.inputs[0].scale)]),
    (e: unknown) => e instanceof ZkError && e.code === 'INPUT_OUT_OF_RANGE',
  );

  // Feeding it to the witness calculator directly, as a dishonest prover would.
  let wtns: Uint8Array;
  try {
    wtns = await quietly(() => wasm.calculateWTNSBin(witnessInput(info, plan, [forged]), true));
  } catch (e) {
    assert.ok(isRangeAssertion(e), `refused, but not by a range check: ${(e as Error).message}`);
    return; // fixed in the circuit: the out-of-range input has no witness
  }
  const { proof, publicSignals } = await snarkjs.groth16.prove(new Uint8Array(readFileSync(files.zkey)), wtns);
  const outputCount = info.outputs.reduce((s, o) => s + o.dims.reduce((a, b) => a * b, 1), 0);
  const bundle: ProofBundle = {
    ...honest,
    proof,
    publicSignals,
    inputs: [
      decodeTensor(
        info.inputs[0],
        publicSignals.slice(outputCount).map((s) => toSigned(BigInt(s))),
      ),
    ],
    outputs: [
      decodeTensor(
        info.outputs[0],
        publicSignals.slice(0, outputCount).map((s) => toSigned(BigInt(s))),
      ),
    ],
  };
  const pairingOk = await PROOF_SYSTEM.groth16.verify(vkey, publicSignals, proof);
  t.diagnostic(
    `forged input ${bundle.inputs[0].values.map((v) => v.toPrecision(3)).join(', ')} → output ${bundle.outputs[0].values.join(', ')} (honest input ${honest.inputs[0].values.map((v) => v.toFixed(3)).join(', ')} → the same output); groth16.verify: ${pairingOk}`,
  );
  const verdict = await verifyBundle(info, vkey, bundle);
  assert.equal(verdict.valid, false, 'verifyBundle accepted a proof for an input whose integer evaluation overflows every range check');
});

after(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
after(() => releaseCurve());
