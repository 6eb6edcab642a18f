/**
 * Visibility and commitments (issue 5), against real circom2, snarkjs and circomlibjs:
 * - the commitment templates compute what circomlibjs computes outside, and every witness entry of
 *   them is constrained;
 * - a private or hashed input never appears among a proof's public signals, and a proof is bound to
 *   its input commitment and to its model's weights commitment;
 * - one changed weight changes the model commitment;
 * - private weights, in dense and convolution layers, leave no witness entry unconstrained.
 *
 * Needs the suite's development ptau: `node dist/test/global-setup.js` when run alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { inputCommitment, outputCommitment } from '../src/commit/open.js';
import { commit, type PackedTensor } from '../src/commit/poseidon.js';
import { parseVisibility } from '../src/commit/visibility.js';
import { ZkError } from '../src/core/errors.js';
import { buildWitnessCalculator, FIELD_PRIME, releaseCurve, toField } from '../src/core/snarkjs.js';
import { PROOF_SYSTEM } from '../src/systems/index.js';
import { quantizeInputs } from '../src/io/input.js';
import { compileModel } from '../src/model/compile.js';
import { type ModelInfo, modelFiles } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import { publicBundle, type ProofBundle } from '../src/prove/bundle.js';
import { ModelProver } from '../src/prove/prover.js';
import { planFromJson } from '../src/quantize/serialize.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { type Groth16VerificationKey, loadVerificationKey } from '../src/setup/index.js';
import { verifyBundle } from '../src/verify/verify.js';
import { EXAMPLES, tinyCnn, tinyMlp } from '../scripts/example-models.js';
import { tempDir, TEST_DATA_DIR } from './support/env.js';
import { compileWhole, fixedPoint, honestWitness, loadCompiled, signalNames } from './support/model-witness.js';
import { compileSnippet, nonConstantIndices, quietly, readR1cs, singleTamperSurvivors } from './support/witness.js';

const scratchDirs: string[] = [];
const scratch = (dir: string): string => (scratchDirs.push(dir), dir);
after(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
after(() => releaseCurve());

const tiny = EXAMPLES.find((e) => e.name === 'tiny_mlp')!;
const cnnExample = EXAMPLES.find((e) => e.name === 'tiny_cnn')!;
const samples = (ex: typeof tiny) => [1, 2, 3, 4].map((s) => ex.inputData(s));

test('visibility specs parse, defaults fill in, and mistakes are INPUT_INVALID naming the part', () => {
  assert.deepEqual(parseVisibility('input=hashed,weights=hashed'), { input: 'hashed', weights: 'hashed', output: 'public' });
  assert.deepEqual(parseVisibility(undefined), { input: 'public', weights: 'fixed', output: 'public' });
  for (const bad of ['input=fixed', 'inputs=public', 'weights', 'output=hashed=1']) {
    assert.throws(
      () => parseVisibility(bad),
      (e: unknown) => e instanceof ZkError && e.code === 'INPUT_INVALID' && e.message.includes(bad.split('=')[0]),
      bad,
    );
  }
});

describe('commitment templates', () => {
  // n values of b signed bits packed and hashed with a salt, for chains of 1 to 4 Poseidon calls.
  const cases = [
    { n: 3, bits: 9 },
    { n: 40, bits: 8 },
    { n: 500, bits: 8 },
    { n: 70, bits: 1, signed: false },
  ];
  const snippetOf = ({ n, bits, signed = true }: (typeof cases)[number]) => `pragma circom 2.1.0;
include "zkinfer/commit.circom";
template T() {
    signal input in[${n}];
    signal input salt;
    signal output out;
    component pack = PackDigits(${n}, ${bits}, ${signed ? 1n << BigInt(bits - 1) : 0n});
    pack.in <== in;
    var chunks = ${Math.ceil(n / Math.floor(253 / bits))};
    component hash = PoseidonChain(1 + chunks);
    hash.in[0] <== salt;
    for (var c = 0; c < chunks; c++) hash.in[1 + c] <== pack.out[c];
    out <== hash.out;
}
component main = T();
`;

  for (const c of cases) {
    test(`PackDigits(${c.n}, ${c.bits}) + PoseidonChain equals circomlibjs; every witness entry is constrained; out-of-range digits have no witness`, async () => {
      const snippet = await compileSnippet(snippetOf(c));
      scratch(snippet.dir);
      const signed = c.signed ?? true;
      const lo = signed ? -(1n << BigInt(c.bits - 1)) : 0n;
      const span = 1n << BigInt(c.bits);
      // Values across the whole range, both ends included.
      const values = Array.from({ length: c.n }, (_, i) => lo + ((BigInt(i) * 7919n) % span));
      values[0] = lo;
      values[c.n - 1] = lo + span - 1n;
      const salt = FIELD_PRIME - 12345n;
      const spec: PackedTensor = { name: 'x', count: c.n, bits: c.bits, signed };
      const w = await snippet.witness.calculateWitness({ in: values.map((v) => toField(v).toString()), salt: salt.toString() }, true);
      assert.equal(w[1], await commit([values], [spec], salt), 'the circuit and circomlibjs agree');
      assert.deepEqual(singleTamperSurvivors(readR1cs(snippet.r1csPath), w, nonConstantIndices(w.length)), []);
      for (const outside of [lo - 1n, lo + span]) {
        const bad = values.map((v, i) => (i === 1 ? outside : v));
        await assert.rejects(
          quietly(() => snippet.witness.calculateWitness({ in: bad.map((v) => toField(v).toString()), salt: '0' }, true)),
          `${outside} is out of range`,
        );
      }
    });
  }
});

interface Proven {
  dir: string;
  info: ModelInfo;
  vkey: Groth16VerificationKey;
  bundle: ProofBundle;
}

async function provenModel(label: string, onnx: Uint8Array, visibility: string, salt?: bigint): Promise<Proven> {
  const dir = scratch(tempDir(label));
  await compileModel(onnx, dir, { samples: samples(tiny), visibility: parseVisibility(visibility), name: label });
  const info = await setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} });
  const bundle = await (await ModelProver.load(dir)).prove(tiny.inputData(1), { salt });
  return { dir, info, vkey: await loadVerificationKey(dir), bundle };
}

/** tinyMlp with one weight of W1 moved by one step of the fixed point (1/256). */
function tinyMlpOneWeightChanged(): Uint8Array {
  const bytes = Buffer.from(tinyMlp());
  // The initializer's float bytes appear once in the serialized model: change one in place.
  const old = Buffer.from(Float32Array.from(loadOnnx(bytes).initializers.get('W1')!.data).buffer);
  const at = bytes.indexOf(old);
  assert.ok(at >= 0 && bytes.indexOf(old, at + 1) < 0, 'the tensor bytes are found exactly once');
  bytes.writeFloatLE(bytes.readFloatLE(at + 20) + 1 / 256, at + 20);
  return new Uint8Array(bytes);
}

