/**
 * The pieces of scale-out that need no Redis: artifact manifests, the shared-directory and S3
 * sources (the S3 one against a small in-test stand-in speaking the few S3 calls it makes), the
 * prover's checked artifact cache, and the job table's fairness priorities and first-outcome-wins
 * rule.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { ArtifactCache, DirectorySource, manifestOf, proverFiles, type ArtifactSource } from '../src/cluster/artifacts.js';
import { S3Source } from '../src/cluster/s3.js';
import { isZkError } from '../src/core/errors.js';
import { openDatabase } from '../src/store/db.js';
import { JobStore } from '../src/store/jobs.js';
import { tempDir } from './support/env.js';

const root = tempDir('artifacts');
after(() => rmSync(root, { recursive: true, force: true }));

/** A model directory with random contents in every file a prover reads. */
function fakeModel(dir: string): void {
  for (const rel of proverFiles()) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), randomBytes(64));
  }
}

/** Counts downloads, to tell a cache hit from a fetch. */
function counting(source: ArtifactSource): ArtifactSource & { downloads: number } {
  const counted = {
    downloads: 0,
    publish: source.publish.bind(source),
    download(key: string, rel: string, dest: string) {
      counted.downloads++;
      return source.download(key, rel, dest);
    },
  };
  return counted;
}

test('the manifest names the files a prover reads, with their sha256', async () => {
  const dir = join(root, 'manifest');
  fakeModel(dir);
  const manifest = await manifestOf(dir);
  assert.deepEqual(Object.keys(manifest.files).sort(), ['circuit.zkey', 'circuit/main_js/main.wasm', 'model.json', 'plan.json']);
  for (const { sha256, bytes } of Object.values(manifest.files)) {
    assert.match(sha256, /^[0-9a-f]{64}$/);
    assert.equal(bytes, 64);
  }
});

test('a prover fetches a model once, checks every hash, and refetches when the manifest changes', async () => {
  const shared = join(root, 'shared');
  fakeModel(join(shared, 'k1'));
  const manifest = await manifestOf(join(shared, 'k1'));
  const src = counting(new DirectorySource(shared));
  const cache = new ArtifactCache(src, join(root, 'cache-a'));

  const [dir, again] = await Promise.all([cache.ensure('k1', manifest), cache.ensure('k1', manifest)]);
  assert.equal(dir, again);
  assert.equal(src.downloads, 4, 'concurrent first uses fetch once');
  assert.deepEqual(readFileSync(join(dir, 'plan.json')), readFileSync(join(shared, 'k1', 'plan.json')));
  await cache.ensure('k1', manifest);
  assert.equal(src.downloads, 4, 'a matching cache is reused');

  // The model was built again under the same key: new files, new manifest.
  fakeModel(join(shared, 'k1'));
  await cache.ensure('k1', await manifestOf(join(shared, 'k1')));
  assert.equal(src.downloads, 8);
});

test('a file that does not match its manifest is refused and leaves nothing in the cache', async () => {
  const shared = join(root, 'tampered');
  fakeModel(join(shared, 'k2'));
  const manifest = await manifestOf(join(shared, 'k2'));
  appendFileSync(join(shared, 'k2', 'circuit.zkey'), 'x');
  const cache = new ArtifactCache(new DirectorySource(shared), join(root, 'cache-b'));
  await assert.rejects(
    cache.ensure('k2', manifest),
    (e) => isZkError(e) && e.code === 'ARTIFACT_MISSING' && /circuit\.zkey of model artifacts k2 does not match/.test(e.message),
  );
  assert.equal(existsSync(join(root, 'cache-b', 'k2')), false);
  await assert.rejects(cache.ensure('nope', manifest), (e) => isZkError(e) && e.code === 'ARTIFACT_MISSING');
});

test('a shared directory apart from the API data directory gets the model on publish', async () => {
  const own = join(root, 'api-artifacts', 'k3');
  fakeModel(own);
  const manifest = await manifestOf(own);
  const shared = new DirectorySource(join(root, 'volume'));
  await shared.publish('k3', own, manifest);
  await shared.publish('k3', own, manifest);
  const dir = await new ArtifactCache(shared, join(root, 'cache-c')).ensure('k3', manifest);
  assert.deepEqual(readFileSync(join(dir, 'model.json')), readFileSync(join(own, 'model.json')));
  // A model's files hold its weights: the published copy and the prover's are owner-only, as the API's.
  for (const copy of [join(root, 'volume', 'k3'), dir]) assert.equal(statSync(copy).mode & 0o777, 0o700, copy);
});

