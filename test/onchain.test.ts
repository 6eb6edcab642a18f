/**
 * On-chain verification for Groth16, PLONK and FFLONK, with nothing mocked: real circom circuits,
 * snarkjs keys and proofs, the snarkjs Solidity verifiers and contracts/ZkInferConsumer.sol compiled
 * by solc, run on @ethereumjs/evm in-process.
 *
 * The models are two 3-3-2 MLPs (Gemm, Relu, Gemm: signed outputs) with different weights and the
 * same signal layout. tiny_mlp would need a ptau of power 13 for FFLONK (548 PLONK gates), above the
 * suite's ptau; these have about 200 gates, so FFLONK fits it and PLONK and Groth16 power 8.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { solidityCalldata } from '../src/chain/calldata.js';
import { consumerParameters, exportSolidityVerifier } from '../src/chain/verifier.js';
import { parseVisibility } from '../src/commit/visibility.js';
import {
  BASE_FIELD_PRIME as BASE_FIELD,
  buildWitnessCalculator,
  FIELD_PRIME,
  PROOF_SYSTEMS,
  type ProofSystem,
  releaseCurve,
  snarkjs,
  toField,
} from '../src/core/snarkjs.js';
import { quantizeInputs } from '../src/io/input.js';
import { planFromJson } from '../src/quantize/serialize.js';
import { compileModel } from '../src/model/compile.js';
import { type ModelInfo, modelFiles } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import type { ProofBundle } from '../src/prove/bundle.js';
import { ModelProver } from '../src/prove/prover.js';
import { circuitPower, countPlonkGates, ensureDevPtau, loadVerificationKey, requiredPower } from '../src/setup/index.js';
import { verifyBundle } from '../src/verify/verify.js';
import { mlp } from '../scripts/example-models.js';
import { type CallResult, Chain, call, compileSolidity, consumerSource, decodeInt256Array, encodeArgs, encodeConsumerArgs, keccakHex } from './support/evm.js';
import { REPO_ROOT, TEST_DATA_DIR, TEST_PTAU_POWER, tempDir } from './support/env.js';
import { selectorOf } from '../src/chain/verifier.js';

/**
 * Gas budgets for these 5-public-signal circuits: the verifier's execution gas (what STACK-NOTES
 * quotes), about 10% above what we measured; transaction gas adds 21000 and the calldata.
 */
const VERIFY_BUDGET: Record<ProofSystem, number> = { groth16: 240_000, plonk: 290_000, fflonk: 205_000 };
/** submit = verify + checks + decoding + storing 2 outputs and the statement's nullifier (three fresh slots) + the event. */
const SUBMIT_OVERHEAD_BUDGET = 145_000;

/** BN254's base field q: proof coordinates are below it. */
const INPUT = [[0.5, -0.25, 0.75]];
const work = tempDir('onchain');
const SUBMIT = 'submit(bytes32,uint256[],uint256[])';
const errorSelector = (sig: string) => selectorOf(sig);

let chain: Chain;
let consumer: { abi: unknown[]; bytecode: string };
const compiled: Record<'a' | 'b', string> = { a: '', b: '' };

before(async () => {
  // Two models with the same layout and different weights, compiled once, copied per system.
  for (const [key, seed] of [
    ['a', 1],
    ['b', 2],
  ] as const) {
    compiled[key] = join(work, `model-${key}`);
    await compileModel(mlp([3, 3, 2], seed), compiled[key], { name: `mlp332-${key}` });
    assert.ok((await circuitPower(modelFiles(compiled[key]).r1cs, 'fflonk')) <= TEST_PTAU_POWER, `model ${key} must fit the suite's ptau for FFLONK`);
  }
  chain = await Chain.create();
  consumer = compileSolidity({ 'ZkInferConsumer.sol': consumerSource() }).ZkInferConsumer;
});

after(releaseCurve);

interface Deployed {
  info: ModelInfo;
  dir: string;
  bundle: ProofBundle;
  verifier: string;
  consumer: string;
  deployGas: number;
}

/** Keys, a proof, the verifier and a consumer for one model in one system. */
async function deploy(model: 'a' | 'b', system: ProofSystem): Promise<Deployed> {
  const dir = join(work, `${model}-${system}`);
  cpSync(compiled[model], dir, { recursive: true });
  const info = await setupModel(dir, { dataDir: TEST_DATA_DIR, system, log: () => {} });
  const bundle = await (await ModelProver.load(dir)).prove(INPUT);
  const exported = await exportSolidityVerifier(dir);
  const contract = compileSolidity({ 'Verifier.sol': exported.source })[exported.contractName];
  const verifier = await chain.deploy(contract.bytecode);
  const consumerAddress = await deployConsumer(info, verifier.address);
  return { info, dir, bundle, verifier: verifier.address, consumer: consumerAddress, deployGas: verifier.gas.txGas };
}