describe('hashed input, hashed weights, public output (a user proves a score; the owner keeps the model secret)', () => {
  let m: Proven;
  const salt = 987654321n;
  before(async () => {
    m = await provenModel('hashed-in-weights', tinyMlp(), 'input=hashed,weights=hashed,output=public', salt);
  });

  test('the proof verifies; its public signals are the output and the two commitments, and hold no input value', async () => {
    const { info, vkey, bundle } = m;
    assert.deepEqual(await verifyBundle(info, vkey, publicBundle(bundle)), { valid: true });
    assert.deepEqual(
      info.publicLayout.map((s) => (s.kind === 'commitment' ? s.of : s.kind)),
      ['output', 'input', 'weights'],
    );
    assert.equal(bundle.publicSignals.length, 3 + 2);
    assert.deepEqual(bundle.inputs, []);
    const inputs = quantizeInputs(
      tiny.inputData(1),
      info.inputs.map((t) => t.scale),
      info.inputs.map((t) => t.name),
    ).flat();
    const shared = JSON.stringify(publicBundle(bundle));
    for (const v of inputs) {
      assert.ok(!bundle.publicSignals.includes(toField(v).toString()), `input value ${v} is not a public signal`);
      assert.ok(!new RegExp(`"${v}"`).test(shared), `input value ${v} is not in the shared bundle`);
    }
    assert.equal(bundle.commitments!.weights, info.commitments.weights!.value, 'every proof names the model commitment');
    assert.equal(bundle.opening!.salt, String(salt));
  });

  test('a client recomputes the input commitment with inputCommitment(); another input or salt does not match', async () => {
    const { info, vkey, bundle } = m;
    const mine = await inputCommitment(info, tiny.inputData(1), salt);
    assert.equal(mine, bundle.commitments!.input);
    assert.deepEqual(await verifyBundle(info, vkey, bundle, { inputCommitment: mine }), { valid: true });
    for (const other of [await inputCommitment(info, tiny.inputData(2), salt), await inputCommitment(info, tiny.inputData(1), salt + 1n)]) {
      assert.notEqual(other, mine);
      const verdict = await verifyBundle(info, vkey, bundle, { inputCommitment: other });
      assert.equal(verdict.valid, false);
    }
  });

  test('checked against a different model commitment, or with a commitment signal changed, the proof fails', async () => {
    const { info, vkey, bundle } = m;
    const otherModel = { ...info, commitments: { ...info.commitments, weights: { ...info.commitments.weights!, value: '123' } } };
    const verdict = await verifyBundle(otherModel, vkey, bundle);
    assert.equal(verdict.valid, false);
    assert.match((verdict as { reason: string }).reason, /commitment/);
    for (const at of [3, 4]) {
      const signals = [...bundle.publicSignals];
      signals[at] = ((BigInt(signals[at]) + 1n) % FIELD_PRIME).toString();
      assert.equal(await PROOF_SYSTEM.groth16.verify(vkey, signals, bundle.proof), false, `commitment signal ${at} changed`);
      const edited = { ...bundle, publicSignals: signals, commitments: { ...bundle.commitments, [at === 3 ? 'input' : 'weights']: signals[at] } };
      assert.equal((await verifyBundle(info, vkey, edited)).valid, false);
    }
    // A bundle whose shown commitment disagrees with its signals.
    assert.equal((await verifyBundle(info, vkey, { ...bundle, commitments: { ...bundle.commitments, input: '1' } })).valid, false);
  });

  test('every single-entry tampering of the witness breaks a constraint (private weights, range checks, hashes)', async (t) => {
    const model = await loadCompiled('hashed-in-weights', m.dir);
    const { plan } = model;
    const w = await honestWitness(model, fixedPoint(model, tiny.inputData(1)), salt);
    const names = signalNames(model);
    const survivors = singleTamperSurvivors(readR1cs(modelFiles(m.dir).r1cs), w, nonConstantIndices(w.length));
    assert.deepEqual(
      survivors.map((i) => names.get(i)),
      [],
    );
    t.diagnostic(`${w.length - 1} witness entries, ${plan.weights.reduce((s, x) => s + x.values.length, 0)} of them private weights`);
  });

  test('one changed weight changes the model commitment; the same weights give the same one', async () => {
    const commitmentOf = async (onnx: Uint8Array) => {
      const plan = quantizeGraph(loadOnnx(onnx), { scale: m.info.scale, visibility: m.info.visibility });
      return String(
        await commit(
          plan.weights.map((w) => w.values),
          m.info.commitments.weights!.tensors,
        ),
      );
    };
    assert.equal(await commitmentOf(tinyMlp()), m.info.commitments.weights!.value);
    assert.notEqual(await commitmentOf(tinyMlpOneWeightChanged()), m.info.commitments.weights!.value);
  });
});

