/**
 * The proof service's HTTP API against a real server: uploads (raw and multipart), background
 * builds, proofs, verification, keys and Solidity export, every kind of bad request, API keys,
 * deletion, and the OpenAPI document's coverage of the routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type ApiDeps } from '../src/api/app.js';
import { openapi } from '../src/api/openapi.js';
import { configWith } from '../src/service/config.js';
import { devPtauPath, hashVerificationKey } from '../src/setup/index.js';
import { tinyMlp } from '../scripts/example-models.js';
import { TEST_DATA_DIR, TEST_PTAU_POWER } from './support/env.js';
import { OnnxBuilder } from './support/onnx-builder.js';
import { type Client, SMALL_INPUT, smallMlp, startTestService, useTestService } from './support/service.js';
import { smallWeights } from './support/models.js';

const KEY = 'test-key-1';
let api: Client; // with the API key
let anon: Client;
let small: any; // the ready view of smallMlp() uploaded raw as "small"

const served = useTestService({ apiKeys: ['other-key', KEY], modelSizeLimitBytes: 64 * 1024, bodyLimitBytes: 16 * 1024, maxConstraints: 150 }, async () => {
  anon = served.client;
  api = anon.withKey(KEY);
  small = await api.ready(smallMlp(), '?name=small');
});

/** Built model directories (builds in progress live under artifacts/.building). */
const artifactDirs = () => readdirSync(join(served.service.config.dataDir, 'artifacts')).filter((name) => !name.startsWith('.'));

