/**
 * Visibility through the API, on a real server: a model uploaded with a hashed input, a proof job
 * whose shareable bundle holds no input value, the opening beside it, and a client that recomputes
 * the input commitment from the model view alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputCommitment } from '../src/commit/open.js';
import { FIELD_PRIME, toField } from '../src/core/snarkjs.js';
import { quantizeInputs } from '../src/io/input.js';
import { type Client, SMALL_INPUT, smallMlp, useTestService } from './support/service.js';

let api: Client;
let model: any;

const served = useTestService({}, async () => {
  api = served.client;
  model = await api.ready(smallMlp(), '?name=private-small&visibility=input%3Dhashed');
});

test('the model view shows the visibility, the public layout and how the input is committed', () => {
  assert.deepEqual(model.settings.visibility, { input: 'hashed', weights: 'fixed', output: 'public' });
  assert.deepEqual(model.publicLayout, [
    { kind: 'output', index: 0, count: 2 },
    { kind: 'commitment', of: 'input' },
  ]);
  assert.equal(model.publicSignals, 3);
  assert.equal(model.commitments.input[0].count, 3);
  assert.equal(model.modelCommitment, undefined, 'fixed weights: the verifying key is the model identity');
});

test('a proof job: the bundle holds no input value, the opening does, and the client recomputes the commitment', async () => {
  const { status, body } = await api.prove(model.id, SMALL_INPUT, '?wait=30');
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.bundle.inputs, []);
  assert.equal(body.bundle.opening, undefined, 'the opening is never inside the shared bundle');
  assert.ok(body.opening.salt, 'a fresh salt when the client gives none');
  assert.deepEqual(body.opening.inputs[0].values, SMALL_INPUT.input[0]);
  const quantized = quantizeInputs(
    SMALL_INPUT.input,
    model.inputs.map((t: any) => t.scale),
    model.inputs.map((t: any) => t.name),
  ).flat();
  for (const v of quantized) assert.ok(!body.publicSignals.includes(toField(v).toString()), `input ${v} is not public`);
  const mine = await inputCommitment(model, SMALL_INPUT.input, body.opening.salt);
  assert.equal(mine, body.commitments.input);
  assert.deepEqual((await api.request('POST', '/v1/verify', { model: model.id, proof: body.bundle })).body, { valid: true });
  assert.deepEqual((await api.request('POST', '/v1/verify', { model: model.id, proof: body.proof, publicSignals: body.publicSignals })).body, { valid: true });
});

test('a bad visibility is a 400 naming it; an input outside the private range is a 400 before any job', async () => {
  const bad = await api.upload(smallMlp(), '?visibility=input%3Dsecret');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'INPUT_INVALID');
  assert.match(bad.body.error.message, /input must be one of public, private, hashed/);
  const big = await api.prove(model.id, { input: [[1000, 0, 0]] });
  assert.equal(big.status, 400, JSON.stringify(big.body));
  assert.equal(big.body.error.code, 'INPUT_OUT_OF_RANGE');
  assert.match(big.body.error.message, /private input/);
  // In the user's units: the value sent and the float range the circuit allows, then the fixed point.
  const { min, max } = big.body.error.details;
  assert.ok(min < 0 && max > 0.75 && max < 1000, JSON.stringify(big.body.error));
  assert.ok(
    big.body.error.message.includes(
      `"input"[0] = 1000 is outside the range the circuit checks for this private input, ${min} to ${max} (in fixed point at scale 8: 256000 against`,
    ),
    big.body.error.message,
  );
});

test('a client-chosen salt: the proof commits to the input the client committed to beforehand', async () => {
  const salt = '123456789012345678901234567890';
  const committed = await inputCommitment(model, SMALL_INPUT.input, salt);
  const { status, body } = await api.prove(model.id, { ...SMALL_INPUT, salt }, '?wait=30');
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.opening.salt, salt);
  assert.equal(body.commitments.input, committed);
  for (const bad of ['-1', 'abc', 12, String(FIELD_PRIME)]) {
    const r = await api.prove(model.id, { ...SMALL_INPUT, salt: bad });
    assert.equal(r.status, 400, `salt ${bad}`);
    assert.match(r.body.error.message, /"salt" must be a decimal string/);
  }
});
