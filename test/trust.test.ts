/**
 * Trust without the operator (README "Trust"): a Groth16 phase-2 ceremony with outside contributors
 * and a beacon, contributions that must be refused, reproducible builds and `zkinfer audit`. Real
 * circom, snarkjs and EVM throughout; the models are 3-3-2 MLPs (power-8 keys).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AuditReport, auditModel, formatAudit } from '../src/audit/audit.js';
import { solidityCalldata } from '../src/chain/calldata.js';
import { consumerParameters, exportSolidityVerifier } from '../src/chain/verifier.js';
import { parseVisibility } from '../src/commit/visibility.js';
import { isZkError } from '../src/core/errors.js';
import { releaseCurve } from '../src/core/snarkjs.js';
import { addContribution, finalizeCeremony, initCeremony, readTranscript, verifyCeremony } from '../src/model/ceremony.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles, readModelInfo } from '../src/model/layout.js';
import { recordSetup, setupModel } from '../src/model/setup.js';
import { DEVELOPMENT_PTAU_WARNING, OPERATOR_WARNING, trustSummary } from '../src/model/trust.js';
import { ModelProver } from '../src/prove/prover.js';
import { contributeZKey } from '../src/setup/ceremony.js';
import { devPtauPath, hashVerificationKey, loadVerificationKey, setupKeys, writeVerificationKey } from '../src/setup/index.js';
import { writeDevPtau } from '../src/setup/dev-ptau.js';
import { identifyPtau } from '../src/setup/ptau-id.js';
import { verifyBundle } from '../src/verify/verify.js';
import { mlp } from '../scripts/example-models.js';
import { Chain, call, compileSolidity, consumerSource, encodeConsumerArgs } from './support/evm.js';
import { TEST_DATA_DIR, tempDir } from './support/env.js';

const work = tempDir('trust');
const INPUT = [[0.5, -0.25, 0.75]];
const opts = { dataDir: TEST_DATA_DIR, log: () => {} };
const compiled = { a: join(work, 'model-a'), b: join(work, 'model-b') };

before(async () => {
  await compileModel(mlp([3, 3, 2], 1), compiled.a, { name: 'mlp-a' });
  await compileModel(mlp([3, 3, 2], 2), compiled.b, { name: 'mlp-b' });
});

after(releaseCurve);

/** Expects `work` to throw a ZkError with `code` whose message matches `pattern`. */
async function rejects(work: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(work, (e: unknown) => {
    assert.ok(isZkError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A zkey's sections (iden3 binary: magic, version, count, then type u32 + size u64 + data). */
function zkeySections(file: string): { head: Buffer; sections: { type: number; data: Buffer }[] } {
  const buf = readFileSync(file);
  const sections: { type: number; data: Buffer }[] = [];
  for (let pos = 12; pos < buf.length; ) {
    const type = buf.readUInt32LE(pos);
    const size = Number(buf.readBigUInt64LE(pos + 4));
    sections.push({ type, data: buf.subarray(pos + 12, pos + 12 + size) });
    pos += 12 + size;
  }
  return { head: buf.subarray(0, 12), sections };
}

/** `file` with sections `types` taken from `donor` (same sizes): the key material of another zkey. */
function spliceSections(file: string, donor: string, types: number[], out: string): void {
  const target = zkeySections(file);
  const from = zkeySections(donor);
  const parts = target.sections.map((s) => {
    const data = types.includes(s.type) ? from.sections.find((d) => d.type === s.type)!.data : s.data;
    const header = Buffer.alloc(12);
    header.writeUInt32LE(s.type, 0);
    header.writeBigUInt64LE(BigInt(data.length), 4);
    return Buffer.concat([header, data]);
  });
  writeFileSync(out, Buffer.concat([target.head, ...parts]));
}

describe('a phase-2 ceremony with two outside contributors and a beacon', () => {
  const dir = join(work, 'ceremony');
  const initZkey = join(work, 'init.zkey');
  const zkey = () => modelFiles(dir).zkey;

  before(async () => {
    cpSync(compiled.a, dir, { recursive: true });
    await initCeremony(dir, opts);
    copyFileSync(zkey(), initZkey);
  });

  test('until it is finalized, the model is not proven (409) and says so', async () => {
    await rejects(ModelProver.load(dir), 'CONFLICT', /ceremony is not finalized/);
    const trust = trustSummary(readModelInfo(dir))!;
    assert.equal(trust.phase2, 'ceremony');
    assert.match(trust.warning!, /not finalized/);
  });

  test('alice contributes; refused: a zkey of another circuit, one that does not extend the chain, one reset to a known delta', async () => {
    const alice = join(work, 'alice.zkey');
    await contributeZKey(zkey(), alice, 'alice', 'alice entropy');
    await addContribution(dir, alice, opts);

    // Another circuit: model b's own ceremony, one contribution on top of its initial key.
    const b = join(work, 'ceremony-b');
    cpSync(compiled.b, b, { recursive: true });
    await initCeremony(b, opts);
    const other = join(work, 'other-circuit.zkey');
    await contributeZKey(modelFiles(b).zkey, other, 'mallory');
    await rejects(addContribution(dir, other, opts), 'INPUT_INVALID', /another circuit/);

    // A fork: a valid contribution, but on the initial key, dropping alice's.
    const fork = join(work, 'fork.zkey');
    await contributeZKey(initZkey, fork, 'mallory');
    await rejects(addContribution(dir, fork, opts), 'INPUT_INVALID', /exactly one|does not extend/);
    const fork2 = join(work, 'fork2.zkey');
    await contributeZKey(fork, fork2, 'mallory again');
    await rejects(addContribution(dir, fork2, opts), 'INPUT_INVALID', /does not extend the current chain/);

    // Reset: a real contribution's record on alice's chain, with the initial key's delta, L and H
    // (delta = 1: anyone could then forge). The chain claims a fresh delta the key does not have.
    const honest = join(work, 'honest.zkey');
    await contributeZKey(zkey(), honest, 'mallory');
    const reset = join(work, 'reset.zkey');
    spliceSections(honest, initZkey, [2, 8, 9], reset);
    await rejects(addContribution(dir, reset, opts), 'INPUT_INVALID', /known value|zkey verify/);
    // And the plain initial key (delta = 1), re-sent.
    await rejects(addContribution(dir, initZkey, opts), 'INPUT_INVALID', /contribution refused/);

    assert.deepEqual(
      readTranscript(dir)!.contributions.map((c) => c.name),
      ['alice'],
    );
  });

  test('bob contributes, the owner finalizes with a beacon: proofs verify, off-chain and on-chain', async () => {
    const bob = join(work, 'bob.zkey');
    const bobHash = await contributeZKey(zkey(), bob, 'bob');
    await addContribution(dir, bob, opts);
    await finalizeCeremony(dir, '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 10);

    const transcript = readTranscript(dir)!;
    assert.deepEqual(
      transcript.contributions.map((c) => c.name),
      ['alice', 'bob'],
    );
    assert.equal(transcript.contributions[1].hash, bobHash, 'the transcript shows the hash bob published');
    assert.ok(transcript.finalized && transcript.beacon);
    const check = await verifyCeremony(dir, opts);
    assert.deepEqual(check.problems, []);

    const info = readModelInfo(dir);
    assert.equal(trustSummary(info)!.warning, DEVELOPMENT_PTAU_WARNING, 'only the development ptau is warned of');
    assert.equal(trustSummary({ ...info, setup: { ...info.setup!, developmentPtau: false } })!.warning, undefined);
    // The names come from model.json, so the service's view and every bundle name them as the CLI does.
    assert.match(trustSummary(info)!.trusted, /any one of 2 contributors \(alice, bob\)/);
    const bundle = await (await ModelProver.load(dir)).prove(INPUT);
    assert.equal(bundle.model.versionId, info.setup!.versionId);
    assert.deepEqual(await verifyBundle(info, await loadVerificationKey(dir), bundle), { valid: true });

    const chain = await Chain.create();
    const exported = await exportSolidityVerifier(dir);
    const verifier = await chain.deploy(compileSolidity({ 'Verifier.sol': exported.source })[exported.contractName].bytecode);
    const calldata = await solidityCalldata(bundle);
    const r = await chain.call(verifier.address, calldata.encoded);
    assert.ok(r.ok, r.error);
    assert.equal(BigInt(r.returnValue), 1n);

    // The consumer contract, constructed with the model version id, accepts it and names the version.
    const p = consumerParameters(info);
    const args = encodeConsumerArgs(info, verifier.address);
    const consumer = await chain.deploy(compileSolidity({ 'ZkInferConsumer.sol': consumerSource() }).ZkInferConsumer.bytecode, args);
    const submitted = await chain.call(
      consumer.address,
      call('submit(bytes32,uint256[],uint256[])', [p.modelId, { array: calldata.proof }, { array: calldata.publicSignals }]),
    );
    assert.ok(submitted.ok, submitted.error);
    assert.equal((await chain.call(consumer.address, call('versionId()', []))).returnValue, `0x${info.setup!.versionId}`);
  });

  test('audit passes and names the contributors; the Solidity verifier embeds the key', async () => {
    const verifier = join(work, 'ceremony-Verifier.sol');
    writeFileSync(verifier, (await exportSolidityVerifier(dir)).source);
    const report = await auditModel(dir, { ...opts, verifier });
    assert.ok(report.ok, formatAudit(report));
    assert.deepEqual(report.contributors, ['alice', 'bob']);
    assert.deepEqual(Object.fromEntries(report.checks.map((c) => [c.id, c.status])), {
      onnx: 'pass',
      recompile: 'pass',
      ptau: 'warn',
      zkey: 'pass',
      phase2: 'pass',
      vkey: 'pass',
      version: 'pass',
      verifier: 'pass',
    });
    assert.match(report.trusted, /^any one of 2 contributors \(alice, bob\) and whoever made the development ptau$/);
  });

  test('audit catches a transcript that names other contributors than the key holds', async () => {
    const edited = join(work, 'edited-transcript');
    cpSync(dir, edited, { recursive: true });
    const file = join(modelFiles(edited).ceremonyDir, 'transcript.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"alice"', '"eve"'));
    const report = await auditModel(edited, opts);
    assert.equal(report.ok, false);
    assert.match(report.checks.find((c) => c.id === 'phase2')!.detail, /does not list the contributions/);
    assert.equal((await verifyCeremony(edited, opts)).ok, false);
  });

  test('a finalized ceremony takes no more contributions', async () => {
    const late = join(work, 'late.zkey');
    await contributeZKey(zkey(), late, 'late');
    await rejects(addContribution(dir, late, opts), 'CONFLICT', /finalized/);
  });
});

test('compiling the same ONNX file with the same settings gives byte-identical main.circom and main.r1cs, elsewhere', async () => {
  const again = join(tempDir('trust-elsewhere'), 'deeper', 'path', 'model');
  await compileModel(mlp([3, 3, 2], 1), again, { name: 'mlp-a' });
  for (const file of ['circom', 'r1cs'] as const) {
    assert.equal(sha256File(modelFiles(again)[file]), sha256File(modelFiles(compiled.a)[file]), `${file} differs`);
  }
  assert.deepEqual(readModelInfo(again).build, readModelInfo(compiled.a).build);
});

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('audit catches', () => {
  const keyed = { a: join(work, 'keyed-a'), b: join(work, 'keyed-b') };
  /** A copy of model a's keyed directory, altered by `change`. */
  const variant = (name: string, change: (dir: string) => void): string => {
    const dir = join(work, name);
    cpSync(keyed.a, dir, { recursive: true });
    change(dir);
    return dir;
  };
  const statuses = (r: AuditReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));

  before(async () => {
    for (const m of ['a', 'b'] as const) {
      cpSync(compiled[m], keyed[m], { recursive: true });
      await setupModel(keyed[m], opts);
    }
  });

  test('an operator-only key: reported as such (a warning, not a failure)', async () => {
    const report = await auditModel(keyed.a, opts);
    assert.ok(report.ok, formatAudit(report));
    assert.equal(statuses(report).phase2, 'warn');
    assert.match(report.checks.find((c) => c.id === 'phase2')!.detail, /operator-only key/);
    assert.equal(report.trusted, 'the operator alone');
  });

  test('a model without keys: said so (it named "an older zkinfer" and printed a file error with its path)', async () => {
    const report = await auditModel(compiled.a, opts);
    assert.equal(report.ok, false);
    assert.deepEqual([statuses(report).zkey, statuses(report).vkey, statuses(report).version], ['skip', 'skip', 'fail']);
    assert.match(report.checks.find((c) => c.id === 'version')!.detail, /no keys yet/);
  });

  test('a zkey of another circuit', async () => {
    const dir = variant('other-zkey', (d) => copyFileSync(modelFiles(keyed.b).zkey, modelFiles(d).zkey));
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false);
    assert.equal(statuses(report).zkey, 'fail');
    assert.equal(statuses(report).vkey, 'fail');
  });

  test('a swapped verifying key', async () => {
    const dir = variant('other-vkey', (d) => copyFileSync(modelFiles(keyed.b).vkey, modelFiles(d).vkey));
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false);
    assert.deepEqual([statuses(report).zkey, statuses(report).vkey], ['pass', 'fail']);
  });

  test('a circuit built from another ONNX file', async () => {
    // Model b's circuit and keys, claiming to be model a's ONNX file.
    const dir = join(work, 'other-onnx');
    cpSync(keyed.b, dir, { recursive: true });
    copyFileSync(modelFiles(keyed.a).onnx, modelFiles(dir).onnx);
    const info = readModelInfo(dir);
    writeFileSync(
      modelFiles(dir).info,
      JSON.stringify({ ...info, onnxSha256: readModelInfo(keyed.a).onnxSha256, build: { ...info.build!, settings: readModelInfo(keyed.a).build!.settings } }),
    );
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false);
    assert.equal(statuses(report).onnx, 'pass');
    assert.equal(statuses(report).recompile, 'fail');
    assert.match(report.checks.find((c) => c.id === 'recompile')!.detail, /another model or other settings/);
  });

  test('a circuit built with other settings than recorded', async () => {
    const dir = variant('other-settings', (d) => {
      const info = readModelInfo(d);
      writeFileSync(
        modelFiles(d).info,
        JSON.stringify({ ...info, build: { ...info.build!, settings: { ...info.build!.settings, headroomBits: info.build!.settings.headroomBits + 3 } } }),
      );
    });
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false);
    assert.equal(statuses(report).recompile, 'fail');
  });

  test('an unfinalized ceremony', async () => {
    const dir = variant('unfinalized', () => {});
    await initCeremony(dir, opts);
    const contributed = join(work, 'unfinalized-carol.zkey');
    await contributeZKey(modelFiles(dir).zkey, contributed, 'carol');
    await addContribution(dir, contributed, opts);
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false);
    assert.equal(statuses(report).zkey, 'pass');
    assert.equal(statuses(report).phase2, 'fail');
    assert.match(report.checks.find((c) => c.id === 'phase2')!.detail, /unfinalized ceremony/);
  });

  test('a Solidity verifier with another key', async () => {
    const verifier = join(work, 'b-Verifier.sol');
    writeFileSync(verifier, (await exportSolidityVerifier(keyed.b)).source);
    const report = await auditModel(keyed.a, { ...opts, verifier });
    assert.equal(report.ok, false);
    assert.equal(statuses(report).verifier, 'fail');
  });
});