describe('private input, hashed output', () => {
  let m: Proven;
  before(async () => {
    m = await provenModel('private-in-hashed-out', tinyMlp(), 'input=private,output=hashed');
  });

  test('the only public signal is the output commitment; the opening recomputes it', async () => {
    const { info, vkey, bundle } = m;
    assert.equal(bundle.publicSignals.length, 1);
    assert.deepEqual([bundle.inputs, bundle.outputs], [[], []]);
    const opening = bundle.opening!;
    const committed = await outputCommitment(
      info,
      opening.outputs.map((o) => o.integers.map(BigInt)),
      opening.salt!,
    );
    assert.equal(committed, bundle.commitments!.output);
    assert.deepEqual(await verifyBundle(info, vkey, publicBundle(bundle), { outputCommitment: committed }), { valid: true });
    const edited = opening.outputs.map((o) => o.integers.map((v, k) => BigInt(v) + (k === 0 ? 1n : 0n)));
    assert.equal((await verifyBundle(info, vkey, bundle, { outputCommitment: await outputCommitment(info, edited, opening.salt!) })).valid, false);
  });

  test('a private input beyond its range check is refused before proving, and has no witness', async () => {
    const { info, dir } = m;
    const { bits, signed } = planFromJson(readFileSync(modelFiles(dir).plan, 'utf8')).inputs[0].range!;
    assert.equal(signed, true, 'tiny_mlp calibrates on signed inputs');
    const big = 2 ** (bits - 1 - info.inputs[0].scale) + 1;
    await assert.rejects(
      (await ModelProver.load(dir)).prove([[big, 0, 0, 0]]),
      (e: unknown) => e instanceof ZkError && e.code === 'INPUT_OUT_OF_RANGE' && /input "input"/.test(e.message),
    );
    const calc = await buildWitnessCalculator(readFileSync(modelFiles(dir).wasm));
    const q = BigInt(Math.round(big * 2 ** info.inputs[0].scale));
    await assert.rejects(quietly(() => calc.calculateWitness({ in0: [q, 0n, 0n, 0n].map((v) => v.toString()), salt: '1' }, true)));
  });
});

