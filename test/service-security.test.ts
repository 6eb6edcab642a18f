/**
 * The service against a hostile or unlucky world (issue 13): a model whose artifacts vanished,
 * clients reading or cancelling each other's jobs, a keyless flood, private data kept at rest, and
 * malformed requests that must each be a clean 4xx.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_FIELD_PRIME as Q, FIELD_PRIME as R, releaseCurve } from '../src/core/snarkjs.js';
import { modelDirNamed, serviceDataDir, sleep, smallMlp, startTestService } from './support/service.js';

const cleanup: (() => unknown)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await releaseCurve();
});

test('a model whose artifacts are missing shows as failed; the list and the other models still work', async () => {
  const dataDir = serviceDataDir();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestService({ dataDir });
  const good = await first.client.ready(smallMlp(7), '?name=good');
  const broken = await first.client.ready(smallMlp(8), '?name=broken');
  await first.close();
  rmSync(modelDirNamed(dataDir, 'broken'), { recursive: true });

  const service = await startTestService({ dataDir });
  cleanup.push(() => service.close());
  const list = await service.client.request('GET', '/v1/models');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const byName = Object.fromEntries(list.body.models.map((m: any) => [m.name, m]));
  assert.equal(byName.good.status, 'ready');
  assert.equal(byName.broken.status, 'failed');
  assert.equal(byName.broken.error.code, 'ARTIFACT_MISSING');
  assert.doesNotMatch(byName.broken.error.message, /\//, 'no path in the reason');
  assert.equal((await service.client.request('GET', `/v1/models/${broken.id}`)).body.status, 'failed');
  assert.equal((await service.client.prove(good.id, { input: [[0.25, -0.5, 0.75]] }, '?wait=30')).body.status, 'done');

  // A file missing for a moment (a restore in progress): refused while it is gone, served once it is back.
  const vkey = join(modelDirNamed(dataDir, 'good'), 'verification_key.json');
  renameSync(vkey, `${vkey}.away`);
  const missing = await service.client.request('GET', `/v1/models/${good.id}/verification_key`);
  assert.equal(missing.body.error?.code, 'ARTIFACT_MISSING', JSON.stringify(missing.body));
  renameSync(`${vkey}.away`, vkey);
  assert.equal((await service.client.request('GET', `/v1/models/${good.id}/verification_key`)).status, 200, 'the failure was not kept');
});

/** One server with API keys for the tests below: alice and bob hold keys, anon has none. */
let keyed: Awaited<ReturnType<typeof startTestService>> | undefined;
async function keyedService() {
  if (!keyed) {
    keyed = await startTestService({ apiKeys: ['alice-key', 'bob-key'], poolSize: 1, proverThreads: 'single', queueLimit: 4, keylessShare: 0.5 });
    const service = keyed;
    cleanup.push(async () => {
      await service.close();
      rmSync(service.config.dataDir, { recursive: true, force: true });
    });
  }
  const anon = keyed.client;
  return { service: keyed, anon, alice: anon.withKey('alice-key'), bob: anon.withKey('bob-key') };
}

let hashedModel: any;
async function hashed() {
  const { alice } = await keyedService();
  hashedModel ??= await alice.ready(smallMlp(7), '?name=hashed&visibility=input=hashed');
  return hashedModel;
}

test('with API keys, a job and its opening belong to the client that created it: others get 404', async () => {
  const { alice, bob, anon } = await keyedService();
  const model = await hashed();
  const job = (await alice.prove(model.id, { input: [[0.25, -0.5, 0.75]] }, '?wait=30')).body;
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  assert.ok(job.opening?.salt, 'the owner sees the opening');
  for (const other of [bob, anon]) {
    const read = await other.request('GET', `/v1/proofs/${job.id}`);
    assert.equal(read.status, 404, JSON.stringify(read.body));
    assert.equal(read.body.error.code, 'NOT_FOUND');
    assert.equal(JSON.stringify(read.body).includes(job.opening.salt), false);
    assert.equal((await other.request('DELETE', `/v1/proofs/${job.id}`)).status, 404);
  }
  assert.equal((await alice.request('GET', `/v1/proofs/${job.id}`)).body.opening.salt, job.opening.salt);

  // A queued job: another client cannot cancel it; its owner can.
  const queued = await Promise.all([alice.prove(model.id, { input: [[0.1, 0.2, 0.3]] }), alice.prove(model.id, { input: [[0.3, 0.2, 0.1]] })]);
  const last = queued[1].body;
  assert.equal((await bob.request('DELETE', `/v1/proofs/${last.id}`)).status, 404);
  const mine = await alice.request('DELETE', `/v1/proofs/${last.id}`);
  assert.ok(mine.status === 200 || mine.status === 409, JSON.stringify(mine.body));
  await alice.job(queued[0].body.id);
});

