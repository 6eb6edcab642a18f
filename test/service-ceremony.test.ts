/**
 * A phase-2 ceremony over HTTP (README "Trust"): upload with ceremony=open, proofs refused (409)
 * until finalized, contributions from two outside contributors (made on "their machines" with
 * `zkinfer ceremony contribute`'s library call) checked before acceptance, finalize with the owner's
 * token, then proofs verify and `zkinfer audit --url` (the real CLI, a separate process) passes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { snarkjs } from '../src/core/snarkjs.js';
import { DEVELOPMENT_PTAU_WARNING, OPERATOR_WARNING } from '../src/model/trust.js';
import { contributeZKey } from '../src/setup/ceremony.js';
import { REPO_ROOT, tempDir } from './support/env.js';
import { forgeWithInitialKey } from './support/forge.js';
import { type Client, SMALL_INPUT, smallMlp, useTestService } from './support/service.js';

const KEY = 'ceremony-test-key';
const BEACON = 'ab'.repeat(32);
const work = tempDir('service-ceremony');
let api: Client;
let model: { id: string; ceremonyOwnerToken: string };

const served = useTestService({ apiKeys: [KEY] }, async () => {
  api = served.client.withKey(KEY);
  const { status, body } = await api.upload(smallMlp(), '?name=ceremonial&ceremony=open');
  assert.equal(status, 202, JSON.stringify(body));
  model = body;
  const last = (await api.settle(body.id)).at(-1);
  assert.equal(last.status, 'ready', JSON.stringify(last.error));
});

/** Downloads the current zkey and contributes to it, as an outside contributor would. */
async function contribution(name: string, from?: string): Promise<Buffer> {
  const current = join(work, `${name}-in.zkey`);
  const out = join(work, `${name}.zkey`);
  if (from) writeFileSync(current, readFileSync(from));
  else {
    const res = await fetch(`${served.service.url}/v1/models/${model.id}/ceremony/zkey`);
    assert.equal(res.status, 200);
    writeFileSync(current, Buffer.from(await res.arrayBuffer()));
  }
  await contributeZKey(current, out, name);
  return readFileSync(out);
}

const post = (zkey: Uint8Array, client = api) => client.request('POST', `/v1/models/${model.id}/ceremony/contributions`, zkey, 'application/octet-stream');

test('an open ceremony: the upload returns the owner token once; proofs and immutable artifacts are refused (409)', async () => {
  assert.match(model.ceremonyOwnerToken, /^[0-9a-f]{64}$/);
  const view = (await api.request('GET', `/v1/models/${model.id}`)).body;
  assert.equal(view.settings.ceremony, 'open');
  assert.equal(view.ceremonyOwnerToken, undefined);
  assert.deepEqual(view.ceremony, { contributions: 0, names: [], finalized: false, transcript: `/v1/models/${model.id}/ceremony` });
  assert.match(view.trust.warning, /not finalized/);
  const proof = await api.prove(model.id, SMALL_INPUT);
  assert.equal(proof.status, 409, JSON.stringify(proof.body));
  assert.equal((await api.request('GET', `/v1/models/${model.id}/artifacts/model.json`)).status, 409);
  const status = (await api.request('GET', `/v1/models/${model.id}/ceremony`)).body;
  assert.deepEqual(status.transcript.contributions, []);
  assert.equal(status.ptau.development, true);
  const finalize = await api.request('POST', `/v1/models/${model.id}/ceremony/finalize`, { ownerToken: model.ceremonyOwnerToken, beacon: BEACON });
  assert.equal(finalize.status, 409, 'a beacon alone is public: no finalizing before a contribution');
});

test("an open ceremony's key verifies nothing: a forged proof of any output, the verifying key and the verifier are refused (409)", async () => {
  // The initial key has gamma = delta, so A = alpha, B = beta, C = −IC(x) verifies for any signals:
  // /v1/verify answered {"valid": true} and a forged client bundle became a done job.
  const res = await fetch(`${served.service.url}/v1/models/${model.id}/ceremony/zkey`);
  const zkey = join(work, 'initial.zkey');
  writeFileSync(zkey, Buffer.from(await res.arrayBuffer()));
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  const signals = Array.from({ length: vkey.nPublic }, (_, i) => String(999_999 + i));
  const forged = await forgeWithInitialKey(vkey, signals);
  assert.equal(await snarkjs.groth16.verify(vkey, signals, forged), true, 'the forgery is real: snarkjs accepts it');
  const verify = await api.request('POST', '/v1/verify', { model: model.id, proof: forged, publicSignals: signals });
  assert.equal(verify.status, 409, JSON.stringify(verify.body));
  assert.equal(verify.body.error.code, 'CONFLICT');
  for (const path of ['verification_key', 'verifier.sol']) assert.equal((await api.request('GET', `/v1/models/${model.id}/${path}`)).status, 409, path);
});

test('without a ceremony (the default), the model view says the operator alone made the key and could forge', async () => {
  const view = await api.ready(smallMlp(), '?name=operator-only');
  assert.equal(view.settings.ceremony, 'none');
  assert.deepEqual(view.trust, { phase2: 'operator', trusted: 'the operator alone', warning: OPERATOR_WARNING });
  assert.match(view.versionId, /^[0-9a-f]{64}$/);
});