async function deployConsumer(info: ModelInfo, verifier: string): Promise<string> {
  const args = encodeConsumerArgs(info, verifier);
  return (await chain.deploy(consumer.bytecode, args)).address;
}

const submit = (d: Deployed, modelId: string, proof: (string | bigint)[], pub: (string | bigint)[]): Promise<CallResult> =>
  chain.call(d.consumer, call(SUBMIT, [modelId, { array: proof }, { array: pub }]));

function assertReverts(r: CallResult, error: string, what: string): void {
  assert.equal(r.ok, false, `${what}: expected a revert`);
  assert.equal(r.returnValue.slice(0, 10), errorSelector(error), `${what}: expected ${error}, got ${r.error}`);
}

const gasReport: Record<string, unknown>[] = [];

for (const system of PROOF_SYSTEMS) {
  describe(system, () => {
    let a: Deployed;
    let b: Deployed;
    before(async () => {
      a = await deploy('a', system);
      b = await deploy('b', system);
    });

    test("off-chain: the proof verifies, a tampered one and another model's do not", async () => {
      const vkey = await loadVerificationKey(a.dir);
      assert.equal(vkey.protocol, system);
      assert.equal(a.bundle.system, system);
      assert.deepEqual(await verifyBundle(a.info, vkey, a.bundle), { valid: true });
      const signals = [...a.bundle.publicSignals];
      signals[signals.length - 1] = String(BigInt(signals[signals.length - 1]) + 1n); // an input
      const tampered = await verifyBundle(a.info, vkey, { ...a.bundle, publicSignals: signals });
      assert.equal(tampered.valid, false);
      const other = await verifyBundle(a.info, vkey, { ...b.bundle, model: a.bundle.model });
      assert.equal(other.valid, false);
    });

    test('the verifier accepts the proof, within the gas budget', async () => {
      const data = await solidityCalldata(a.bundle);
      const r = await chain.call(a.verifier, data.encoded);
      assert.ok(r.ok, r.error);
      assert.equal(BigInt(r.returnValue), 1n);
      assert.ok(r.executionGas <= VERIFY_BUDGET[system], `${system} verify: ${r.executionGas} gas > budget ${VERIFY_BUDGET[system]}`);
      gasReport.push({ system, verifyTxGas: r.txGas, verifyExecutionGas: r.executionGas, deployTxGas: a.deployGas });
    });

    test('the consumer stores the decoded output and emits InferenceVerified', async () => {
      const data = await solidityCalldata(a.bundle);
      const modelId = consumerParameters(a.info).modelId;
      const r = await submit(a, modelId, data.proof, data.publicSignals);
      assert.ok(r.ok, r.error);
      const expected = a.bundle.outputs.flatMap((o) => o.integers.map(BigInt));
      assert.ok(
        expected.some((v) => v < 0n),
        'the test input should give a negative output, to check the decoding',
      );
      assert.deepEqual(decodeInt256Array(r.returnValue), expected);

      const inputHash = keccakHex(
        `0x${data.publicSignals
          .slice(expected.length)
          .map((w) => w.slice(2))
          .join('')}`,
      );
      assert.equal(r.logs.length, 1);
      const [log] = r.logs;
      assert.deepEqual(log.topics, [
        keccakHex(`0x${Buffer.from('InferenceVerified(bytes32,address,bytes32,int256[])').toString('hex')}`),
        modelId,
        `0x${'0'.repeat(24)}${chain.sender.toString().slice(2)}`,
        inputHash,
      ]);
      assert.deepEqual(decodeInt256Array(log.data), expected);

      const version = await chain.call(a.consumer, call('versionId()', []));
      assert.equal(version.returnValue, consumerParameters(a.info).versionId, 'the consumer names the model version');
      assert.match(a.info.setup!.versionId!, /^[0-9a-f]{64}$/);

      const stored = await chain.call(a.consumer, call('outputOf(bytes32)', [inputHash]));
      assert.deepEqual(decodeInt256Array(stored.returnValue), expected);
      // The contract's 18-decimal view is exact at this scale (2^16 divides 10^18).
      const wad = await chain.call(a.consumer, call('toWad(int256)', [expected[0]]));
      assert.equal(BigInt.asIntN(256, BigInt(wad.returnValue)), (expected[0] * 10n ** 18n) / 2n ** BigInt(a.bundle.outputs[0].scale));

      const report = gasReport.find((g) => g.system === system)!;
      const overhead = r.executionGas - (report.verifyExecutionGas as number);
      assert.ok(overhead <= SUBMIT_OVERHEAD_BUDGET, `submit costs ${overhead} gas over the bare verify`);
      Object.assign(report, { submitExecutionGas: r.executionGas, submitTxGas: r.txGas });
    });

    test('a changed public signal is rejected, by the verifier and the consumer', async () => {
      const data = await solidityCalldata(a.bundle);
      const modelId = consumerParameters(a.info).modelId;
      for (const [what, index, delta] of [
        ['an output', 0, 1n],
        ['an input', data.publicSignals.length - 1, 1n],
        ['an output + p', 0, FIELD_PRIME],
      ] as const) {
        const pub = data.publicSignals.map((s, i) => (i === index ? BigInt(s) + delta : BigInt(s)));
        const r = await submit(a, modelId, data.proof, pub);
        assertReverts(r, delta === FIELD_PRIME ? 'SignalOutOfField(uint256)' : 'InvalidProof()', what);
        if (delta !== FIELD_PRIME) {
          const direct = await chain.call(a.verifier, data.encoded.slice(0, 10) + encodeArgs([...data.proof, ...pub]).slice(2));
          assert.equal(BigInt(direct.returnValue), 0n, `${what}: the verifier itself says false`);
        }
      }
    });

    test('an input beyond |q| < 2^64 is refused before verification: no aliasing of a huge input', async () => {
      const data = await solidityCalldata(a.bundle);
      const modelId = consumerParameters(a.info).modelId;
      const last = data.publicSignals.length - 1;
      for (const value of [2n ** 64n, FIELD_PRIME - 2n ** 64n]) {
        const pub = data.publicSignals.map((s, i) => (i === last ? value : BigInt(s)));
        assertReverts(await submit(a, modelId, data.proof, pub), 'InputOutOfRange(uint256)', `input ${value}`);
      }
    });

    test("another model's proof is rejected", async () => {
      const other = await solidityCalldata(b.bundle);
      const modelId = consumerParameters(a.info).modelId;
      // Claiming to be this model: the verifier (this model's key) refuses it.
      assertReverts(await submit(a, modelId, other.proof, other.publicSignals), 'InvalidProof()', 'proof of model b');
      // Naming its own model: refused before any verification.
      assertReverts(await submit(a, consumerParameters(b.info).modelId, other.proof, other.publicSignals), 'WrongModel(bytes32,bytes32)', 'model id of b');
      // A model with another signal layout.
      assertReverts(await submit(a, modelId, other.proof, other.publicSignals.slice(1)), 'WrongPublicSignalCount(uint256,uint256)', 'fewer signals');
      // And b's own consumer accepts it.
      assert.ok((await submit(b, consumerParameters(b.info).modelId, other.proof, other.publicSignals)).ok);
    });

    test('a malformed proof is rejected', async () => {
      const data = await solidityCalldata(a.bundle);
      const modelId = consumerParameters(a.info).modelId;
      assertReverts(await submit(a, modelId, data.proof.slice(1), data.publicSignals), 'MalformedProof(uint256)', 'a word short');
      assertReverts(await submit(a, modelId, [...data.proof, 0n], data.publicSignals), 'MalformedProof(uint256)', 'a word long');
      const offCurve = data.proof.map((w, i) => (i === 1 ? BigInt(w) + 1n : BigInt(w))); // y of the first point
      assertReverts(await submit(a, modelId, offCurve, data.publicSignals), 'InvalidProof()', 'a point off the curve');
      assertReverts(
        await submit(
          a,
          modelId,
          data.proof.map(() => 0n),
          data.publicSignals,
        ),
        'InvalidProof()',
        'all zeros',
      );
      const outOfField = data.proof.map((w, i) => (i === data.proof.length - 1 ? BigInt(w) + BASE_FIELD : BigInt(w)));
      assertReverts(await submit(a, modelId, outOfField, data.publicSignals), 'NonCanonicalProof(uint256)', 'a word out of the field');
    });

    test('a statement is recorded once: a replay, and a re-randomized (-A, -B, C) proof, revert AlreadyRecorded', async () => {
      const data = await solidityCalldata(a.bundle);
      const modelId = consumerParameters(a.info).modelId;
      // Recorded by 'the consumer stores the decoded output' above.
      const statement = keccakHex(`0x${data.publicSignals.map((w) => w.slice(2)).join('')}`);
      assert.equal(BigInt((await chain.call(a.consumer, call('recorded(bytes32)', [statement]))).returnValue), 1n);
      assertReverts(await submit(a, modelId, data.proof, data.publicSignals), 'AlreadyRecorded(bytes32)', 'the same proof again');
      // Non-canonical encodings of the same proof or signals are refused as such.
      const plusQ = data.proof.map((w, i) => (i === 0 ? BigInt(w) + BASE_FIELD : BigInt(w)));
      assertReverts(await submit(a, modelId, plusQ, data.publicSignals), 'NonCanonicalProof(uint256)', 'a coordinate + q');
      const plusR = data.publicSignals.map((w, i) => (i === 0 ? BigInt(w) + FIELD_PRIME : BigInt(w)));
      assertReverts(await submit(a, modelId, data.proof, plusR), 'SignalOutOfField(uint256)', 'a signal + r');
      if (system !== 'groth16') return;
      // Groth16: negating A and B (y -> q - y; B's y is words 4 and 5) gives another valid proof of
      // the same statement, which anyone who saw the first can make.
      const malleated = data.proof.map((w, i) => ([1, 4, 5].includes(i) ? BASE_FIELD - BigInt(w) : BigInt(w)));
      const direct = await chain.call(a.verifier, data.encoded.slice(0, 10) + encodeArgs([...malleated, ...data.publicSignals.map((w) => BigInt(w))]).slice(2));
      assert.equal(BigInt(direct.returnValue), 1n, 'the verifier accepts the negated proof');
      assertReverts(await submit(a, modelId, malleated, data.publicSignals), 'AlreadyRecorded(bytes32)', 'the negated proof');
    });

    test('the CLI prints the same calldata and verifier', () => {
      const proofFile = join(a.dir, 'proof.json');
      writeFileSync(proofFile, JSON.stringify(a.bundle));
      const cli = (...args: string[]) => {
        const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), ...args], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      const printed = JSON.parse(cli('calldata', a.dir, proofFile));
      assert.equal(printed.length, system === 'groth16' ? 4 : 2);
      assert.deepEqual(printed.flat(3).slice(-a.bundle.publicSignals.length).map(BigInt), a.bundle.publicSignals.map(BigInt));
      const [modelId, proof, pub] = JSON.parse(cli('calldata', a.dir, proofFile, '--consumer'));
      assert.equal(modelId, consumerParameters(a.info).modelId);
      assert.equal(proof.length + pub.length, printed.flat(3).length);
      const out = join(a.dir, 'Verifier.sol');
      assert.match(cli('verifier', a.dir, '--out', out), /ZkInferConsumer constructor/);
      assert.match(readFileSync(out, 'utf8'), /contract (Groth16|Plonk|Fflonk)Verifier/);
    });
  });
}