describe('audit of PLONK and FFLONK keys: their setup, run again from the r1cs and the ptau, gives the same zkey', () => {
  const keyed = { plonk: join(work, 'plonk-a'), fflonk: join(work, 'fflonk-a'), other: join(work, 'plonk-b') };
  const zkeyCheck = (r: AuditReport) => r.checks.find((c) => c.id === 'zkey')!;

  /** `zkey` put in place of `dir`'s key the way a dishonest operator would: its verifying key, model.json's hash and version id to match. */
  async function passOff(name: string, zkey: string): Promise<string> {
    const dir = join(work, name);
    cpSync(keyed.plonk, dir, { recursive: true });
    copyFileSync(zkey, modelFiles(dir).zkey);
    const vkeyHash = hashVerificationKey(await writeVerificationKey(modelFiles(dir).zkey, modelFiles(dir).vkey));
    recordSetup(dir, { ...readModelInfo(dir).setup!, vkeyHash });
    return dir;
  }

  before(async () => {
    for (const [dir, from, system] of [
      [keyed.plonk, compiled.a, 'plonk'],
      [keyed.fflonk, compiled.a, 'fflonk'],
      [keyed.other, compiled.b, 'plonk'],
    ] as const) {
      cpSync(from, dir, { recursive: true });
      await setupModel(dir, { ...opts, system });
    }
  });

  for (const system of ['plonk', 'fflonk'] as const) {
    test(`${system}: the honest key passes`, async () => {
      const report = await auditModel(keyed[system], opts);
      assert.ok(report.ok, formatAudit(report));
      assert.equal(zkeyCheck(report).status, 'pass', formatAudit(report));
      assert.match(zkeyCheck(report).detail, new RegExp(`${system} setup again from the r1cs and the ptau: the same zkey`));
    });
  }

  test('plonk: a key of another circuit, with its verifying key, hash and version id in place', async () => {
    const dir = await passOff('plonk-swapped', modelFiles(keyed.other).zkey);
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false, formatAudit(report));
    assert.equal(zkeyCheck(report).status, 'fail');
    assert.match(zkeyCheck(report).detail, /not the plonk key of this r1cs over this ptau/);
  });

  test('plonk: a key over another ptau (its maker knows tau and could forge), passed off as over the recorded one', async () => {
    const ptau = join(work, 'foreign.ptau');
    await writeDevPtau(ptau, readModelInfo(keyed.plonk).setup!.ptauPower, { threads: 1 });
    const out = join(work, 'foreign-keys');
    const { zkeyPath } = await setupKeys({ system: 'plonk', r1csPath: modelFiles(keyed.plonk).r1cs, ptauPath: ptau, outDir: out, log: () => {} });
    const dir = await passOff('plonk-foreign', zkeyPath);
    const report = await auditModel(dir, opts);
    assert.equal(report.ok, false, formatAudit(report));
    assert.equal(zkeyCheck(report).status, 'fail');
    assert.deepEqual([report.checks.find((c) => c.id === 'vkey')!.status, report.checks.find((c) => c.id === 'version')!.status], ['pass', 'pass']);
  });
});

