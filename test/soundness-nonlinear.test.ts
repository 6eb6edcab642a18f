/**
 * Soundness of the non-linear gadgets beyond ReLU and rescale, against real circom2 and snarkjs (no
 * mocks), in the style of soundness.test.ts:
 *
 * - ZeroTest, NonNegative, RoundHalfEven, DividePositive and DivideSigned, each in a small main
 *   circuit: the witness computes the reference semantics (written here independently of the
 *   compiler's evaluator) on inputs across the whole range, every single-entry change of the witness
 *   breaks a constraint, cheating quotients with compensating remainders fail, and inputs without an
 *   answer (division by zero, out of range) make the witness calculator throw.
 * - Table gadgets, which the emitter generates per layer: models with Sigmoid (windowed, saturating),
 *   Tanh after a dense layer (the input's low bits are dropped), Exp (no window), Softmax and a
 *   division by a computed value, compiled end to end. The witness matches the evaluator on every
 *   input of a saturating table's range (and more), and exhaustive single-entry tampering of whole
 *   witnesses fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { FIELD_PRIME, releaseCurve, toField, toSigned } from '../src/core/snarkjs.js';
import { modelFiles } from '../src/model/layout.js';
import { evaluate } from '../src/quantize/evaluate.js';
import { quantizeForPlan } from '../src/quantize/input.js';
import type { QuantizedGraph, TableGroup } from '../src/quantize/plan.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { type CompiledModel, compileWhole, fixedPoint, honestWitness, modelWitness, tamperProof } from './support/model-witness.js';
import { treeWalk } from './support/models.js';
import { tempDir } from './support/env.js';
import {
  type Snippet,
  compileSnippet,
  failingConstraints,
  namesByIndex,
  nonConstantIndices,
  quietly,
  readR1cs,
  tamperedWitnessesFail,
  witnessIndex,
  witnessSatisfies,
} from './support/witness.js';
import { floorDiv, pow2 } from './support/reference.js';

const abs = (x: bigint): bigint => (x < 0n ? -x : x);
/** round(x / 2^k), ties to even. */
function halfEven(x: bigint, k: number): bigint {
  const q = floorDiv(x, pow2(k));
  const r = x - q * pow2(k);
  const half = pow2(k - 1);
  return r > half || (r === half && q % 2n !== 0n) ? q + 1n : q;
}
/** round(a·2^k / b), ties upward. */
const divRound = (a: bigint, b: bigint, k: number): bigint => floorDiv(2n * (b < 0n ? -a : a) * pow2(k) + abs(b), 2n * abs(b));

const PRELUDE = 'pragma circom 2.1.0;\ninclude "zkinfer/fixedpoint.circom";\n';

