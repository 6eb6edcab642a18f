/**
 * What the service serves for proving and verifying on the client: GET /v1/models/:id/artifacts/:name
 * with content-hash ETags and immutable caching, and the proving artifacts (which reveal fixed
 * weights) only for models whose owner opted in with clientProving=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { modelFiles } from '../src/model/layout.js';
import { type Client, modelDirNamed, smallMlp, useTestService } from './support/service.js';

let api: Client;
let open: any; // uploaded with clientProving=true
let closed: any; // the same model without it

const served = useTestService({}, async () => {
  api = served.client;
  open = await api.ready(smallMlp(), '?name=small&clientProving=true');
  closed = await api.ready(smallMlp(), '?name=small');
});

const get = async (path: string) => {
  const res = await fetch(`${api.url}${path}`);
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
};

/**
 * A browser's revalidation: If-None-Match alone. (fetch() would add `Cache-Control: no-cache`, as
 * the Fetch standard says for a request with conditional headers, and get the whole file again.)
 */
const revalidate = (path: string, etag: string): Promise<number | undefined> =>
  new Promise((resolve, reject) => {
    httpGet(`${api.url}${path}`, { headers: { 'if-none-match': etag } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });

test('the model view says whether clients may prove it, and where its artifacts are', () => {
  assert.equal(open.clientProving, true);
  assert.equal(closed.clientProving, false);
  assert.equal(open.system, 'groth16');
  assert.deepEqual(Object.keys(open.artifacts).sort(), ['circuit.wasm', 'circuit.zkey', 'main.r1cs', 'model.json', 'plan.json', 'verification_key.json']);
  assert.deepEqual(Object.keys(closed.artifacts).sort(), ['model.json', 'verification_key.json']);
  assert.equal(open.artifacts['circuit.wasm'], `/v1/models/${open.id}/artifacts/circuit.wasm`);
});

test('artifacts are the model files, with their sha256 as ETag and immutable caching', async () => {
  const files = modelFiles(modelDirNamed(served.service.config.dataDir, 'small'));
  for (const [name, file, type] of [
    ['circuit.wasm', files.wasm, 'application/wasm'],
    ['circuit.zkey', files.zkey, 'application/octet-stream'],
    ['main.r1cs', files.r1cs, 'application/octet-stream'],
    ['plan.json', files.plan, 'application/json'],
    ['verification_key.json', files.vkey, 'application/json'],
    ['model.json', files.info, 'application/json'],
  ] as const) {
    const { res, bytes } = await get(open.artifacts[name]);
    assert.equal(res.status, 200, name);
    const expected = readFileSync(file);
    assert.deepEqual(Buffer.from(bytes), expected, name);
    const sha256 = createHash('sha256').update(expected).digest('hex');
    assert.equal(res.headers.get('etag'), `"${sha256}"`, name);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok(res.headers.get('content-type')?.startsWith(type), `${name}: ${res.headers.get('content-type')}`);
    assert.equal(await revalidate(open.artifacts[name], `"${sha256}"`), 304, name);
  }
});

test('the proving artifacts of a model not opted in are refused with 403; its verifying key and model.json are served', async () => {
  for (const name of ['circuit.wasm', 'circuit.zkey', 'main.r1cs', 'plan.json']) {
    const { status, body } = await api.request('GET', `/v1/models/${closed.id}/artifacts/${name}`);
    assert.equal(status, 403, name);
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.match(body.error.message, /clientProving=true/);
  }
  for (const name of ['verification_key.json', 'model.json']) assert.equal((await get(`/v1/models/${closed.id}/artifacts/${name}`)).res.status, 200, name);
});

test('unknown artifacts and models are 404 with a JSON error; client proving of private weights is refused at upload', async () => {
  const unknown = await api.request('GET', `/v1/models/${open.id}/artifacts/network.onnx`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'NOT_FOUND');
  assert.match(unknown.body.error.message, /circuit\.wasm/);
  assert.equal((await api.request('GET', '/v1/models/nope/artifacts/model.json')).status, 404);
  const hashed = await api.upload(smallMlp(), '?clientProving=true&visibility=weights=hashed');
  assert.equal(hashed.status, 400);
  assert.match(hashed.body.error.message, /cannot prove a model with hashed weights/);
  assert.equal((await api.upload(smallMlp(), '?clientProving=maybe')).status, 400);
});

test('uploads under an existing name are its next versions; ?name= lists them', async () => {
  assert.equal(open.version, 1);
  assert.equal(closed.version, 2);
  assert.match(open.onnxSha256, /^[0-9a-f]{64}$/);
  const { body } = await api.request('GET', '/v1/models?name=small');
  assert.deepEqual(
    body.models.map((m: any) => [m.id, m.version]),
    [
      [open.id, 1],
      [closed.id, 2],
    ],
  );
  assert.deepEqual((await api.request('GET', '/v1/models?name=none')).body.models, []);
  assert.equal((await api.request('GET', '/v1/models?nam=small')).status, 400);
});