test('S3: publish uploads each file once with its sha256; a prover downloads and checks them', async () => {
  // The stand-in: objects by path (path-style: /bucket/key), user metadata from x-amz-meta-*.
  const objects = new Map<string, { body: Buffer; meta: Record<string, string> }>();
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    requests.push(`${req.method} ${path}`);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const object = objects.get(path);
    if (req.method === 'PUT') {
      const meta = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([h]) => h.startsWith('x-amz-meta-'))
          .map(([h, v]) => [h, String(v)]),
      );
      objects.set(path, { body: Buffer.concat(chunks), meta });
      res.writeHead(200, { etag: '"1"' }).end();
    } else if (!object) {
      res
        .writeHead(404, { 'content-type': 'application/xml' })
        .end(req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code><Message>none</Message></Error>');
    } else {
      res
        .writeHead(200, { 'content-length': object.body.length, 'content-type': 'application/octet-stream', ...object.meta })
        .end(req.method === 'HEAD' ? undefined : object.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s3 = new S3Source({ kind: 's3', bucket: 'models', prefix: 'zk/artifacts', endpoint, region: 'us-east-1' });
    const own = join(root, 's3-api', 'k4');
    fakeModel(own);
    const manifest = await manifestOf(own);
    await s3.publish('k4', own, manifest);
    assert.equal(requests.filter((r) => r.startsWith('PUT')).length, 4);
    assert.ok(objects.has('/models/zk/artifacts/k4/circuit/main_js/main.wasm'));
    await s3.publish('k4', own, manifest);
    assert.equal(requests.filter((r) => r.startsWith('PUT')).length, 4, 'objects already there with their hash are not uploaded again');

    const dir = await new ArtifactCache(s3, join(root, 'cache-d')).ensure('k4', manifest);
    assert.deepEqual(readFileSync(join(dir, 'circuit.zkey')), readFileSync(join(own, 'circuit.zkey')));
    await assert.rejects(
      new ArtifactCache(s3, join(root, 'cache-e')).ensure('k5', manifest),
      (e) => isZkError(e) && e.code === 'ARTIFACT_MISSING' && /does not exist/.test(e.message),
    );
  } finally {
    server.close();
  }
});

test('job priorities rank each client’s unfinished jobs; the first outcome of a job wins', () => {
  const db = openDatabase(join(root, 'db'));
  const jobs = new JobStore(db);
  const add = (id: string, client: string) => jobs.insert({ id, modelId: 'm', values: [[1]], createdAt: Date.now(), client });
  assert.deepEqual(
    ['a1', 'a2', 'a3'].map((id) => add(id, 'alice').priority),
    [1, 2, 3],
  );
  assert.equal(add('b1', 'bob').priority, 1, "another client's first job goes ahead of alice's burst");
  assert.deepEqual(
    jobs.unfinished().map((j) => j.id),
    ['a1', 'b1', 'a2', 'a3'],
  );

  jobs.markRunning('a1', Date.now(), { attempt: 2, node: 'prover-2' });
  assert.equal(jobs.finish('a1', { status: 'done', timings: { queuedMs: 1, runMs: 2 }, node: 'prover-2', attempts: 2 }, Date.now()), true);
  assert.equal(jobs.finish('a1', { status: 'failed', error: { code: 'INTERNAL', message: 'late' }, node: 'prover-1', attempts: 1 }, Date.now()), false);
  jobs.markRunning('a1', Date.now(), { attempt: 3, node: 'prover-1' });
  const a1 = jobs.get('a1')!;
  assert.equal(a1.status, 'done');
  assert.equal(a1.node, 'prover-2');
  assert.equal(a1.attempts, 2);
  assert.equal(a1.error, undefined);
  assert.equal(add('a4', 'alice').priority, 3, 'a finished job no longer counts against its client');
  db.close();
});