const scratchDirs: string[] = [];
const scratch = (dir: string): string => (scratchDirs.push(dir), dir);
after(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
after(() => releaseCurve());

const isAssertion = (e: unknown): boolean => e instanceof Error && /Assert Failed|Error/.test(e.message);

/** The witness of main for named inputs given as signed integers. */
const witnessOf = (s: Snippet, input: Record<string, bigint>): Promise<bigint[]> =>
  s.witness.calculateWitness(Object.fromEntries(Object.entries(input).map(([k, v]) => [k, toField(v).toString()])), true);

/** Checks the witness's output and that every single-entry tampering fails; returns the number of tamperings. */
async function exactAndTamperProof(s: Snippet, input: Record<string, bigint>, expected: bigint): Promise<number> {
  const w = await witnessOf(s, input);
  assert.equal(
    toSigned(w[witnessIndex(s.symbols, 'main.out')]),
    expected,
    `out for ${JSON.stringify(input, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
  );
  return tamperedWitnessesFail(s.r1csPath, w, nonConstantIndices(w.length), namesByIndex(s.symbols));
}

describe('ZeroTest, NonNegative, RoundHalfEven', () => {
  let zero: Snippet;
  let zeroWrapped: Snippet;
  let sign: Snippet;
  let round3: Snippet;
  let round1: Snippet;
  let trunc: Snippet;
  before(async () => {
    [zero, zeroWrapped, sign, round3, round1, trunc] = await Promise.all([
      compileSnippet(`${PRELUDE}component main {public [in]} = ZeroTest();\n`),
      compileSnippet(
        `${PRELUDE}template Wrap() {\n  signal input x;\n  signal input y;\n  signal output out;\n  component z = ZeroTest();\n  z.in <== x - 3 * y;\n  out <== z.out;\n}\ncomponent main = Wrap();\n`,
      ),
      compileSnippet(`${PRELUDE}component main {public [in]} = NonNegative(10);\n`),
      compileSnippet(`${PRELUDE}component main {public [in]} = RoundHalfEven(3, 10);\n`),
      compileSnippet(`${PRELUDE}component main = RoundHalfEven(1, 6);\n`),
      compileSnippet(`${PRELUDE}component main {public [in]} = TruncShift(3, 10);\n`),
    ]);
    [zero, zeroWrapped, sign, round3, round1, trunc].forEach((s) => scratch(s.dir));
  });

  test('ZeroTest: 1 exactly at 0 for any field element, 3 constraints, every entry pinned (also inv when in = 0)', async (t) => {
    assert.equal(zero.constraints, 3);
    let tampered = 0;
    for (const x of [0n, 1n, -1n, 2n, 7n, -1000n, pow2(200), FIELD_PRIME / 2n, FIELD_PRIME - 2n]) {
      tampered += await exactAndTamperProof(zero, { in: x }, x % FIELD_PRIME === 0n ? 1n : 0n);
    }
    for (const [x, y] of [
      [3n, 1n],
      [0n, 0n],
      [4n, 1n],
      [-6n, -2n],
      [5n, 7n],
    ]) {
      tampered += await exactAndTamperProof(zeroWrapped, { x, y }, x === 3n * y ? 1n : 0n);
    }
    t.diagnostic(`${tampered} tampered witnesses rejected`);
  });

  test('ZeroTest: claiming 1 for a non-zero input, or 0 for zero, has no witness', async () => {
    const r1cs = new Uint8Array(readFileSync(zero.r1csPath));
    const inIdx = witnessIndex(zero.symbols, 'main.in');
    const outIdx = witnessIndex(zero.symbols, 'main.out');
    const invIdx = witnessIndex(zero.symbols, 'main.inv');
    const size = readR1cs(zero.r1csPath).nWires;
    const w = (x: bigint, out: bigint, inv: bigint) => {
      const v = new Array<bigint>(size).fill(0n);
      v[0] = 1n;
      v[inIdx] = toField(x);
      v[outIdx] = toField(out);
      v[invIdx] = toField(inv);
      return v;
    };
    for (const inv of [0n, 1n, 5n, FIELD_PRIME - 1n]) {
      assert.equal(await witnessSatisfies(r1cs, w(5n, 1n, inv)), false, 'out = 1 for in = 5');
      assert.equal(await witnessSatisfies(r1cs, w(0n, 0n, inv)), false, 'out = 0 for in = 0');
    }
  });

  test('NonNegative(10): the sign on the whole range, tamper-proof; out-of-range inputs throw', async (t) => {
    let tampered = 0;
    for (const x of [-512n, -511n, -100n, -1n, 0n, 1n, 100n, 510n, 511n]) tampered += await exactAndTamperProof(sign, { in: x }, x >= 0n ? 1n : 0n);
    for (const x of [512n, -513n, FIELD_PRIME / 2n])
      await assert.rejects(
        quietly(() => witnessOf(sign, { in: x })),
        isAssertion,
      );
    t.diagnostic(`${tampered} tampered witnesses rejected`);
  });

  test('RoundHalfEven(3, 10) and (1, 6): ties to even; TruncShift(3, 10): toward zero; on every input, tamper-proof', async (t) => {
    let tampered = 0;
    for (let x = -512n; x < 512n; x++) {
      const w = await witnessOf(round3, { in: x });
      assert.equal(toSigned(w[witnessIndex(round3.symbols, 'main.out')]), halfEven(x, 3), `round(${x} / 8)`);
    }
    for (const x of [-512n, -12n, -4n, -3n, 0n, 4n, 12n, 20n, 21n, 500n, 511n]) tampered += await exactAndTamperProof(round3, { in: x }, halfEven(x, 3));
    for (let x = -32n; x < 32n; x++) tampered += await exactAndTamperProof(round1, { in: x }, halfEven(x, 1));
    for (let x = -512n; x < 512n; x++) {
      const w = await witnessOf(trunc, { in: x });
      assert.equal(toSigned(w[witnessIndex(trunc.symbols, 'main.out')]), x / 8n, `trunc(${x} / 8)`);
    }
    for (const x of [-512n, -9n, -8n, -7n, -1n, 0n, 1n, 7n, 8n, 511n]) tampered += await exactAndTamperProof(trunc, { in: x }, x / 8n);
    assert.equal(Number(/non-linear constraints: (\d+)/.exec(trunc.log)?.[1]), 10 + 4);
    assert.equal(round3.constraints, 10 + 5);
    assert.equal(round1.constraints, 6 + 1);
    t.diagnostic(`1024 inputs exact; ${tampered} tampered witnesses rejected`);
  });
});

describe('DividePositive and DivideSigned', () => {
  let pos: Snippet;
  let signed: Snippet;
  let constNum: Snippet;
  // k = 2, |b| ≤ 2^(bBits−1) = 16, q in 9 signed bits.
  const [k, bBits, qBits] = [2, 5, 9];
  before(async () => {
    [pos, signed, constNum] = await Promise.all([
      compileSnippet(`${PRELUDE}component main {public [a, b]} = DividePositive(${k}, ${bBits}, ${qBits});\n`),
      compileSnippet(`${PRELUDE}component main {public [a, b]} = DivideSigned(${k}, ${bBits}, ${qBits});\n`),
      compileSnippet(
        `${PRELUDE}template Recip() {\n  signal input b;\n  signal output out;\n  component d = DivideSigned(6, 6, 9);\n  d.a <== 1;\n  d.b <== b;\n  out <== d.out;\n}\ncomponent main {public [b]} = Recip();\n`,
      ),
    ]);
    [pos, signed, constNum].forEach((s) => scratch(s.dir));
  });

  test('costs: 2·bBits + qBits + 1, and 3·bBits + qBits + 3 (one less with a constant numerator)', () => {
    assert.equal(pos.constraints, 2 * bBits + qBits + 1);
    assert.equal(signed.constraints, 3 * bBits + qBits + 3);
    assert.equal(constNum.constraints, 3 * 6 + 9 + 2);
  });

  test('exact rounding on a grid of numerators and divisors, every single-entry tampering fails', async (t) => {
    let tampered = 0;
    let checked = 0;
    for (let b = 1n; b <= 16n; b++) {
      for (let a = -30n; a <= 30n; a += 1n) {
        const w = await witnessOf(pos, { a, b });
        assert.equal(toSigned(w[witnessIndex(pos.symbols, 'main.out')]), divRound(a, b, k), `${a}·4/${b}`);
        checked++;
      }
    }
    for (let b = -16n; b < 16n; b++) {
      if (b === 0n) continue;
      for (const a of [-30n, -7n, -1n, 0n, 1n, 3n, 29n]) {
        const w = await witnessOf(signed, { a, b });
        assert.equal(toSigned(w[witnessIndex(signed.symbols, 'main.out')]), divRound(a, b, k), `${a}·4/${b}`);
        checked++;
      }
    }
    for (const [a, b] of [
      [-30n, 1n],
      [7n, 3n],
      [-7n, 3n],
      [0n, 16n],
      [29n, 16n],
      [5n, 2n],
    ])
      tampered += await exactAndTamperProof(pos, { a, b }, divRound(a, b, k));
    for (const [a, b] of [
      [7n, -3n],
      [-7n, -3n],
      [-7n, 3n],
      [30n, -16n],
      [0n, -1n],
      [1n, 15n],
    ])
      tampered += await exactAndTamperProof(signed, { a, b }, divRound(a, b, k));
    for (const b of [1n, -1n, 3n, -7n, 31n, -32n]) tampered += await exactAndTamperProof(constNum, { b }, divRound(1n, b, 6));
    t.diagnostic(`${checked} quotients exact; ${tampered} tampered witnesses rejected`);
  });

  test('q ± 1 with the remainder compensated, all linear relations kept, fails the remainder range', async (t) => {
    const r1cs = readR1cs(pos.r1csPath);
    const idx = (name: string) => witnessIndex(pos.symbols, name);
    let cases = 0;
    for (const [a, b] of [
      [7n, 3n],
      [-7n, 3n],
      [0n, 5n],
      [29n, 16n],
      [-30n, 1n],
    ]) {
      const honest = await witnessOf(pos, { a, b });
      for (const delta of [1n, -1n]) {
        const w = [...honest];
        const q = toSigned(honest[idx('main.out')]) + delta;
        const num = 2n * a * pow2(k) + b;
        const r = num - 2n * b * q;
        w[idx('main.out')] = toField(q);
        const qb = pos.symbols.get('main.qb') ?? -1;
        if (qb >= 0) w[qb] = toField(q * b);
        // Every bit of r's decomposition honest where it can be; the rest absorbed by bit 0.
        // (Signals circom's optimiser substituted away follow from the kept ones.)
        const set = (name: string, v: bigint) => {
          const i = pos.symbols.get(name) ?? -1;
          if (i >= 0) w[i] = toField(v);
        };
        const setBits = (prefix: string, value: bigint, n: number) => {
          let rest = value;
          for (let i = n - 1; i >= 1; i--) {
            const bit = value >= 0n && value < pow2(n) ? (value >> BigInt(i)) & 1n : 0n;
            set(`${prefix}.out[${i}]`, bit);
            rest -= bit * pow2(i);
          }
          set(`${prefix}.out[0]`, rest);
        };
        setBits('main.rBits', r, bBits);
        setBits('main.gap', 2n * b - 1n - r, bBits);
        setBits('main.qRange', q + pow2(qBits - 1), qBits);
        const failing = failingConstraints(r1cs, w);
        assert.ok(failing.length >= 1, `a = ${a}, b = ${b}: quotient ${q} must not verify`);
        cases++;
      }
    }
    t.diagnostic(`${cases} cheating witnesses rejected`);
  });

  test('division by zero, a negative divisor for DividePositive, and divisors beyond bBits have no witness', async () => {
    for (const a of [0n, 5n, -5n]) {
      await assert.rejects(
        quietly(() => witnessOf(pos, { a, b: 0n })),
        isAssertion,
      );
      await assert.rejects(
        quietly(() => witnessOf(signed, { a, b: 0n })),
        isAssertion,
      );
      await assert.rejects(
        quietly(() => witnessOf(pos, { a, b: -3n })),
        isAssertion,
      );
    }
    await assert.rejects(
      quietly(() => witnessOf(signed, { a: 1n, b: 16n })),
      isAssertion,
    );
    await assert.rejects(
      quietly(() => witnessOf(signed, { a: 1n, b: -17n })),
      isAssertion,
    );
    // A quotient beyond qBits: 255·4/1 = 1020 needs 11 bits.
    await assert.rejects(
      quietly(() => witnessOf(pos, { a: 255n, b: 1n })),
      isAssertion,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Generated table templates, inside whole compiled models.
// ---------------------------------------------------------------------------------------------

type Compiled = CompiledModel;

const compileOnnx = (label: string, onnx: Uint8Array, samples: number[][][]): Promise<Compiled> =>
  compileWhole(label, onnx, scratch(tempDir(label)), { samples });

/** The honest witness for float inputs (one flat array per graph input), quantized as the prover does. */
const witnessFor = (m: Compiled, values: number[][]): Promise<bigint[]> => honestWitness(m, quantizeForPlan(m.plan, values).inputs);

const tables = (p: QuantizedGraph): TableGroup[] => p.groups.filter((g): g is TableGroup => g.kind === 'table');

describe('table gadgets in whole models', () => {
  let sigmoid: Compiled;
  let tanh: Compiled;
  let exp: Compiled;
  let softmax: Compiled;
  let division: Compiled;
  const rng = mulberry32(77);
  const samples = (n: number, dims: number[], amp: number) =>
    Array.from({ length: 4 }, () => Array.from({ length: n }, () => Array.from(randomTensor(rng, dims, amp))));

  before(async () => {
    const W = randomTensor(mulberry32(5), [3, 4], 1);
    [sigmoid, tanh, exp, softmax, division] = await Promise.all([
      compileOnnx('sigmoid', new OnnxBuilder().input('x', [1, 2]).node('Sigmoid', ['x'], ['y']).output('y', [1, 2]).build(), samples(1, [1, 2], 2)),
      compileOnnx(
        'gemm-tanh',
        new OnnxBuilder()
          .input('x', [1, 4])
          .initializer('W', [3, 4], W)
          .node('Gemm', ['x', 'W'], ['h'], { transB: 1 })
          .node('Tanh', ['h'], ['y'])
          .output('y', [1, 3])
          .build(),
        samples(1, [1, 4], 1),
      ),
      compileOnnx('exp', new OnnxBuilder().input('x', [1, 2]).node('Exp', ['x'], ['y']).output('y', [1, 2]).build(), samples(1, [1, 2], 0.5)),
      compileOnnx(
        'softmax',
        new OnnxBuilder().input('x', [1, 3]).node('Softmax', ['x'], ['y'], { axis: -1 }).output('y', [1, 3]).build(),
        samples(1, [1, 3], 2),
      ),
      compileOnnx(
        'division',
        new OnnxBuilder().input('a', [1, 3]).input('b', [1, 3]).node('Div', ['a', 'b'], ['y']).output('y', [1, 3]).build(),
        Array.from({ length: 4 }, () => [
          Array.from(randomTensor(rng, [1, 3], 2)),
          Array.from(randomTensor(rng, [1, 3], 1), (v) => v + Math.sign(v || 1) * 0.25),
        ]),
      ),
    ]);
  });

  test('the layer cost model.json reports is the R1CS count', () => {
    for (const m of [sigmoid, tanh, exp, softmax, division]) {
      assert.equal(m.info.constraints.layers, m.info.constraints.nonLinear, `${m.label}: ${JSON.stringify(m.info.layers)}`);
    }
  });

  test('Sigmoid (windowed, saturating): the witness is the evaluator on every input of its range and beyond the window', async (t) => {
    const g = tables(sigmoid.plan)[0];
    assert.ok(g.bits - g.shift > g.window, 'a saturating table has a range wider than its window');
    const half = pow2(g.bits - 1);
    let n = 0;
    // Every 3rd integer of the whole range check [−2^(bits−1), 2^(bits−1)), both elements.
    for (let x = -half; x < half; x += 3n) {
      await honestWitness(sigmoid, [[x, -x - 1n]]);
      n++;
    }
    t.diagnostic(`${n} inputs of ${g.bits} bits (window ${g.window} bits, ${g.leaves.length} leaves, max error ${g.maxError.toExponential(2)})`);
  });

  test('Sigmoid: every single-entry tampering fails, inside the window, at its edges and saturated', async (t) => {
    const g = tables(sigmoid.plan)[0];
    const edge = pow2(g.window - 1);
    let total = 0;
    for (const pair of [
      [0n, 1n],
      [-edge, edge - 1n],
      [edge, -edge - 1n],
      [pow2(g.bits - 1) - 1n, -pow2(g.bits - 1)],
      [37n, -500n],
    ]) {
      total += await tamperProof(sigmoid, await honestWitness(sigmoid, [pair]));
    }
    t.diagnostic(`${total} tampered witnesses rejected`);
  });

  test('Sigmoid: inputs beyond the range check have no witness', async () => {
    const g = tables(sigmoid.plan)[0];
    for (const x of [pow2(g.bits - 1), -pow2(g.bits - 1) - 1n, FIELD_PRIME / 3n]) {
      await assert.rejects(
        quietly(() => modelWitness(sigmoid, [[x, 0n]])),
        isAssertion,
      );
    }
  });

  test('Tanh after Gemm (input bits below the working scale dropped), Exp (no window), Softmax, Div: exact and tamper-proof', async (t) => {
    const tg = tables(tanh.plan)[0];
    assert.ok(tg.shift > 0, 'the Gemm output is rescaled inside the table');
    const eg = tables(exp.plan)[0];
    assert.equal(eg.bits - eg.shift, eg.window, 'Exp has no saturation window');
    let total = 0;
    const r = mulberry32(9);
    for (let i = 0; i < 3; i++) {
      total += await tamperProof(tanh, await witnessFor(tanh, [Array.from(randomTensor(r, [1, 4], 1))]));
      total += await tamperProof(exp, await witnessFor(exp, [Array.from(randomTensor(r, [1, 2], 0.5))]));
      total += await tamperProof(softmax, await witnessFor(softmax, [Array.from(randomTensor(r, [1, 3], 2))]));
      total += await tamperProof(division, await witnessFor(division, [Array.from(randomTensor(r, [1, 3], 2)), [0.5, -0.75, 1.25 * (i + 1)]]));
    }
    // Exp on every input of its range.
    const half = pow2(eg.bits - 1);
    for (let x = -half; x < half; x++) await honestWitness(exp, [[x, 0n]]);
    t.diagnostic(`${total} tampered witnesses rejected; Exp exact on all ${2n * half} inputs`);
  });

  test('a wrong table output fails: every other value of the output signal breaks the R1CS', async () => {
    const files = modelFiles(sigmoid.dir);
    const r1cs = readR1cs(files.r1cs);
    const w = await honestWitness(sigmoid, [[100n, -3n]]);
    for (const delta of [1n, -1n, 2n, 65536n, FIELD_PRIME - 7n]) {
      for (const k of [1, 2]) {
        const bad = [...w];
        bad[k] = (bad[k] + delta) % FIELD_PRIME;
        assert.ok(failingConstraints(r1cs, bad).length > 0, `output ${k - 1} changed by ${delta}`);
      }
    }
  });

  test('division by zero is refused by the evaluator and has no witness', async () => {
    const ints = fixedPoint(division, [
      [1, 1, 1],
      [0.5, 0, 1],
    ]);
    assert.throws(() => evaluate(division.plan, ints, { checkRanges: true }), /division by zero/);
    await assert.rejects(
      quietly(() => modelWitness(division, ints)),
      isAssertion,
    );
  });
});

describe('booleans, comparisons, selection by computed indices', () => {
  let boolean: Snippet;
  let logic: Compiled;
  let lookup: Compiled;

  before(async () => {
    boolean = await compileSnippet(`${PRELUDE}component main {public [in]} = Boolean();\n`);
    scratch(boolean.dir);
    const rng = mulberry32(12);
    logic = await compileOnnx(
      'logic',
      new OnnxBuilder()
        .input('x', [1, 4])
        .input('p', [1, 4], 'bool')
        .initializer('th', [4], [0.1234567, -0.3, 0.5, 0])
        .initializer('labels', [4], [7, -2, 3.5, 1])
        .node('Less', ['x', 'th'], ['lt'])
        .node('And', ['p', 'lt'], ['both'])
        .node('Neg', ['x'], ['nx'])
        .node('Where', ['both', 'x', 'nx'], ['w'])
        .node('ArgMax', ['w'], ['i'], { axis: 1, keepdims: 0 })
        .node('Gather', ['labels', 'i'], ['label'])
        .node('Abs', ['x'], ['ax'])
        .node('Round', ['ax'], ['r'])
        .output('w', [1, 4])
        .output('label', [1])
        .output('r', [1, 4])
        .build(),
      Array.from({ length: 4 }, () => [Array.from(randomTensor(rng, [1, 4], 2)), [1, 0, 1, 1]]),
    );
    // A two-level tree walk: node = 1 + [x > t0], leaf = 2·[x > t0] + [x > t[node]], value = leaves[leaf].
    lookup = await compileOnnx('tree-walk', treeWalk().output('value', [1]).build(), [[[0.5]], [[-0.5]], [[0]], [[0.2]]]);
  });

  test('Boolean(): 0 and 1 pass, one constraint, tamper-proof; 2 or −1 have no witness', async () => {
    assert.equal(Number(/non-linear constraints: (\d+)/.exec(boolean.log)?.[1]), 1);
    for (const x of [0n, 1n]) await exactAndTamperProof(boolean, { in: x }, x);
    for (const x of [2n, -1n, FIELD_PRIME / 2n])
      await assert.rejects(
        quietly(() => witnessOf(boolean, { in: x })),
        isAssertion,
      );
  });

  test('comparisons, And, Where, ArgMax → Gather, Abs, Round: the witness is the evaluator, every entry pinned', async (t) => {
    const r = mulberry32(4);
    let total = 0;
    for (let i = 0; i < 6; i++) {
      const p = Array.from({ length: 4 }, () => (r() < 0.5 ? 0 : 1));
      total += await tamperProof(logic, await witnessFor(logic, [Array.from(randomTensor(r, [1, 4], 2)), p]));
    }
    // Ties (ArgMax's first maximum) and values on a rounding tie.
    total += await tamperProof(
      logic,
      await witnessFor(logic, [
        [0.5, 0.5, -0.5, 1.5],
        [0, 0, 0, 0],
      ]),
    );
    t.diagnostic(`${total} tampered witnesses rejected (${logic.info.layers.map((l) => `${l.count} x ${l.gadget}`).join(', ')})`);
  });

  test('a boolean input that is not 0 or 1 is refused by the evaluator and has no witness', async () => {
    const ints = [
      [0n, 0n, 0n, 0n],
      [1n, 2n, 0n, 1n],
    ];
    assert.throws(() => evaluate(logic.plan, ints, { checkRanges: true }), /not 0 or 1/);
    await assert.rejects(
      quietly(() => modelWitness(logic, ints)),
      isAssertion,
    );
  });

  test('a tree walk (indices built from comparisons, table lookups): exact on every input, tamper-proof', async (t) => {
    let total = 0;
    let n = 0;
    for (let q = -300n; q <= 300n; q += 3n, n++) {
      const w = await honestWitness(lookup, [[q]]);
      if (n % 20 === 0 || [-77n, -75n, 24n, 27n, 114n, 117n].includes(q)) total += await tamperProof(lookup, w);
    }
    t.diagnostic(`${total} tampered witnesses rejected`);
  });
});

describe('normalization, fractional powers and TopK in whole models', () => {
  let norm: Compiled;
  let topk: Compiled;
  const rng = mulberry32(31);

  before(async () => {
    [norm, topk] = await Promise.all([
      compileOnnx(
        'layernorm',
        new OnnxBuilder({ opset: 17 })
          .input('x', [2, 4])
          .initializer('g', [4], randomTensor(rng, [4], 1))
          .initializer('e', [], [0.5])
          .node('LayerNormalization', ['x', 'g'], ['y'])
          .node('Abs', ['x'], ['ax'])
          .node('Pow', ['ax', 'e'], ['p'])
          .output('y', [2, 4])
          .output('p', [2, 4])
          .build(),
        Array.from({ length: 4 }, () => [Array.from(randomTensor(rng, [2, 4], 2))]),
      ),
      compileOnnx(
        'topk',
        new OnnxBuilder()
          .input('x', [1, 5])
          .initializerInt64('k', [1], [3])
          .node('TopK', ['x', 'k'], ['v', 'i'], { axis: 1 })
          .output('v', [1, 3])
          .output('i', [1, 3], 'int64')
          .build(),
        Array.from({ length: 4 }, () => [Array.from(randomTensor(rng, [1, 5], 2))]),
      ),
    ]);
  });

  test('LayerNormalization and Pow 0.5: exact to the evaluator and tamper-proof', async (t) => {
    let total = 0;
    const r = mulberry32(8);
    for (let i = 0; i < 4; i++) total += await tamperProof(norm, await witnessFor(norm, [Array.from(randomTensor(r, [2, 4], 2))]));
    // A row of equal values: variance 0, invStd = 1/√ε.
    total += await tamperProof(norm, await witnessFor(norm, [[0.5, 0.5, 0.5, 0.5, -1, 1, 0, 0.25]]));
    t.diagnostic(`${total} tampered witnesses rejected (${norm.info.layers.map((l) => `${l.count} x ${l.gadget}`).join(', ')})`);
  });

  test('TopK: values and indices (ties included) exact and tamper-proof', async (t) => {
    let total = 0;
    const r = mulberry32(9);
    for (let i = 0; i < 4; i++) total += await tamperProof(topk, await witnessFor(topk, [Array.from(randomTensor(r, [1, 5], 2))]));
    total += await tamperProof(topk, await witnessFor(topk, [[1, 1, -1, 1, 0.5]]));
    t.diagnostic(`${total} tampered witnesses rejected`);
  });
});
