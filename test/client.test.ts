/**
 * The client library (`zkinfer/client`) in Node against a running service: it proves on the
 * client's machine exactly what the service would, verifies with what the API serves, hands the
 * bundle to the service (which verifies and records it without the input), exports calldata and
 * the consumer's constructor arguments, lets a script exit, and imports no server dependency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { calldata, connect, consumerConstructorArgs, inputCommitment, type RemoteModel, type ZkinferClient } from '../src/client/index.js';
import { openDatabase } from '../src/store/db.js';
import { verifyBundle } from '../src/verify/verify.js';
import { tinyMlp } from '../scripts/example-models.js';
import { REPO_ROOT } from './support/env.js';
import { type Client, SMALL_INPUT, smallMlp, useTestService } from './support/service.js';

const SALT = '123456789';
let api: Client;
let zk: ZkinferClient;
let hashed: RemoteModel; // input=hashed, clientProving=true
let closedId: string; // the same model, not opted in

const served = useTestService({}, async () => {
  api = served.client;
  const view = await api.ready(smallMlp(), '?name=hashed&visibility=input=hashed&clientProving=true');
  closedId = (await api.ready(smallMlp(), '?name=hashed&visibility=input=hashed')).id;
  zk = connect(served.service.url);
  hashed = await zk.getModel(view.id);
});

test('proveLocally returns the bundle and opening the service would, for the same input and salt', async () => {
  const local = await zk.proveLocally(hashed, SMALL_INPUT, { salt: SALT });
  const { body: job } = await api.prove(hashed.id, { ...SMALL_INPUT, salt: SALT }, '?wait=30');
  assert.equal(job.status, 'done');
  const { proof: _p, timings: _t, ...mine } = local.bundle;
  const { proof: _q, timings: _u, ...theirs } = job.bundle;
  assert.deepEqual(mine, theirs); // Groth16 proofs are randomized; everything they prove is equal
  assert.deepEqual(local.opening, job.opening);
  assert.equal(local.bundle.commitments!.input, await inputCommitment(hashed.info, [SMALL_INPUT.input[0]], SALT));
  assert.equal(local.bundle.inputs.length, 0, 'a hashed input is not in the bundle');
  assert.equal((local.bundle as { opening?: unknown }).opening, undefined, 'the opening is kept apart from the bundle');
  assert.equal(local.bundle.model.onnxSha256, hashed.view.onnxSha256, 'the bundle names the ONNX file');
});

test("verifyBundle takes the API's model view as it is served (it threw ARTIFACT_MISSING)", async () => {
  const { body: job } = await api.prove(hashed.id, SMALL_INPUT, '?wait=30');
  const vkey = await zk.verificationKey(hashed);
  const { body: view } = await api.request('GET', `/v1/models/${hashed.id}`);
  assert.deepEqual(await verifyBundle(view, vkey, job.bundle), { valid: true });
  assert.deepEqual(await zk.verify(hashed, job.bundle), { valid: true });
});

test('verify rejects a tampered bundle and a proof of another input commitment', async () => {
  const { bundle } = await zk.proveLocally(hashed, SMALL_INPUT, { salt: SALT });
  assert.deepEqual(await zk.verify(hashed, bundle, { inputCommitment: bundle.commitments!.input }), { valid: true });
  const tampered = structuredClone(bundle);
  tampered.publicSignals[0] = String(BigInt(tampered.publicSignals[0]) + 1n);
  assert.equal((await zk.verify(hashed, tampered)).valid, false);
  assert.match(
    ((await zk.verify(hashed, { ...bundle, model: { ...bundle.model, onnxSha256: 'ab'.repeat(32) } })) as { reason: string }).reason,
    /names ONNX model/,
  );
  assert.match(
    ((await zk.verify(hashed, { ...bundle, model: { ...bundle.model, versionId: 'ab'.repeat(32) } })) as { reason: string }).reason,
    /names model version/,
  );
  const other = await inputCommitment(hashed.info, [[0.5, 0.5, 0.5]], SALT);
  assert.deepEqual(await zk.verify(hashed, bundle, { inputCommitment: other }), { valid: false, reason: 'the proof does not commit to the expected input' });
});

test('the service verifies a client-made bundle and records it as a done job of node "client", without the input', async () => {
  const secret = { input: [[0.3125, -0.4375, 0.6875]] };
  const { bundle, opening } = await zk.proveLocally(hashed, secret);
  const job = await zk.submit(hashed, { ...bundle, opening } as typeof bundle);
  assert.equal(job.status, 'done');
  assert.equal(job.node, 'client');
  const { body: stored } = await api.request('GET', `/v1/proofs/${job.id}`);
  assert.deepEqual(stored.bundle.publicSignals, bundle.publicSignals);
  assert.equal(stored.opening, undefined);
  const db = openDatabase(served.service.config.dataDir);
  const row = db.prepare('SELECT input, result FROM jobs WHERE id = ?').get(job.id) as { input: string; result: string };
  db.close();
  assert.equal(row.input, '[]');
  assert.ok(!row.result.includes('0.3125') && !row.result.includes(opening!.salt!), 'neither the input nor the salt is stored');

  const tampered = structuredClone(bundle);
  tampered.publicSignals[0] = String(BigInt(tampered.publicSignals[0]) + 1n);
  const refused = await api.request('POST', `/v1/models/${hashed.id}/proofs`, { bundle: tampered });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, 'PROOF_INVALID');
  // The same statement again (re-sent, or its proof re-randomized: as valid, and free to make) is the
  // job already recorded, not a new row: 899 re-sent bundles had added 3.4 MB.
  const count = () => {
    const d = openDatabase(served.service.config.dataDir);
    const { n } = d.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number };
    d.close();
    return n;
  };
  const rows = count();
  const again = await api.request('POST', `/v1/models/${hashed.id}/proofs`, { bundle });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.id, job.id);
  assert.equal(count(), rows);
  // Timings are stored as sent: bounded (1e308 made runMs Infinity, shown as null).
  const slow = await api.request('POST', `/v1/models/${hashed.id}/proofs`, { bundle: { ...bundle, timings: { witnessMs: 1e308, proveMs: 1 } } });
  assert.equal(slow.status, 400, JSON.stringify(slow.body));
  const malformed = await api.request('POST', `/v1/models/${hashed.id}/proofs`, { bundle: { format: 'nope' } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.error.code, 'INPUT_INVALID');
});

test("proving a model whose owner did not opt in fails with FORBIDDEN; a bad input with the server's error", async () => {
  const closed = await zk.getModel(closedId);
  await assert.rejects(zk.proveLocally(closed, SMALL_INPUT), (e: any) => e.code === 'FORBIDDEN' && /clientProving=true/.test(e.message));
  await assert.rejects(zk.proveLocally(hashed, { input: [[1, 2]] }), (e: any) => e.code === 'SHAPE_MISMATCH');
  await assert.rejects(zk.proveLocally(hashed, { input: [[1e30, 0, 0]] }), (e: any) => e.code === 'INPUT_OUT_OF_RANGE');
});

test('calldata and the consumer constructor arguments, in positional order', async () => {
  const { bundle } = await zk.proveLocally(hashed, SMALL_INPUT, { salt: SALT });
  const data = await calldata(bundle);
  assert.equal(data.proof.length, 8);
  assert.equal(data.publicSignals.length, bundle.publicSignals.length);
  assert.match(data.encoded, /^0x[0-9a-f]{8}([0-9a-f]{64})+$/);
  const verifier = `0x${'11'.repeat(20)}`;
  const args = consumerConstructorArgs(hashed, verifier);
  assert.equal(args.length, 11, 'the verifier, then the ten parameters of ZkInferConsumer in its order');
  assert.equal(args[0], verifier);
  assert.equal(args[1], data.encoded.slice(0, 10));
  assert.deepEqual(args.slice(2, 5), [8, hashed.info.publicSignals, 2]);
  assert.equal(args[6], `0x${hashed.view.vkeyHash}`);
  assert.equal(args[10], `0x${hashed.info.setup!.versionId}`, 'the model version id comes last');
});

test("README's script (prove.mjs) proves locally, verifies, submits and exits by itself", async () => {
  // The script exactly as README "Prove on your own machine" shows it, pointed at this service.
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const code = /A Node script, `prove\.mjs`[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)![1];
  assert.match(code, /'http:\/\/localhost:8080'/);
  const model = await api.ready(tinyMlp(), '?name=tiny_mlp&visibility=input=hashed&clientProving=true');
  const dir = mkdtempSync(join(REPO_ROOT, '.test-cache', 'client-script-'));
  const script = join(dir, 'prove.mjs');
  writeFileSync(script, code.replace("'http://localhost:8080'", JSON.stringify(served.service.url)));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [script, model.id], { timeout: 60_000 });
    const [verdict, submitted] = stdout.trim().split('\n');
    assert.equal(verdict, '{ valid: true }');
    const [, jobId] = /^(\S+) client salt \(keep it\): \d+$/.exec(submitted)!;
    const { body: job } = await api.request('GET', `/v1/proofs/${jobId}`);
    assert.deepEqual([job.status, job.node, job.bundle.inputs.length], ['done', 'client', 0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the client entry's import graph holds no server dependency and no Node built-in", () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const entry = resolve(REPO_ROOT, pkg.exports['./client'].default);
  const files = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  walk(entry);
  assert.ok(files.size > 10, [...files].map((f) => relative(REPO_ROOT, f)).join(' '));
  const server =
    /^(node:|onnxruntime|onnx-proto|better-sqlite3|bullmq|ioredis|@aws-sdk|express|multer|piscina|pino|prom-client|circom2|commander|fs$|path$|crypto$|worker_threads$)/;
  assert.deepEqual(
    [...packages].filter((p) => server.test(p)),
    [],
  );
  assert.ok(packages.has('snarkjs') && packages.has('circomlibjs'));
});