test('requiredPower per system: PLONK counts gates, FFLONK needs 9 domain sizes of tau powers', () => {
  assert.equal(requiredPower(300, 5), 9); // Groth16: constraints + public + 1 <= 2^p
  assert.equal(requiredPower(0, 0, 'plonk', 256), 8);
  assert.equal(requiredPower(0, 0, 'plonk', 257), 9);
  assert.equal(requiredPower(0, 0, 'plonk', 10), 8); // never below 8
  assert.equal(requiredPower(0, 0, 'fflonk', 254), 11); // domain 256: 9·256 + 18 powers < 2^12
  assert.equal(requiredPower(0, 0, 'fflonk', 255), 12); // two blinding rows push it to domain 512
  assert.throws(() => requiredPower(1, 1, 'plonk'), /gate count/);
});

test('PLONK gates and ptau powers match what snarkjs itself computes and refuses', async () => {
  const r1cs = modelFiles(join(work, 'a-plonk')).r1cs;
  const logs: string[] = [];
  const logger = { info: (m: string) => logs.push(m), debug() {}, warn() {}, error: (m: string) => logs.push(m), log() {} };
  const ptau = await ensureDevPtau(TEST_DATA_DIR, TEST_PTAU_POWER, () => {});
  await snarkjs.plonk.setup(r1cs, ptau, join(work, 'sizing.zkey'), logger);
  assert.ok(logs.includes(`Plonk constraints: ${await countPlonkGates(r1cs)}`), logs.join('\n'));
  // FFLONK on a ptau one power below what we require: snarkjs refuses it too.
  const needed = await circuitPower(r1cs, 'fflonk');
  const smaller = await ensureDevPtau(TEST_DATA_DIR, needed - 1, () => {});
  await assert.rejects(snarkjs.fflonk.setup(r1cs, smaller, join(work, 'sizing-f.zkey'), logger), /not big enough/);
});