test('identifyPtau: the development ptau by its name, any other file unknown; its power from the header', async () => {
  const dev = devPtauPath(TEST_DATA_DIR, 8);
  assert.deepEqual({ ...(await identifyPtau(dev)), blake2b: undefined }, { name: 'dev-pot8.ptau', power: 8, source: 'development', blake2b: undefined });
  const renamed = join(work, 'ceremony-final.ptau');
  copyFileSync(dev, renamed);
  const unknown = await identifyPtau(renamed);
  assert.equal(unknown.source, 'unknown');
  assert.match(unknown.blake2b, /^[0-9a-f]{128}$/);
});

test('hashed weights: the owner keeps the ONNX file; the audit checks everything but the recompile, and says so', async () => {
  const dir = join(work, 'hashed');
  await compileModel(mlp([3, 3, 2], 1), dir, { name: 'mlp-hashed', visibility: parseVisibility('weights=hashed') });
  await setupModel(dir, opts);
  rmSync(modelFiles(dir).onnx);
  const report = await auditModel(dir, opts);
  assert.ok(report.ok, formatAudit(report));
  const checks = Object.fromEntries(report.checks.map((c) => [c.id, c]));
  assert.equal(checks.onnx.status, 'skip');
  assert.equal(checks.recompile.status, 'skip');
  assert.match(checks.recompile.detail, /weights=hashed: the r1cs holds no weights/);
  assert.equal(checks.zkey.status, 'pass');
});

