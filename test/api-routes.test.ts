/**
 * Every route's validation and error mapping, fast: the real Express app (createApp, src/api) over
 * stand-in dependencies (a model service, queue and job store held in memory, no compiler, no
 * prover), on an ephemeral 127.0.0.1 port. What the routes do end to end with real proofs is in the
 * service-*.test.ts files; here, what a bad request gets back: the status, the JSON error code,
 * the headers (Retry-After, WWW-Authenticate, Location, X-Request-Id), and that the stand-ins were
 * (or were not) reached.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { createApp } from '../src/api/app.js';
import { ZkError } from '../src/core/errors.js';
import type { ModelBuilder } from '../src/jobs/compiles.js';
import type { ProofJobQueue } from '../src/jobs/ledger.js';
import type { ModelInfo } from '../src/model/layout.js';
import { configWith } from '../src/service/config.js';
import { createMetrics } from '../src/service/metrics.js';
import type { ModelService, ReadyModel, Upload } from '../src/service/models.js';
import type { JobRecord, JobStore } from '../src/store/jobs.js';
import type { ModelRecord } from '../src/store/models.js';
import { tempDir } from './support/env.js';
import { Client } from './support/service.js';

const KEY = 'route-test-key';

const record = (id: string, status: ModelRecord['status']): ModelRecord => ({
  id,
  name: id,
  version: 1,
  key: `key-${id}`,
  onnxSha256: '0'.repeat(64),
  settings: { scale: 8, headroomBits: 2 },
  status,
  clientProving: false,
  createdAt: 0,
  updatedAt: 0,
});

const job = (id: string, client: string): JobRecord => ({
  id,
  modelId: 'ready',
  status: 'queued',
  client,
  priority: 1,
  attempts: 0,
  values: [[1]],
  createdAt: 0,
});

/** What the stand-ins saw, and what a test makes them throw next; reset before each request group. */
const seen = { uploads: [] as Upload[], submitted: [] as unknown[], cancelled: [] as string[], removed: [] as string[] };
const next: { checkInput?: () => unknown; submit?: () => unknown } = {};

/** The model service over two records: `ready` (its info is empty: only proof routes read it) and `compiling`. */
const models = {
  records: new Map([
    ['ready', record('ready', 'ready')],
    ['compiling', record('compiling', 'compiling')],
  ]),
  get(id: string) {
    const r = this.records.get(id);
    if (!r) throw new ZkError('NOT_FOUND', `no model ${id}`, { id });
    return r;
  },
  list(name?: string) {
    return [...this.records.values()].filter((r) => name === undefined || r.name === name);
  },
  inspect: (r: ModelRecord) => ({ record: r }),
  ready(id: string): ReadyModel {
    const r = this.get(id);
    if (r.status !== 'ready') throw new ZkError('CONFLICT', `model ${id} is ${r.status}, not ready`);
    return { record: r, info: {} as ModelInfo, dir: '/srv/zkinfer/data/artifacts/key-ready' };
  },
  async upload(u: Upload) {
    seen.uploads.push(u);
    return record('uploaded', 'compiling');
  },
  remove(id: string) {
    this.get(id);
    seen.removed.push(id);
  },
  async checkInput(_m: ReadyModel, doc: unknown) {
    return next.checkInput ? next.checkInput() : doc;
  },
  async verificationKey() {
    throw new Error('a bug with a server path /srv/zkinfer/data/secret.txt');
  },
  async verify() {
    return { valid: true };
  },
  async receiveBundle(_m: ReadyModel, _doc: unknown, client: string) {
    return { job: { ...job('from-client', client), status: 'done' as const }, created: true };
  },
  async solidityVerifier() {
    const e = new Error('disk full') as Error & { code: string };
    e.code = 'SQLITE_FULL';
    throw e;
  },
  async artifact() {
    throw new ZkError('NOT_FOUND', 'no artifact wasm in /srv/zkinfer/data/artifacts/key-ready/circuit');
  },
};