test('gas report', () => {
  console.log(JSON.stringify(gasReport));
  assert.equal(gasReport.length, PROOF_SYSTEMS.length);
});

test('hashed weights on-chain: a valid proof of the same circuit with other weights passes the verifier, but not the consumer', async () => {
  const dir = join(work, 'hashed');
  await compileModel(mlp([3, 3, 2], 3), dir, { name: 'mlp332-hashed', visibility: parseVisibility('input=hashed,weights=hashed') });
  const info = await setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} });
  const prover = await ModelProver.load(dir);
  const honest = await prover.prove(INPUT, { salt: 7n });
  const exported = await exportSolidityVerifier(dir);
  const verifier = await chain.deploy(compileSolidity({ 'Verifier.sol': exported.source })[exported.contractName].bytecode);
  const consumerAddress = await deployConsumer(info, verifier.address);
  const d: Deployed = { info, dir, bundle: honest, verifier: verifier.address, consumer: consumerAddress, deployGas: verifier.gas.txGas };
  const p = consumerParameters(info);
  assert.equal(p.modelCommitment, honest.commitments!.weights);
  const calldata = await solidityCalldata(honest);
  assert.ok((await submit(d, p.modelId, calldata.proof, calldata.publicSignals)).ok, 'the honest proof is accepted');

  // The same zkey with one weight changed: a valid Groth16 proof, but of another model.
  const files = modelFiles(dir);
  const plan = planFromJson(readFileSync(files.plan, 'utf8'));
  const weights = plan.weights.flatMap((w) => w.values);
  weights[0] += weights[0] > 0n ? -1n : 1n;
  const calc = await buildWitnessCalculator(readFileSync(files.wasm));
  const ints = quantizeInputs(
    INPUT,
    info.inputs.map((t) => t.scale),
    info.inputs.map((t) => t.name),
  );
  const wtns = await calc.calculateWTNSBin(
    { in0: ints[0].map((v) => toField(v).toString()), weights: weights.map((v) => toField(v).toString()), salt: '7' },
    true,
  );
  const forged = await snarkjs.groth16.prove(new Uint8Array(readFileSync(files.zkey)), wtns);
  const forgedBundle: ProofBundle = {
    ...honest,
    proof: forged.proof,
    publicSignals: forged.publicSignals,
    commitments: { ...honest.commitments, weights: forged.publicSignals[p.modelCommitmentIndex] },
  };
  const forgedCalldata = await solidityCalldata(forgedBundle);
  const r = await chain.call(d.verifier, forgedCalldata.encoded);
  assert.equal(BigInt(r.returnValue), 1n, 'the bare verifier accepts it: the verifying key does not pin hashed weights');
  assertReverts(await submit(d, p.modelId, forgedCalldata.proof, forgedCalldata.publicSignals), 'WrongModelCommitment(uint256,uint256)', 'other weights');
  const offline = await verifyBundle(info, await loadVerificationKey(dir), forgedBundle);
  assert.equal(offline.valid, false);
});