test('the OpenAPI document lists exactly the routes the app serves', async () => {
  const app = createApp({ config: configWith({}), logger: pino({ level: 'silent' }) } as unknown as ApiDeps);
  const layers = (app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
  const served = layers.flatMap((l) =>
    l.route ? Object.keys(l.route.methods).map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`) : [],
  );
  const methods = ['get', 'post', 'put', 'patch', 'delete'];
  const documented = Object.entries(openapi.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((k) => methods.includes(k))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.deepEqual([...served].sort(), [...documented].sort());
  assert.equal(served.length, 19);
  const { body } = await anon.request('GET', '/openapi.json');
  assert.equal(body.openapi, '3.0.3');
  assert.deepEqual(Object.keys(body.paths).sort(), Object.keys(openapi.paths).sort());
});

test('health, readiness and metrics', async () => {
  assert.deepEqual((await anon.request('GET', '/healthz')).body, { status: 'ok' });
  const ready = await anon.request('GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  const metrics = await anon.request('GET', '/metrics');
  assert.equal(metrics.status, 200);
  for (const name of [
    'zkinfer_queue_depth',
    'zkinfer_jobs_running',
    'zkinfer_pool_utilization',
    'zkinfer_compile_duration_seconds_bucket',
    'process_cpu_user_seconds_total',
  ]) {
    assert.match(metrics.body, new RegExp(`^${name}`, 'm'), name);
  }
});

test('a raw upload builds in the background; the model shows shapes, constraints, error and key hash', async () => {
  assert.equal(small.status, 'ready');
  assert.equal(small.name, 'small');
  assert.deepEqual(small.inputs, [{ name: 'input', dims: [1, 3], dtype: 'float', scale: 8 }]);
  assert.deepEqual(
    small.outputs.map((o: any) => o.dims),
    [[1, 2]],
  );
  assert.ok(small.constraints > 0 && small.constraints <= 150, `constraints ${small.constraints}`);
  assert.ok(small.quantization.withinTolerance);
  assert.match(small.vkeyHash, /^[0-9a-f]{64}$/);
  assert.equal(small.developmentPtau, true);
  assert.equal(small.requiredPtauPower, small.ptauPower);
  assert.match(small.publicPtau.url, /^https:\/\/storage\.googleapis\.com\/zkevm\/ptau\/powersOfTau28_hez_final_\d\d\.ptau$/);
  const { body } = await anon.request('GET', '/v1/models');
  assert.ok(body.models.some((m: any) => m.id === small.id && m.status === 'ready'));
});

let calibrated: any;
test('a multipart upload takes name, scale and calibration, and reports build progress', async () => {
  const form = new FormData();
  form.set('model', new Blob([new Uint8Array(smallMlp())]), 'small.onnx');
  form.set('name', 'calibrated');
  form.set('scale', '7');
  form.set('calibration', JSON.stringify([SMALL_INPUT, { input_data: [[-0.9, 0.9, 0.1]] }]));
  const { status, body, headers } = await api.request('POST', '/v1/models', form);
  assert.equal(status, 202, JSON.stringify(body));
  assert.equal(headers.get('location'), `/v1/models/${body.id}`);
  assert.equal(body.status, 'compiling');
  const seen = await api.settle(body.id);
  const progress = seen.filter((v) => v.status === 'compiling').map((v) => v.progress);
  assert.ok(progress.length > 0 && progress.every((p) => typeof p.stage === 'string' && p.percent >= 0 && p.percent <= 100), JSON.stringify(progress));
  assert.ok(
    progress.some((p) => p.stage !== 'queued'),
    'a build stage was visible',
  );
  calibrated = seen.at(-1);
  assert.equal(calibrated.status, 'ready');
  assert.deepEqual(calibrated.settings, {
    scale: 7,
    headroomBits: 2,
    calibrationSamples: 2,
    ptau: 'development',
    visibility: { input: 'public', weights: 'fixed', output: 'public' },
    system: 'groth16',
    ceremony: 'none',
  });
  assert.equal(calibrated.quantization.samples, 2);
});

test('?system=plonk (or a multipart "system" field): the keys, proofs and verifier are that system\'s; others are a 400', async () => {
  const plonk = await api.ready(smallMlp(), '?name=small-plonk&system=plonk');
  assert.equal(plonk.settings.system, 'plonk');
  const { status, body } = await anon.prove(plonk.id, SMALL_INPUT, '?wait=60');
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.bundle.system, 'plonk');
  assert.deepEqual((await anon.request('POST', '/v1/verify', { model: plonk.id, proof: body.bundle })).body, { valid: true });
  assert.match((await anon.request('GET', `/v1/models/${plonk.id}/verifier.sol`)).body, /contract PlonkVerifier/);
  const form = new FormData();
  form.set('model', new Blob([new Uint8Array(smallMlp())]), 'small.onnx');
  form.set('name', 'small-plonk');
  form.set('system', 'plonk');
  const multipart = await api.request('POST', '/v1/models', form);
  assert.equal(multipart.status, 202);
  assert.equal(multipart.body.status, 'ready', 'the same artifacts as the raw upload');
  const bad = await api.upload(smallMlp(), '?system=stark');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /groth16.*plonk.*fflonk/);
});

test('an identical upload shares the artifacts and is ready at once', async () => {
  const dirs = artifactDirs().length;
  const { status, body } = await api.upload(smallMlp(), '?name=small');
  assert.equal(status, 202);
  assert.equal(body.status, 'ready');
  assert.equal(body.vkeyHash, small.vkeyHash);
  assert.equal(artifactDirs().length, dirs);
  assert.equal((await api.request('DELETE', `/v1/models/${body.id}`)).status, 204);
  assert.equal(artifactDirs().length, dirs, 'the other model still uses them');
});

let doneJob: any;
test('prove with ?wait, fetch the job, verify it (bundle and bare proof), keys and Solidity verifier', async () => {
  const { status, body } = await anon.prove(small.id, SMALL_INPUT, '?wait=30');
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.status, 'done');
  assert.deepEqual(
    body.output.map((o: any) => o.dims),
    [[1, 2]],
  );
  assert.ok(body.output[0].values.every(Number.isFinite));
  assert.ok(body.timings.proveMs > 0 && body.timings.runMs >= body.timings.proveMs);
  doneJob = body;
  const fetched = await anon.request('GET', `/v1/proofs/${body.id}`);
  assert.deepEqual(fetched.body, body);

  const verify = (doc: unknown) => anon.request('POST', '/v1/verify', doc);
  assert.deepEqual((await verify({ model: small.id, proof: body.bundle })).body, { valid: true });
  assert.deepEqual((await verify({ model: small.id, proof: body.proof, publicSignals: body.publicSignals })).body, { valid: true });
  const otherSignals = [...body.publicSignals];
  otherSignals[0] = String(BigInt(otherSignals[0]) + 1n);
  const bad = await verify({ model: small.id, proof: body.proof, publicSignals: otherSignals });
  assert.equal(bad.body.valid, false);
  assert.match(bad.body.reason, /does not verify/);
  const edited = structuredClone(body.bundle);
  edited.outputs[0].values[0] += 1;
  assert.equal((await verify({ model: small.id, proof: edited })).body.valid, false);
  assert.equal((await verify({ model: calibrated.id, proof: body.bundle })).body.valid, false, 'another model’s keys');
  assert.equal((await verify({ model: small.id, proof: body.proof })).status, 400, 'a bare proof needs its public signals');
  assert.equal((await verify({ model: small.id, proof: { pi_a: [] } })).status, 400);
  assert.equal((await verify({ model: small.id })).status, 400);

  const vkey = await anon.request('GET', `/v1/models/${small.id}/verification_key`);
  assert.equal(vkey.body.protocol, 'groth16');
  assert.equal(hashVerificationKey(vkey.body), small.vkeyHash);
  const sol = await anon.request('GET', `/v1/models/${small.id}/verifier.sol`);
  assert.equal(sol.status, 200);
  assert.match(sol.headers.get('content-type')!, /^text\/plain/);
  assert.match(sol.body, /pragma solidity/);
  assert.match(sol.body, /contract Groth16Verifier/);
});

test('without ?wait a proof job is queued (202) with the output, not yet proven, and finishes proving it', async () => {
  const { status, body, headers } = await anon.prove(small.id, { input_data: [[0.1, 0.2, -0.3]] });
  assert.equal(status, 202);
  assert.ok(['queued', 'running'].includes(body.status));
  assert.equal(headers.get('location'), `/v1/proofs/${body.id}`);
  // The quantized model already ran to check the input: its output comes back at once.
  assert.equal(body.proven, false);
  assert.deepEqual(
    body.output.map((o: any) => [o.name, o.dims, o.values.length]),
    [['output', [1, 2], 2]],
  );
  assert.equal(body.proof, undefined);
  const [accuracy] = body.accuracy;
  assert.equal(accuracy.name, 'output');
  assert.equal(accuracy.reference.length, 2);
  assert.ok(accuracy.maxAbsError < small.quantization.tolerance, JSON.stringify(body.accuracy));
  assert.equal(accuracy.maxAbsError, Math.max(...body.output[0].values.map((v: number, k: number) => Math.abs(v - accuracy.reference[k]))));
  const job = await anon.job(body.id);
  assert.equal(job.status, 'done');
  assert.equal(job.proven, true);
  assert.deepEqual(job.output, body.output, 'the proof shows the output the 202 announced');
  assert.deepEqual(job.accuracy, body.accuracy);
  assert.equal(job.publicSignals.length, small.publicSignals);
  assert.equal((await anon.request('DELETE', `/v1/proofs/${body.id}`)).status, 409, 'a finished job cannot be cancelled');
});

test('bad proof requests are 400 (413 when too big) with a code, message and details', async () => {
  const cases: [string, unknown, string, string?][] = [
    ['wrong shape', { input: [[0.1, 0.2]] }, 'SHAPE_MISMATCH'],
    ['NaN', '{"input": [[NaN, 0, 0]]}', 'INPUT_INVALID'],
    ['Infinity', '{"input": [[1e999, 0, 0]]}', 'INPUT_INVALID'],
    ['a string', { input: [['0.1', 0, 0]] }, 'INPUT_INVALID'],
    ['null', { input: [[null, 0, 0]] }, 'INPUT_INVALID'],
    ['out of the circuit range', { input: [[5000, 0, 0]] }, 'INPUT_OUT_OF_RANGE'],
    ['out of the fixed-point range', { input: [[1e30, 0, 0]] }, 'INPUT_OUT_OF_RANGE'],
    ['no input', {}, 'INPUT_INVALID'],
    ['input_data for two inputs', { input_data: [[0, 0, 0], [1]] }, 'INPUT_INVALID'],
    ['an array', [0.1, 0.2, 0.3], 'INPUT_INVALID'],
    ['not JSON', 'input=1', 'INPUT_INVALID', 'text/plain'],
    ['a salt for a model that hashes nothing', { input: [[0.1, 0.2, 0.3]], salt: '5' }, 'INPUT_INVALID'],
  ];
  for (const [what, body, code, type] of cases) {
    const res = await anon.request('POST', `/v1/models/${small.id}/proofs`, body, type);
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code, what);
    assert.equal(typeof res.body.error.message, 'string', what);
  }
  const shape = await anon.prove(small.id, { input: [[0.1, 0.2]] });
  assert.deepEqual(shape.body.error.details, { input: 'input', expected: [1, 3], got: 2 });
  const range = await anon.prove(small.id, { input: [[5000, 0, 0]] });
  assert.equal(typeof range.body.error.details.layer, 'number');
  for (const wait of ['61', '-1', 'soon']) assert.equal((await anon.prove(small.id, SMALL_INPUT, `?wait=${wait}`)).status, 400, `wait=${wait}`);
  const huge = await anon.prove(small.id, { input: [[0.1, 0.2, 0.3]], pad: 'x'.repeat(20_000) });
  assert.equal(huge.status, 413);
  assert.equal(huge.body.error.code, 'TOO_LARGE');
});

test('unknown ids are 404, models that are not ready are 409', async () => {
  for (const [method, path] of [
    ['GET', '/v1/models/nope'],
    ['GET', '/v1/models/nope/verification_key'],
    ['GET', '/v1/models/nope/verifier.sol'],
    ['GET', '/v1/proofs/nope'],
    ['DELETE', '/v1/proofs/nope'],
    ['GET', '/v2/models'],
  ]) {
    const res = await api.request(method, path);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(res.body.error.code, 'NOT_FOUND');
  }
  assert.equal((await anon.prove('nope', SMALL_INPUT)).status, 404);
  assert.equal((await api.request('DELETE', '/v1/models/nope')).status, 404);
  assert.equal((await anon.request('POST', '/v1/verify', { model: 'nope', proof: doneJob.bundle })).status, 404);

  const pending = (await api.upload(smallMlp(3), '?name=pending')).body;
  assert.equal(pending.status, 'compiling');
  for (const res of [
    await anon.prove(pending.id, SMALL_INPUT),
    await anon.request('GET', `/v1/models/${pending.id}/verification_key`),
    await anon.request('GET', `/v1/models/${pending.id}/verifier.sol`),
    await anon.request('POST', '/v1/verify', { model: pending.id, proof: doneJob.bundle }),
  ]) {
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'CONFLICT');
    assert.equal(res.body.error.details.status, 'compiling');
  }
  assert.equal((await api.settle(pending.id)).at(-1).status, 'ready');
});

test('bad uploads are refused at once and leave no model behind', async () => {
  const before = (await anon.request('GET', '/v1/models')).body.models.length;
  const form = (parts: Record<string, string | Blob>) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(parts)) f.set(k, v);
    return f;
  };
  const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
    ['not ONNX', () => api.upload(new TextEncoder().encode('definitely not a protobuf model')), 400, 'ONNX_MALFORMED'],
    ['empty', () => api.upload(new Uint8Array(0)), 400, 'INPUT_INVALID'],
    ['wrong content type', () => api.request('POST', '/v1/models', 'hello', 'text/plain'), 400, 'INPUT_INVALID'],
    ['no model part', () => api.request('POST', '/v1/models', form({ name: 'x' })), 400, 'INPUT_INVALID'],
    ['scale out of range', () => api.upload(smallMlp(), '?scale=99'), 400, 'INPUT_INVALID'],
    ['misspelt option', () => api.upload(smallMlp(), '?sclae=8'), 400, 'INPUT_INVALID'],
    ['bad name', () => api.upload(smallMlp(), '?name=a%20b'), 400, 'INPUT_INVALID'],
    ['a dim the model does not have', () => api.upload(smallMlp(), '?dim=sequence%3D4'), 400, 'INPUT_INVALID'],
    ['fix of an input the model does not have', () => api.upload(smallMlp(), `?fix=${encodeURIComponent('{"axes":[1]}')}`), 400, 'INPUT_INVALID'],
    ['fix that is not JSON', () => api.upload(smallMlp(), '?fix=axes'), 400, 'INPUT_INVALID'],
    [
      'calibration not JSON',
      () => api.request('POST', '/v1/models', form({ model: new Blob([new Uint8Array(smallMlp())]), calibration: '{' })),
      400,
      'INPUT_INVALID',
    ],
    [
      'calibration of the wrong shape',
      () => api.request('POST', '/v1/models', form({ model: new Blob([new Uint8Array(smallMlp())]), calibration: '{"input": [[1, 2]]}' })),
      400,
      'SHAPE_MISMATCH',
    ],
    ['raw model over the size limit', () => api.upload(new Uint8Array(100 * 1024)), 413, 'TOO_LARGE'],
    ['multipart model over the size limit', () => api.request('POST', '/v1/models', form({ model: new Blob([new Uint8Array(100 * 1024)]) })), 413, 'TOO_LARGE'],
    [
      'an op no compiler knows',
      () => api.upload(new OnnxBuilder().input('input', [1, 2]).node('NoSuchOp', ['input'], ['output']).output('output', [1, 2]).build()),
      422,
      'ONNX_UNSUPPORTED',
    ],
  ];
  for (const [what, send, status, code] of cases) {
    const res = await send();
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code, what);
  }
  assert.equal((await anon.request('GET', '/v1/models')).body.models.length, before);
});

test('models that fail to build say why', async () => {
  // Ops zkinfer lacks are refused at upload; what only tracing finds (a shape computed from an input) fails the build.
  const computed = new OnnxBuilder()
    .input('input', [1, 2])
    .input('shape', [2], 'int64')
    .node('Reshape', ['input', 'shape'], ['output'])
    .output('output', [1, 2])
    .build();
  const unsupported = (await api.upload(computed, '?name=computed')).body;
  const failed = (await api.settle(unsupported.id)).at(-1);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.code, 'ONNX_UNSUPPORTED');
  assert.match(failed.error.message, /Reshape/);

  // x·0.001 → Relu → ×1000 at scale 8: the plan's error is over its stated tolerance.
  const inexact = smallWeights();
  const calibration = encodeURIComponent(JSON.stringify([{ input: [[1, 0.5, -0.25, 0.8]] }, { input: [[0.3, 0.9, 0.6, -0.4]] }]));
  const inaccurate = (await api.settle((await api.upload(inexact, `?name=inexact&scale=8&calibration=${calibration}`)).body.id)).at(-1);
  assert.equal(inaccurate.status, 'failed');
  assert.equal(inaccurate.error.code, 'INACCURATE');
  assert.match(inaccurate.error.message, /output y\[0\]/);

  const big = (await api.upload(tinyMlp(), '?name=tiny')).body; // 168 non-linear constraints counted from the plan before circom, over this service's 150
  const tooBig = (await api.settle(big.id)).at(-1);
  assert.equal(tooBig.status, 'failed');
  assert.equal(tooBig.error.code, 'TOO_LARGE');
  assert.deepEqual(tooBig.error.details, { constraints: 168, limit: 150 });
  assert.equal((await anon.prove(big.id, SMALL_INPUT)).status, 409);
  const metrics = (await anon.request('GET', '/metrics')).body;
  assert.match(metrics, /zkinfer_failures_total\{kind="compile",reason="INACCURATE"\} 1/);
  assert.match(metrics, /zkinfer_failures_total\{kind="compile",reason="TOO_LARGE"\} 1/);
});

test('API keys guard model upload and delete, and nothing else', async () => {
  for (const res of [await anon.upload(smallMlp()), await anon.withKey('wrong').upload(smallMlp()), await anon.request('DELETE', `/v1/models/${small.id}`)]) {
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  }
  assert.equal((await anon.withKey('other-key').request('GET', '/v1/models')).status, 200);
  assert.equal((await anon.request('GET', `/v1/models/${small.id}`)).status, 200);
});

test("the queue ranks each client's jobs: one client's burst waits behind another's first job", async () => {
  const other = anon.withKey('other-key');
  const burst = (await Promise.all(Array.from({ length: 8 }, () => other.prove(small.id, SMALL_INPUT)))).map((r) => r.body);
  const first = (await api.prove(small.id, SMALL_INPUT, '?wait=30')).body;
  assert.equal(first.status, 'done');
  const finished = await Promise.all(burst.map((j) => other.job(j.id)));
  const later = finished.filter((j) => Date.parse(j.finishedAt) > Date.parse(first.finishedAt));
  // First come, first served would have finished the whole burst first.
  assert.ok(later.length >= 4, `${later.length} of the burst's 8 jobs finished after the other client's job`);
});

test('deleting a model removes its artifacts; its finished proofs stay readable', async () => {
  const job = (await anon.prove(calibrated.id, SMALL_INPUT, '?wait=30')).body;
  assert.equal(job.status, 'done');
  const dirs = artifactDirs().length;
  assert.equal((await api.request('DELETE', `/v1/models/${calibrated.id}`)).status, 204);
  assert.equal(artifactDirs().length, dirs - 1);
  assert.equal((await anon.request('GET', `/v1/models/${calibrated.id}`)).status, 404);
  const kept = await anon.request('GET', `/v1/proofs/${job.id}`);
  assert.equal(kept.status, 200);
  assert.equal(kept.body.status, 'done');
});

test('requests carry an id: the client’s X-Request-Id, or a fresh one', async () => {
  const given = await fetch(`${anon.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(given.headers.get('x-request-id'), 'abc-123');
  const fresh = await fetch(`${anon.url}/healthz`);
  assert.match(fresh.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
});

test('ZKINFER_PTAU: keys rest on the given ceremony file instead of a development ptau', async () => {
  // The suite's ptau stands in for a ceremony file: it is prepared and has a contribution.
  const ptau = devPtauPath(TEST_DATA_DIR, TEST_PTAU_POWER);
  const other = await startTestService({ ptau });
  try {
    const model = await other.client.ready(smallMlp(), '?name=ceremony');
    assert.equal(model.developmentPtau, false);
    assert.equal(model.ptauPower, TEST_PTAU_POWER);
    // A larger file serves a smaller circuit; the view names the smallest public file that would.
    assert.equal(model.requiredPtauPower, 8);
    assert.equal(model.publicPtau.file, 'powersOfTau28_hez_final_08.ptau');
    assert.equal(model.settings.ptau, `dev-pot${TEST_PTAU_POWER}.ptau`);
    const job = (await other.client.prove(model.id, SMALL_INPUT, '?wait=30')).body;
    assert.deepEqual((await other.client.request('POST', '/v1/verify', { model: model.id, proof: job.bundle })).body, { valid: true });
  } finally {
    await other.close();
    rmSync(other.config.dataDir, { recursive: true, force: true });
  }
});