test('with API keys, a model and its name belong to the client that uploaded it: others cannot delete it or add versions', async () => {
  const { alice, bob } = await keyedService();
  const model = await alice.ready(smallMlp(9), '?name=alices');
  const job = (await alice.prove(model.id, { input: [[0.25, -0.5, 0.75]] })).body;
  // Any key deleted any model, cancelling its owner's jobs; and a next version under the name made
  // another client's model the name's latest.
  const del = await bob.request('DELETE', `/v1/models/${model.id}`);
  assert.equal(del.status, 403, JSON.stringify(del.body));
  assert.equal(del.body.error.code, 'FORBIDDEN');
  const hijack = await bob.upload(smallMlp(10), '?name=alices');
  assert.equal(hijack.status, 403, JSON.stringify(hijack.body));
  assert.match(hijack.body.error.message, /belongs to another client/);
  assert.deepEqual(
    (await bob.request('GET', '/v1/models?name=alices')).body.models.map((m: { version: number }) => m.version),
    [1],
  );
  assert.notEqual((await alice.job(job.id)).status, 'cancelled', "the owner's job ran on");
  assert.equal((await alice.ready(smallMlp(10), '?name=alices')).version, 2, 'the owner adds versions');
  assert.equal((await alice.request('DELETE', `/v1/models/${model.id}`)).status, 204);
});

test('a keyless flood gets 429 beyond its share of the queue; keyed clients still get in', async () => {
  const { alice, anon } = await keyedService();
  const model = await hashed();
  // One worker, 4 places: keyless requests may hold 2 of them.
  const flood = await Promise.all(Array.from({ length: 10 }, (_, i) => anon.prove(model.id, { input: [[i / 10, 0.5, -0.5]] })));
  const mine = await Promise.all([alice.prove(model.id, { input: [[0.5, 0.5, 0.5]] }), alice.prove(model.id, { input: [[0.5, 0.25, 0.5]] })]);
  const refused = flood.filter((r) => r.status === 429);
  assert.ok(refused.length >= 5, `${refused.length} of 10 keyless requests refused`);
  assert.match(refused[0].body.error.message, /without an API key/);
  for (const r of mine) assert.equal(r.status, 202, JSON.stringify(r.body));
  await Promise.all([...flood.filter((r) => r.status === 202).map((r) => anon.job(r.body.id)), ...mine.map((r) => alice.job(r.body.id))]);
});

test('private data at rest: the database is 0600 in a 0700 directory, and retention purges inputs and openings', async () => {
  const { service } = await keyedService();
  await hashed(); // a built model, so artifacts exist
  const mode = (p: string) => statSync(p).mode & 0o777;
  const { dataDir } = service.config;
  assert.equal(mode(dataDir), 0o700);
  for (const f of ['zkinfer.db', 'zkinfer.db-wal']) assert.equal(mode(join(dataDir, f)), 0o600, f);
  assert.equal(mode(join(dataDir, 'artifacts')), 0o700);
  // Each model's directory too (it holds the weights, private ones included), wherever it is copied.
  const built = readdirSync(join(dataDir, 'artifacts')).filter((d) => !d.startsWith('.'));
  assert.ok(built.length > 0);
  for (const d of built) assert.equal(mode(join(dataDir, 'artifacts', d)), 0o700, d);

  const short = await startTestService({ retentionMs: 1000 });
  cleanup.push(async () => {
    await short.close();
    rmSync(short.config.dataDir, { recursive: true, force: true });
  });
  const { client } = short;
  const model = await client.ready(smallMlp(7), '?name=hashed&visibility=input=hashed');
  const salt = '123456789123456789123456789';
  // A value no timing or setting is likely to contain, to look for in the raw files.
  const job = (await client.prove(model.id, { input: [[0.25, -0.5, 0.617283]], salt }, '?wait=30')).body;
  assert.equal(job.opening.salt, salt);
  const raw = () =>
    ['zkinfer.db', 'zkinfer.db-wal']
      .map((f) => join(short.config.dataDir, f))
      .filter(existsSync)
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
  assert.ok(raw().includes(salt) && raw().includes('0.617283'), 'the salt and input are stored while the job is recent');

  let purged: any;
  for (const deadline = Date.now() + 15_000; !purged?.purgedAt && Date.now() < deadline; await sleep(200))
    purged = (await client.request('GET', `/v1/proofs/${job.id}`)).body;
  assert.ok(purged.purgedAt, 'purged within the retention and a sweep');
  assert.equal(purged.status, 'done');
  assert.equal(purged.opening, undefined);
  assert.deepEqual((await client.request('POST', '/v1/verify', { model: model.id, proof: purged.bundle })).body, { valid: true });
  assert.equal(raw().includes(salt), false, 'no copy of the salt left in the database files');
  assert.equal(raw().includes('0.617283'), false, 'nor of the input');
});

