/**
 * ZkError: a cause kept from the error it explains, one meaning per code (compile-time range and
 * model constants have their own), a README anchor per code that the API's error JSON points to,
 * and the codes as an enum in the OpenAPI document.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientError, HTTP_STATUS } from '../src/api/errors.js';
import { openapi } from '../src/api/openapi.js';
import { errorDocs, isZkError, ZK_ERROR_CODES, ZkError, type ZkErrorCode } from '../src/core/errors.js';
import { quantizeModel } from '../src/model/compile.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { checkLoads } from '../src/reference/onnxruntime.js';
import { parseProofBundle } from '../src/verify/verify.js';
import { REPO_ROOT } from './support/env.js';
import { OnnxBuilder } from './support/onnx-builder.js';

const isCode = (code: ZkErrorCode) => (e: unknown) => isZkError(e) && e.code === code;

test('a ZkError keeps the error it explains as its cause, and its message', async () => {
  const zod = (() => {
    try {
      parseProofBundle({ format: 'nope' });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(isZkError(zod) && zod.code === 'INPUT_INVALID');
  assert.match(zod.message, /^not a zkinfer proof/);
  assert.ok(zod.cause instanceof Error && 'issues' in zod.cause, "zod's error is the cause");
  // A wrapped library error: onnxruntime's refusal of a model it cannot load.
  const notOnnx = new OnnxBuilder().input('x', [1, 2]).node('Relu', ['x'], ['y']).output('y', [1, 2]).build().slice(0, 20);
  await assert.rejects(
    checkLoads(notOnnx),
    (e) => isZkError(e) && e.code === 'ONNX_MALFORMED' && e.cause instanceof Error && e.message.includes((e.cause as Error).message.slice(0, 30)),
  );
  const own = new ZkError('INTERNAL', 'outer', undefined, { cause: new Error('inner') });
  assert.equal((own.cause as Error).message, 'inner');
  assert.equal(own.message, 'outer');
});

test('a range too wide for the field at compile time is RANGE_TOO_WIDE (422), not INPUT_OUT_OF_RANGE', async () => {
  // (x·1e20)^4 needs about 285 bits, more than BN254 holds.
  const onnx = new OnnxBuilder()
    .input('x', [1, 2])
    .initializer('k', [], [1e20])
    .node('Mul', ['x', 'k'], ['h'])
    .node('Mul', ['h', 'h'], ['h2'])
    .node('Mul', ['h2', 'h2'], ['h3'])
    .node('Relu', ['h3'], ['y'])
    .output('y', [1, 2])
    .build();
  await assert.rejects(quantizeModel(onnx, { scale: 8, acceptError: true }), isCode('RANGE_TOO_WIDE'));
  assert.equal(HTTP_STATUS.RANGE_TOO_WIDE, 422);
});

test('a model constant that is not finite is MODEL_INVALID (422), not INPUT_INVALID', () => {
  const onnx = new OnnxBuilder()
    .input('x', [1, 2])
    .initializer('k', [], [Infinity])
    .node('Add', ['x', 'k'], ['h'])
    .node('Relu', ['h'], ['y'])
    .output('y', [1, 2])
    .build();
  assert.throws(() => quantizeGraph(loadOnnx(onnx), { scale: 8 }), isCode('MODEL_INVALID'));
  assert.equal(HTTP_STATUS.MODEL_INVALID, 422);
});

test('every code has a README heading; the error JSON a client gets points to it', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  for (const code of ZK_ERROR_CODES) {
    assert.ok(readme.includes(`\n#### Error ${code}\n`), `README heading "#### Error ${code}" (anchor ${errorDocs(code)})`);
  }
  assert.equal(errorDocs('INPUT_INVALID'), 'README.md#error-input_invalid');
  const body = clientError({ code: 'NOT_FOUND', message: 'no model /srv/data/artifacts/abc/model.json' });
  assert.equal(body.docs, 'README.md#error-not_found');
  assert.doesNotMatch(body.message, /srv/);
});

test('the OpenAPI document lists the error codes as an enum', () => {
  const error = openapi.components.schemas.Error.properties.error;
  assert.deepEqual([...error.properties.code.enum], ZK_ERROR_CODES);
  assert.ok('docs' in error.properties);
  assert.deepEqual([...openapi.components.schemas.ProofJob.properties.error.properties.code.enum], ZK_ERROR_CODES);
});