test('public weights: the weights are public signals and must be the model’s', async () => {
  const m = await provenModel('public-weights', tinyMlp(), 'weights=public');
  const { info, vkey, bundle } = m;
  assert.equal(bundle.publicSignals.length, 3 + 4 + 67);
  assert.deepEqual(await verifyBundle(info, vkey, bundle), { valid: true });
  const other = { ...info, commitments: { weightsSha256: '0'.repeat(64) } };
  assert.equal((await verifyBundle(other, vkey, bundle)).valid, false);
});

test('private convolution weights: a product per kernel tap, the reference outputs, no unconstrained witness entry', async (t) => {
  const model = await compileWhole('cnn-weights', tinyCnn(), scratch(tempDir('cnn-weights')), {
    samples: samples(cnnExample),
    visibility: parseVisibility('weights=private'),
    headroomBits: 1,
  });
  const { info } = model;
  assert.ok(info.accuracy.withinTolerance, `error ${info.accuracy.maxAbsError} against onnxruntime`);
  assert.ok(
    info.layers.some((l) => l.op === 'Conv' && l.gadget === 'Product' && l.count === 2 * 16 * 16),
    JSON.stringify(info.layers.map((l) => [l.op, l.gadget, l.count])),
  );
  const w = await honestWitness(model, fixedPoint(model, cnnExample.inputData(1)));
  assert.deepEqual(singleTamperSurvivors(readR1cs(modelFiles(model.dir).r1cs), w, nonConstantIndices(w.length)), []);
  t.diagnostic(`${info.constraints.r1cs} constraints: ${info.layers.map((l) => `${l.op} ${l.count} x ${l.gadget}`).join(', ')}`);
});

test("the package's library entry ('zkinfer') exports the client side: commitments and offline verification", async () => {
  const lib = await import('zkinfer');
  for (const name of [
    'inputCommitment',
    'outputCommitment',
    'verifyBundle',
    'parseProofBundle',
    'loadVerificationKey',
    'readModelInfo',
    'ModelProver',
    'compileModel',
  ]) {
    assert.equal(typeof (lib as Record<string, unknown>)[name], 'function', name);
  }
  assert.equal(String(await lib.poseidonChain([1n, 2n])), '7853200120776062878684798364095072458815029376092732009249414926327459813530');
});