/** A 400 (or 4xx) JSON error with a code, never a 500: asserts it and returns the error. */
function refused(r: { status: number; body: any }, what: string, status = 400): { code: string; message: string } {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
  assert.ok(r.body.error?.code && r.body.error.code !== 'INTERNAL', `${what}: ${JSON.stringify(r.body)}`);
  return r.body.error;
}

test('hostile requests are each a clean 4xx: deep nesting, prototype keys, overflowing numbers, duplicate visibility', async () => {
  const { alice, anon } = await keyedService();
  const model = await hashed();
  let deep: unknown = 0.5;
  for (let i = 0; i < 4000; i++) deep = [deep];
  assert.match(refused(await anon.prove(model.id, { input: deep }), 'a 4,000-deep input').message, /nested deeper than its shape/);
  assert.match(refused(await anon.request('POST', `/v1/models/${model.id}/proofs`, '{"input": [[1e400, 0, 0]]}'), '1e400').message, /overflowed/);
  for (const key of ['__proto__', 'constructor']) {
    refused(await anon.prove(model.id, JSON.parse(`{"${key}": {"input": [[0.1, 0.2, 0.3]]}}`)), `an input document keyed ${key}`);
    refused(await anon.prove(model.id, JSON.parse(`{"input": {"${key}": [[0.1, 0.2, 0.3]]}}`)), `an input named ${key}`);
    refused(await alice.upload(smallMlp(), `?${key}=1`), `upload option ${key}`);
    refused(await alice.upload(smallMlp(), `?visibility=${key}=hashed`), `visibility key ${key}`);
  }
  assert.match(refused(await alice.upload(smallMlp(), '?visibility=input=hashed,input=public'), 'duplicate visibility').message, /twice/);
  // A repeated option was "expected number, received NaN".
  assert.match(refused(await alice.upload(smallMlp(), '?scale=8&scale=10'), 'a repeated option').message, /upload option scale is given more than once/);
  const form = new FormData();
  form.append('model', new Blob([new Uint8Array(smallMlp())]), 'model.onnx');
  form.append('calibration', JSON.stringify({ input: deep }));
  assert.match(refused(await alice.request('POST', '/v1/models', form), 'a 4,000-deep calibration').message, /nested deeper/);
  // Multipart bodies busboy cannot parse were 500 INTERNAL.
  const cut = '--b\r\nContent-Disposition: form-data; name="model"; filename="m.onnx"\r\n\r\nxyz';
  for (const [body, type] of [
    ['zzz', 'multipart/form-data'],
    [cut, 'multipart/form-data; boundary=b'],
  ])
    assert.match(
      refused(await alice.request('POST', '/v1/models', body, type), `a malformed multipart body: ${body.slice(0, 8)}`).message,
      /multipart body is malformed/,
    );
  const shallow = encodeURIComponent(JSON.stringify({ input: [[[[[0.1, 0.2, 0.3]]]]] }));
  assert.match(refused(await alice.upload(smallMlp(), `?calibration=${shallow}`), 'an over-nested calibration').message, /nested deeper/);
});