const jobs = new Map<string, JobRecord>();
const queue = {
  depth: 3,
  async submit(modelId: string, input: unknown, client: string) {
    if (next.submit) return next.submit();
    seen.submitted.push(input);
    const j = { ...job(`job-${jobs.size}`, client), modelId };
    jobs.set(j.id, j);
    return j;
  },
  async waitFor() {},
  async cancel(id: string) {
    seen.cancelled.push(id);
  },
  async cancelModel(id: string) {
    seen.cancelled.push(`model:${id}`);
  },
};

/** The config's data directory: the app reads no file here; the ceremony routes would write under it. */
const dataDir = tempDir('routes');
let ready = true;
let server: ReturnType<ReturnType<typeof createApp>['listen']>;
let anon: Client;
let api: Client;

before(async () => {
  const app = createApp({
    config: configWith({ dataDir, apiKeys: [KEY], bodyLimitBytes: 1024, modelSizeLimitBytes: 2048 }),
    models: models as unknown as ModelService,
    builder: { progressOf: () => undefined } as unknown as ModelBuilder,
    queue: queue as unknown as ProofJobQueue,
    jobs: { get: (id: string) => jobs.get(id) } as unknown as JobStore,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    isReady: () => ready,
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  anon = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  api = anon.withKey(KEY);
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

/** Asserts the reply is `status` with a JSON error of `code`; returns the error's message. */
function assertError(reply: { status: number; body: { error?: { code: string; message: string } } }, status: number, code: string): string {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error?.code, code, JSON.stringify(reply.body));
  return reply.body.error.message;
}

test('system: /healthz, /readyz (503 UNAVAILABLE while starting or draining), /metrics, /openapi.json', async () => {
  assert.deepEqual((await anon.request('GET', '/healthz')).body, { status: 'ok' });
  assert.deepEqual((await anon.request('GET', '/readyz')).body, { status: 'ready', queued: 3 });
  ready = false;
  assertError(await anon.request('GET', '/readyz'), 503, 'UNAVAILABLE');
  ready = true;
  const metrics = await anon.request('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
  assert.equal((await anon.request('GET', '/openapi.json')).body.openapi?.startsWith('3'), true);
});

test('an unknown route is 404 NOT_FOUND naming it; X-Request-Id is kept when well-formed, made otherwise', async () => {
  const reply = await anon.request('GET', '/v1/nothing');
  assert.match(assertError(reply, 404, 'NOT_FOUND'), /GET \/v1\/nothing/);
  // The path scrubber keeps every API version's paths, not only /v1's: they are the client's own.
  assert.match(assertError(await anon.request('GET', '/v2/nothing'), 404, 'NOT_FOUND'), /GET \/v2\/nothing/);
  assert.match(reply.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const res = await fetch(`${anon.url}/healthz`, { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(res.headers.get('x-request-id'), 'trace-42');
  const bad = await fetch(`${anon.url}/healthz`, { headers: { 'x-request-id': 'no spaces allowed' } });
  assert.notEqual(bad.headers.get('x-request-id'), 'no spaces allowed');
});

test('POST /v1/models: 401 without or with a wrong key (WWW-Authenticate: Bearer), nothing reaches the model service', async () => {
  seen.uploads.length = 0;
  const missing = await anon.upload(new Uint8Array([1, 2, 3]));
  assertError(missing, 401, 'UNAUTHORIZED');
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
  assertError(await anon.withKey('wrong').upload(new Uint8Array([1, 2, 3])), 401, 'UNAUTHORIZED');
  assert.equal(seen.uploads.length, 0);
});

test('POST /v1/models: a wrong content type, bad options or an oversized body are 4xx before the model service', async () => {
  seen.uploads.length = 0;
  assertError(await api.request('POST', '/v1/models', { model: 'x' }), 400, 'INPUT_INVALID');
  for (const query of [
    '?scale=99',
    '?scale=abc',
    '?name=has%20space',
    '?unknown=1',
    '?system=bulletproofs',
    '?clientProving=yes',
    '?calibration=%7Bnot-json',
    '?fix=%5B1%5D',
  ]) {
    const message = assertError(await api.upload(new Uint8Array([1, 2, 3]), query), 400, 'INPUT_INVALID');
    assert.ok(message.length > 0, query);
  }
  assertError(await api.upload(new Uint8Array(4096)), 413, 'TOO_LARGE');
  const form = new FormData();
  form.set('name', 'no-model-part');
  assertError(await api.request('POST', '/v1/models', form), 400, 'INPUT_INVALID');
  assert.equal(seen.uploads.length, 0);
});

test('POST /v1/models: 202 with Location; options reach the model service parsed; ceremony=open returns the owner token once', async () => {
  seen.uploads.length = 0;
  const reply = await api.upload(new Uint8Array([1, 2, 3]), '?name=m1&scale=10&headroom=3&visibility=input%3Dhashed&clientProving=true&system=plonk');
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  assert.equal(reply.headers.get('location'), '/v1/models/uploaded');
  const [u] = seen.uploads;
  assert.deepEqual([u.name, u.scale, u.headroomBits, u.clientProving, u.system, u.visibility?.input], ['m1', 10, 3, true, 'plonk', 'hashed']);
  assert.deepEqual([...u.onnx], [1, 2, 3]);
  const open = await api.upload(new Uint8Array([1]), '?ceremony=open');
  assert.equal(typeof open.body.ceremonyOwnerToken, 'string');
  assert.equal(typeof seen.uploads[1].ceremonyOwner, 'string');
  assert.notEqual(seen.uploads[1].ceremonyOwner, open.body.ceremonyOwnerToken, 'the service keeps only the digest');
});

test('GET /v1/models: a bad or unknown query parameter is 400; GET and DELETE of an unknown model are 404; DELETE needs the key', async () => {
  assertError(await anon.request('GET', `/v1/models?name=${'n'.repeat(65)}`), 400, 'INPUT_INVALID');
  assertError(await anon.request('GET', '/v1/models?limit=1'), 400, 'INPUT_INVALID');
  assert.deepEqual(
    (await anon.request('GET', '/v1/models?name=ready')).body.models.map((m: { id: string }) => m.id),
    ['ready'],
  );
  assertError(await anon.request('GET', '/v1/models/ghost'), 404, 'NOT_FOUND');
  assertError(await anon.request('DELETE', '/v1/models/ready'), 401, 'UNAUTHORIZED');
  assertError(await api.request('DELETE', '/v1/models/ghost'), 404, 'NOT_FOUND');
  seen.cancelled.length = 0;
  assert.equal((await api.request('DELETE', '/v1/models/compiling')).status, 204);
  assert.deepEqual(seen.cancelled, ['model:compiling'], 'its unfinished jobs are cancelled first');
});

test('model files of a model that is not ready are 409 CONFLICT; unknown ones 404', async () => {
  for (const path of ['verification_key', 'verifier.sol', 'artifacts/wasm', 'ceremony']) {
    assertError(await anon.request('GET', `/v1/models/compiling/${path}`), 409, 'CONFLICT');
    assertError(await anon.request('GET', `/v1/models/ghost/${path}`), 404, 'NOT_FOUND');
  }
});

test('error mapping: an unexpected error is 500 INTERNAL without its message; a storage fault is 503; server paths are cut to the file name', async () => {
  const internal = await anon.request('GET', '/v1/models/ready/verification_key');
  assert.equal(assertError(internal, 500, 'INTERNAL'), 'internal error');
  assert.ok(!JSON.stringify(internal.body).includes('/srv'), 'no server path');
  assertError(await anon.request('GET', '/v1/models/ready/verifier.sol'), 503, 'STORAGE_FAILED');
  const missing = assertError(await anon.request('GET', '/v1/models/ready/artifacts/wasm'), 404, 'NOT_FOUND');
  assert.equal(missing, 'no artifact wasm in …/circuit');
});

test('POST /v1/models/:id/proofs: bad wait, bad JSON, oversized body, a model not ready: 4xx and nothing queued', async () => {
  seen.submitted.length = 0;
  assertError(await anon.prove('ready', { input: [[1]] }, '?wait=61'), 400, 'INPUT_INVALID');
  assertError(await anon.prove('ready', { input: [[1]] }, '?wait=soon'), 400, 'INPUT_INVALID');
  assertError(await anon.request('POST', '/v1/models/ready/proofs', '{"input": [[1]'), 400, 'INPUT_INVALID');
  assertError(await anon.prove('ready', { input: [Array(600).fill(1)] }), 413, 'TOO_LARGE');
  assertError(await anon.prove('compiling', { input: [[1]] }), 409, 'CONFLICT');
  assertError(await anon.prove('ghost', { input: [[1]] }), 404, 'NOT_FOUND');
  next.checkInput = () => {
    throw new ZkError('INPUT_OUT_OF_RANGE', 'input[0] is past the range layer 0 checks');
  };
  assertError(await anon.prove('ready', { input: [[1e9]] }), 400, 'INPUT_OUT_OF_RANGE');
  next.checkInput = undefined;
  assert.equal(seen.submitted.length, 0);
});

test('POST /v1/models/:id/proofs: a full queue is 429 with Retry-After; an accepted job is 202 with Location; a client bundle is 201', async () => {
  next.submit = () => {
    throw new ZkError('QUEUE_FULL', 'the proof queue is full', { retryAfterSeconds: 7 });
  };
  const full = await anon.prove('ready', { input: [[1]] });
  assertError(full, 429, 'QUEUE_FULL');
  assert.equal(full.headers.get('retry-after'), '7');
  next.submit = undefined;
  const accepted = await anon.prove('ready', { input: [[1]] });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  assert.equal(accepted.headers.get('location'), `/v1/proofs/${accepted.body.id}`);
  const bundle = await anon.prove('ready', { bundle: {} });
  assert.equal(bundle.status, 201);
  assert.equal(bundle.headers.get('location'), '/v1/proofs/from-client');
});

test('GET and DELETE /v1/proofs/:id: unknown jobs, and with API keys another client’s jobs, are 404', async () => {
  const mine = (await api.prove('ready', { input: [[1]] })).body.id;
  assert.equal((await api.request('GET', `/v1/proofs/${mine}`)).status, 200);
  assertError(await anon.request('GET', `/v1/proofs/${mine}`), 404, 'NOT_FOUND');
  seen.cancelled.length = 0;
  assertError(await anon.request('DELETE', `/v1/proofs/${mine}`), 404, 'NOT_FOUND');
  assert.deepEqual(seen.cancelled, [], 'nothing cancelled for someone else');
  assert.equal((await api.request('DELETE', `/v1/proofs/${mine}`)).status, 200);
  assert.deepEqual(seen.cancelled, [mine]);
  assertError(await api.request('GET', '/v1/proofs/ghost'), 404, 'NOT_FOUND');
});

test('POST /v1/verify: a missing model or a proof that is not an object is 400 naming the field', async () => {
  assert.match(assertError(await anon.request('POST', '/v1/verify', { proof: {} }), 400, 'INPUT_INVALID'), /model/);
  assert.match(assertError(await anon.request('POST', '/v1/verify', { model: 'ready', proof: 'abc' }), 400, 'INPUT_INVALID'), /proof/);
  assertError(await anon.request('POST', '/v1/verify', { model: 'ghost', proof: {} }), 404, 'NOT_FOUND');
  assert.deepEqual((await anon.request('POST', '/v1/verify', { model: 'ready', proof: {} })).body, { valid: true });
});

test('ceremony routes: contributions and finalize need the key; an empty contribution or a bad beacon is 400; an unknown file is 404', async () => {
  assertError(await anon.request('POST', '/v1/models/ready/ceremony/contributions', new Uint8Array([1]), 'application/octet-stream'), 401, 'UNAUTHORIZED');
  assertError(await api.request('POST', '/v1/models/ready/ceremony/contributions', new Uint8Array(0), 'application/octet-stream'), 400, 'INPUT_INVALID');
  assertError(await api.request('POST', '/v1/models/ready/ceremony/finalize', { ownerToken: 't', beacon: 'xyz' }), 400, 'INPUT_INVALID');
  assertError(await api.request('POST', '/v1/models/ready/ceremony/finalize', { ownerToken: 't', beacon: 'ab', iterations: 5 }), 400, 'INPUT_INVALID');
  assertError(await anon.request('GET', '/v1/models/ready/ceremony/secrets'), 404, 'NOT_FOUND');
});
