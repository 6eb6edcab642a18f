/**
 * Compile settings declared once (src/core/settings.ts): the service chooses the fixed-point scale
 * by calibration as the CLI does (it always used 8), the OpenAPI document and the CLI's help come
 * from the same schema, and the service keeps one onnxruntime session per model version.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openapi } from '../src/api/openapi.js';
import { releaseCurve } from '../src/core/snarkjs.js';
import { SETTING_FLAGS, settingsSchema, settingsTable } from '../src/core/settings.js';
import { quantizeModel } from '../src/model/compile.js';
import { modelFiles } from '../src/model/layout.js';
import { REPO_ROOT } from './support/env.js';
import { OnnxBuilder } from './support/onnx-builder.js';
import { type Client, modelDirNamed, SMALL_INPUT, smallMlp, startTestService } from './support/service.js';

let service: Awaited<ReturnType<typeof startTestService>>;
let api: Client;

before(async () => {
  service = await startTestService();
  api = service.client;
});

after(async () => {
  await service?.close();
  await releaseCurve();
  rmSync(service.config.dataDir, { recursive: true, force: true });
});

/**
 * y = 1000·x on x = 3/1024 and 5/1024: at scale 8 the input rounds to 1/256 and the output is off by
 * about 1 (over the stated tolerance); at scale 10 both are exact. Calibration picks 10.
 */
const thousandfold = () => new OnnxBuilder().input('x', [1, 2]).initializer('k', [], [1000]).node('Mul', ['x', 'k'], ['y']).output('y', [1, 2]).build();
const FINE_INPUT = { input: [[3 / 1024, 5 / 1024]] };

test('an upload without a scale is calibrated as the CLI compiles it (the service used 8 and failed it INACCURATE)', async () => {
  const cli = await quantizeModel(thousandfold(), { samples: [[FINE_INPUT.input[0]]] });
  assert.equal(cli.scale, 10);
  const calibration = encodeURIComponent(JSON.stringify(FINE_INPUT));
  const model = await api.ready(thousandfold(), `?name=thousandfold&calibration=${calibration}`);
  assert.equal(model.status, 'ready', JSON.stringify(model.error));
  assert.equal(model.settings.scale, cli.scale);
  assert.deepEqual(
    model.inputs.map((t: { scale: number }) => t.scale),
    [10],
  );
  const info = JSON.parse(readFileSync(modelFiles(modelDirNamed(service.config.dataDir, 'thousandfold')).info, 'utf8'));
  assert.equal(info.build.settings.scale, cli.scale);
  // A scale the client gives is kept: at 8 this model is over its tolerance, and says so.
  const fixed = (await api.settle((await api.upload(thousandfold(), `?name=at8&scale=8&calibration=${calibration}`)).body.id)).at(-1);
  assert.equal(fixed.status, 'failed');
  assert.equal(fixed.error.code, 'INACCURATE');
});

test('the OpenAPI upload parameters and multipart fields are the settings schema, with its defaults', () => {
  const post = openapi.paths['/v1/models'].post;
  const names = Object.keys(settingsSchema.shape);
  assert.deepEqual(
    post.parameters.map((p: { name: string }) => p.name),
    names,
  );
  const scale = post.parameters.find((p: { name: string }) => p.name === 'scale')!;
  assert.equal(scale.description, settingsSchema.shape.scale.description);
  assert.doesNotMatch(scale.description, /default 8/);
  assert.match(scale.description, /smallest of 8, 10, 12, 14/);
  const form = post.requestBody.content['multipart/form-data'].schema.properties as Record<string, unknown>;
  for (const name of names) assert.ok(name in form, `multipart field ${name}`);
});

test("the CLI's compile flags are described by the same schema", () => {
  const help = execFileSync(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), 'compile', '--help'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  for (const name of ['scale', 'headroom', 'visibility', 'accept_error'] as const) {
    assert.ok(help.includes(SETTING_FLAGS[name]), `${SETTING_FLAGS[name]} in the help`);
    assert.ok(help.includes(settingsSchema.shape[name].description!.slice(0, 40)), `${name}'s description in the help`);
  }
});

test("the README's settings table is the one the schema makes", () => {
  assert.ok(
    readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(settingsTable()),
    'README.md holds settingsTable() (print it with node dist/scripts/readme-tables.js)',
  );
});

test('proof requests reuse one onnxruntime session per model version; deleting the model drops it', async () => {
  const model = await api.ready(smallMlp(11), '?name=reused');
  const create = ort.InferenceSession.create;
  let created = 0;
  ort.InferenceSession.create = ((...args: Parameters<typeof create>) => {
    created++;
    return create(...args);
  }) as typeof create;
  try {
    for (let i = 0; i < 3; i++) assert.equal((await api.prove(model.id, SMALL_INPUT)).status, 202);
    assert.equal(created, 1, 'one session for three requests');
    assert.equal((await api.request('DELETE', `/v1/models/${model.id}`)).status, 204);
    const again = await api.ready(smallMlp(11), '?name=reused');
    created = 0;
    assert.equal((await api.prove(again.id, SMALL_INPUT)).status, 202);
    // The proof request loads the new version: the old session (same artifact key) went with the deleted model.
    assert.equal(created, 1);
  } finally {
    ort.InferenceSession.create = create;
  }
});

test('an error response names the README anchor of its code', async () => {
  const bad = await api.upload(smallMlp(), '?scale=99');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'INPUT_INVALID');
  assert.match(bad.body.error.message, /^upload option scale/);
  assert.equal(bad.body.error.docs, 'README.md#error-input_invalid');
});

test('a dim sized past the tensor limit is a 413 at upload, not a build that runs the service out of memory', async () => {
  // dim=batch=100000000 was accepted (202); calibrating allocated its samples and the process died
  // with a heap OOM, and again on every restart while it rebuilt the model.
  const batched = new OnnxBuilder().input('x', ['batch', 4]).initializer('k', [], [2]).node('Mul', ['x', 'k'], ['y']).output('y', ['batch', 4]).build();
  const reply = await api.upload(batched, '?name=huge&dim=batch%3D100000000');
  assert.equal(reply.status, 413, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, 'TOO_LARGE');
  assert.match(reply.body.error.message, /input x: dims \[100000000,4\] hold more than 1048576 elements/);
  assert.equal((await api.request('GET', '/healthz')).status, 200);
});

test('an input value whose fixed-point form is not finite (1e308) is a 400 INPUT_OUT_OF_RANGE, not a 500', async () => {
  const model = await api.ready(smallMlp(11), '?name=overflow');
  const reply = await api.prove(model.id, { input: [[1e308, ...SMALL_INPUT.input[0].slice(1)]] });
  assert.equal(reply.status, 400, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, 'INPUT_OUT_OF_RANGE');
});