test('a private input: each statement is its own record, no submission overwrites another', async () => {
  const dir = join(work, 'private-input');
  await compileModel(mlp([3, 3, 2], 4), dir, { name: 'mlp332-private', visibility: parseVisibility('input=private') });
  const info = await setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} });
  const prover = await ModelProver.load(dir);
  const exported = await exportSolidityVerifier(dir);
  const verifier = await chain.deploy(compileSolidity({ 'Verifier.sol': exported.source })[exported.contractName].bytecode);
  const d: Deployed = {
    info,
    dir,
    bundle: await prover.prove(INPUT),
    verifier: verifier.address,
    consumer: await deployConsumer(info, verifier.address),
    deployGas: 0,
  };
  const modelId = consumerParameters(info).modelId;
  const records = [];
  for (const input of [INPUT, [[-0.5, 0.25, 0.5]]]) {
    const bundle = await prover.prove(input);
    const data = await solidityCalldata(bundle);
    const r = await submit(d, modelId, data.proof, data.publicSignals);
    assert.ok(r.ok, r.error);
    const statement = keccakHex(`0x${data.publicSignals.map((w) => w.slice(2)).join('')}`);
    assert.equal(r.logs[0].topics[3], statement, 'recorded under its statement');
    records.push({ statement, output: decodeInt256Array(r.returnValue) });
  }
  assert.notDeepEqual(records[0].output, records[1].output);
  for (const { statement, output } of records) {
    assert.deepEqual(decodeInt256Array((await chain.call(d.consumer, call('outputOf(bytes32)', [statement]))).returnValue), output);
  }
});