test("without a ceremony the key is the operator's alone, and every view says so", async () => {
  const dir = join(work, 'operator');
  cpSync(compiled.a, dir, { recursive: true });
  const info = await setupModel(dir, opts);
  assert.equal(info.setup!.phase2, 'operator');
  assert.deepEqual(readModelInfo(dir).trust, { phase2: 'operator', trusted: 'the operator alone', warning: OPERATOR_WARNING }, 'model.json says so');
  const bundle = await (await ModelProver.load(dir)).prove(INPUT);
  assert.equal(bundle.model.versionId, info.setup!.versionId);
  assert.deepEqual(await verifyBundle(info, await loadVerificationKey(dir), bundle), { valid: true });
  // The version id answers "which model version produced this output": a bundle naming another is not this model's proof.
  const renamed = { ...bundle, model: { ...bundle.model, versionId: 'ab'.repeat(32) } };
  assert.deepEqual(await verifyBundle(info, await loadVerificationKey(dir), renamed), {
    valid: false,
    reason: `the proof names model version abababababab…, this model's is ${info.setup!.versionId!.slice(0, 12)}…`,
  });
  assert.equal(bundle.trust?.phase2, 'operator');
  assert.match(bundle.trust!.warning!, /could forge/);
  assert.equal(bundle.trust!.trusted, 'the operator alone');
});