test('ceremony=open with a system that has no phase 2 (PLONK, FFLONK) is a 400, not a Groth16 model', async () => {
  for (const system of ['plonk', 'fflonk']) {
    const { status, body } = await api.upload(smallMlp(), `?name=no-phase2&ceremony=open&system=${system}`);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'INPUT_INVALID');
    assert.match(body.error.message, new RegExp(`ceremony=open: ${system} keys come from the ptau alone`));
  }
});

test('contributions: accepted when they extend the chain, refused with the reason otherwise', async () => {
  const initial = join(work, 'initial.zkey');
  writeFileSync(initial, Buffer.from(await (await fetch(`${served.service.url}/v1/models/${model.id}/ceremony/zkey`)).arrayBuffer()));
  assert.equal((await post(await contribution('alice'), served.client)).status, 401, 'contributing needs an API key');
  const alice = await post(await contribution('alice'));
  assert.equal(alice.status, 201, JSON.stringify(alice.body));

  const fork = await post(await contribution('mallory', initial));
  assert.equal(fork.status, 400);
  assert.match(fork.body.error.message, /contribution refused/);
  const garbage = await post(new Uint8Array([1, 2, 3, 4]));
  assert.equal(garbage.status, 400);
  // A zkey whose contribution count points past its section was a 500 (a RangeError reading it).
  const overlong = Buffer.from(await contribution('mallory'));
  overlong.writeUInt32LE(0x7fffffff, sectionOffset(overlong, 10) + 64);
  const malformed = await post(overlong);
  assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
  assert.match(malformed.body.error.message, /not a valid Groth16 zkey/);
  assert.equal((await api.request('POST', `/v1/models/${model.id}/ceremony/contributions`)).status, 400, 'no body');

  const bob = await post(await contribution('bob'));
  assert.equal(bob.status, 201, JSON.stringify(bob.body));
  assert.deepEqual(
    bob.body.transcript.contributions.map((c: { name: string }) => c.name),
    ['alice', 'bob'],
  );
});

test('only the owner finalizes; then proofs verify and name the version; audit --url passes and names the contributors', async () => {
  const wrong = await api.request('POST', `/v1/models/${model.id}/ceremony/finalize`, { ownerToken: 'f'.repeat(64), beacon: BEACON });
  assert.equal(wrong.status, 403);
  const done = await api.request('POST', `/v1/models/${model.id}/ceremony/finalize`, { ownerToken: model.ceremonyOwnerToken, beacon: BEACON, iterations: 10 });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.transcript.finalized, true);

  const view = (await api.request('GET', `/v1/models/${model.id}`)).body;
  // Finalized, the ceremony is sound: only the development ptau under it (tests cannot download a public one) is warned of.
  assert.equal(view.trust.warning, DEVELOPMENT_PTAU_WARNING);
  const { body: job } = await api.prove(model.id, SMALL_INPUT, '?wait=30');
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  assert.equal(job.bundle.model.versionId, view.versionId);
  // The view and the bundle name the contributors, as the CLI does (they said "any one of 2 contributors").
  assert.match(view.trust.trusted, /any one of 2 contributors \(alice, bob\)/);
  assert.equal(job.bundle.trust.trusted, view.trust.trusted);
  const vkey = (await api.request('GET', `/v1/models/${model.id}/verification_key`)).body;
  assert.equal(await snarkjs.groth16.verify(vkey, job.publicSignals, job.proof), true);

  const report = await auditUrl(model.id);
  assert.equal(report.ok, true, JSON.stringify(report));
  assert.deepEqual(report.contributors, ['alice', 'bob']);
  assert.match(report.trusted, /any one of 2 contributors \(alice, bob\)/);
});

test('audit --url of a PLONK model whose circuit is served (clientProving): its setup, run again, gives the served key', async () => {
  const id = (await api.ready(smallMlp(), '?name=plonkish&system=plonk&clientProving=true')).id;
  const report = await auditUrl(id);
  assert.equal(report.ok, true, JSON.stringify(report));
  const checks = Object.fromEntries(report.checks.map((c: { id: string; status: string; detail: string }) => [c.id, c]));
  assert.equal(checks.zkey.status, 'pass', checks.zkey.detail);
  assert.match(checks.zkey.detail, /plonk setup again from the r1cs and the ptau: the same zkey/);
  assert.equal(checks.recompile.status, 'pass');
  assert.equal(checks.phase2, undefined, 'PLONK has no phase 2');
  assert.equal(report.trusted, 'whoever made the development ptau');
});

/** `zkinfer audit --url … --json` of model `id` (the real CLI, a separate process, with the ONNX file it was built from). */
async function auditUrl(id: string): Promise<any> {
  const onnx = join(work, 'model.onnx');
  writeFileSync(onnx, smallMlp());
  // A failed audit exits 1: its report is on stdout all the same.
  const cli: { stdout: string } = await promisify(execFile)(
    process.execPath,
    [join(REPO_ROOT, 'bin/zkinfer.js'), 'audit', '--url', served.service.url, '--model', id, '--onnx', onnx, '--json'],
    { env: { ...process.env, ZKINFER_DATA_DIR: work } },
  ).catch((e: { stdout: string }) => e);
  return JSON.parse(cli.stdout);
}

/** Where section `type`'s data starts in a snarkjs binary file ("zkey", version, section count, then type u32 / size u64 / data). */
function sectionOffset(file: Buffer, type: number): number {
  for (let pos = 12, i = 0; i < file.readUInt32LE(8); i++) {
    const size = Number(file.readBigUInt64LE(pos + 4));
    if (file.readUInt32LE(pos) === type) return pos + 12;
    pos += 12 + size;
  }
  throw new Error(`no section ${type}`);
}
