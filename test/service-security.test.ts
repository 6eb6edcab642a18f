/**
 * The service against a hostile or unlucky world (issue 13): a model whose artifacts vanished,
 * clients reading or cancelling each other's jobs, a keyless flood, private data kept at rest, and
 * malformed requests that must each be a clean 4xx.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { releaseCurve } from '../src/core/snarkjs.js';
import { modelDirNamed, serviceDataDir, smallMlp, startTestService } from './support/service.js';

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
});