/** A point [x, y, 1] of G1 or G2 (coordinates in Fq or Fq2) restated as Jacobian [x·4, y·8, 2]. */
function jacobian([x, y]: any[]): any[] {
  const times = (c: any, k: bigint): any => (Array.isArray(c) ? c.map((e) => times(e, k)) : String((BigInt(c) * k) % Q));
  return [times(x, 4n), times(y, 8n), Array.isArray(x) ? ['2', '0'] : '2'];
}

test('verify takes canonical encodings only and counts the public signals', async () => {
  const { anon } = await keyedService();
  const model = await hashed();
  const job = (await anon.prove(model.id, { input: [[0.5, 0.25, -0.25]] }, '?wait=30')).body;
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  const verify = (proof: unknown, publicSignals?: unknown) => anon.request('POST', '/v1/verify', { model: model.id, proof, publicSignals });
  assert.deepEqual((await verify(job.proof, job.publicSignals)).body, { valid: true });
  // Signals beside a bundle were ignored ("valid" for a client that checked them): refused.
  const tampered = [String(BigInt(job.publicSignals[0]) + 1n), ...job.publicSignals.slice(1)];
  assert.match(refused(await verify(job.bundle, tampered), 'a bundle with other signals').message, /bundle carries its public signals/);
  assert.match(refused(await verify(job.proof, job.publicSignals.slice(1)), 'too few public signals').message, /public signals/);
  refused(await verify(job.proof, []), 'no public signals');

  const signals = (f: (s: string) => string) => job.publicSignals.map((s: string, i: number) => (i === 0 ? f(s) : s));
  const coordinate = (f: (s: string) => string) => ({ ...job.proof, pi_a: [f(job.proof.pi_a[0]), ...job.proof.pi_a.slice(1)] });
  const restated: [string, unknown, unknown][] = [
    ['a signal + r', job.proof, signals((s) => String(BigInt(s) + R))],
    ['a signal with a leading zero', job.proof, signals((s) => `0${s}`)],
    ['a coordinate + q', coordinate((s) => String(BigInt(s) + Q)), job.publicSignals],
    ['a coordinate with a leading zero', coordinate((s) => `0${s}`), job.publicSignals],
    // Not numbers at all: the range check ran BigInt on them after the pattern had failed (a 500).
    ['a signal in exponent notation', job.proof, signals(() => '1e308')],
    ['a signal that is not a number', job.proof, signals(() => 'abc')],
    ['a coordinate with a fraction', coordinate(() => '1.5'), job.publicSignals],
    // The same points in Jacobian coordinates with z = 2 (x·z², y·z³): snarkjs accepts any z.
    ['a G1 point with z = 2', { ...job.proof, pi_a: jacobian(job.proof.pi_a) }, job.publicSignals],
    ['a G2 point with z = 2', { ...job.proof, pi_b: jacobian(job.proof.pi_b) }, job.publicSignals],
  ];
  for (const [what, proof, publicSignals] of restated) {
    assert.match(refused(await verify(proof, publicSignals), `bare: ${what}`).message, /canonical|reduced/);
    const bundle = { ...job.bundle, proof, publicSignals };
    assert.match(refused(await verify(bundle), `bundle: ${what}`).message, /canonical|reduced/);
  }
});

test('temp files of an interrupted upload or ptau build are swept at start; errors name no server path', async () => {
  const dataDir = serviceDataDir();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  mkdirSync(join(dataDir, 'uploads'));
  writeFileSync(join(dataDir, 'uploads', 'abc.onnx.1234.tmp'), 'partial');
  // A ptau temp directory of a process that is gone (pids are below 2^22 on Linux).
  mkdirSync(join(dataDir, 'ptau', '.tmp-4194999-xyz'));
  const bogus = join(dataDir, 'ceremony.ptau');
  writeFileSync(bogus, 'not a ptau');
  const service = await startTestService({ dataDir, ptau: bogus });
  cleanup.push(() => service.close());
  assert.deepEqual(readdirSync(join(dataDir, 'uploads')), []);
  assert.equal(existsSync(join(dataDir, 'ptau', '.tmp-4194999-xyz')), false);

  // A build that fails on the ceremony file: the reason names the file, not where it is.
  const { body } = await service.client.upload(smallMlp(), '?name=bad-ptau');
  const failed = (await service.client.settle(body.id)).at(-1);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error.message, /ceremony\.ptau/);
  assert.equal(JSON.stringify(failed).includes(dataDir), false, JSON.stringify(failed.error));
});
