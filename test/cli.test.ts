import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CORPUS, REPO_ROOT, TEST_DATA_DIR, tempDir } from './support/env.js';
import { unsupportedModel } from './support/op-check.js';

/** Runs the real CLI as a user would: a separate process, its exit code and output. */
function zkinfer(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ZKINFER_DATA_DIR: TEST_DATA_DIR },
    // A command that does its work but never exits (a thread pool left running) fails, not hangs.
    timeout: 180_000,
  });
  assert.equal(r.error, undefined, `zkinfer ${args.join(' ')}: ${r.error?.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const model = join(CORPUS, '1l_mlp');
const work = tempDir('cli');
const dir = join(work, 'model');
const proof = join(work, 'proof.json');

test('compile → setup → prove → verify on the corpus model 1l_mlp', () => {
  const compiled = zkinfer('compile', join(model, 'network.onnx'), '--out', dir, '--calibrate', join(model, 'input.json'));
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.match(compiled.stdout, /compiled 1l_mlp/);
  const info = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  assert.equal(info.name, '1l_mlp');
  assert.ok(info.constraints.r1cs > 0 && info.constraints.r1cs === info.constraints.layers, 'per-layer counts add up to the r1cs');
  assert.ok(info.accuracy.withinTolerance, `quantization error ${info.accuracy.maxAbsError}`);
  assert.match(readFileSync(join(dir, 'circuit/main.circom'), 'utf8'), /RescaleRelu\(8, \d+\)/);

  const setup = zkinfer('setup', dir);
  assert.equal(setup.code, 0, setup.stderr);
  assert.match(setup.stdout + setup.stderr, /INSECURE/);

  const proved = zkinfer('prove', dir, '--input', join(model, 'input.json'), '--out', proof);
  assert.equal(proved.code, 0, proved.stderr);
  const bundle = JSON.parse(readFileSync(proof, 'utf8'));
  assert.equal(bundle.system, 'groth16');
  assert.equal(bundle.outputs[0].values.length, info.outputs[0].dims.reduce((a: number, b: number) => a * b, 1));

  const verified = zkinfer('verify', dir, proof);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.equal(verified.stdout.trim(), 'valid');
});

test('verify rejects an edited output, an edited public signal and a malformed file', () => {
  const bundle = JSON.parse(readFileSync(proof, 'utf8'));
  const cases: [string, unknown][] = [
    ['edited decoded output', { ...bundle, outputs: [{ ...bundle.outputs[0], values: bundle.outputs[0].values.map((v: number) => v + 1) }] }],
    ['edited public signal', { ...bundle, publicSignals: bundle.publicSignals.map((s: string, i: number) => (i === 0 ? String(BigInt(s) + 1n) : s)) }],
    ['not a proof', { hello: 'world' }],
  ];
  for (const [what, doc] of cases) {
    const file = join(work, 'bad.json');
    writeFileSync(file, JSON.stringify(doc));
    const r = zkinfer('verify', dir, file);
    assert.equal(r.code, 1, `${what}: ${r.stdout}`);
    assert.match(r.stdout + r.stderr, /invalid|INPUT_INVALID/, what);
  }
});

test('bad inputs get clear errors naming the problem', () => {
  const file = join(work, 'input.json');
  const cases: [unknown, RegExp][] = [
    [{ input_data: [[1, 2]] }, /SHAPE_MISMATCH.*has 2 values/],
    [{ input_data: [[1, 'x', 3]] }, /INPUT_INVALID.*not a finite number/],
    [{ input: [[1e30, 0, 0]] }, /INPUT_OUT_OF_RANGE/],
    [{ input: [[1000, 1000, 1000]] }, /INPUT_OUT_OF_RANGE.*layer/],
    [{ nothing: true }, /INPUT_INVALID/],
  ];
  for (const [doc, pattern] of cases) {
    writeFileSync(file, JSON.stringify(doc));
    const r = zkinfer('prove', dir, '--input', file, '--out', join(work, 'never.json'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, pattern);
  }
});

test('unsupported ops and malformed files fail with the node and op named', () => {
  const det = join(work, 'det.onnx');
  writeFileSync(det, unsupportedModel());
  const refused = zkinfer('compile', det, '--out', join(work, 'det'));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ONNX_UNSUPPORTED.*\(Det\)/);
  const garbage = join(work, 'garbage.onnx');
  writeFileSync(garbage, 'this is not a model');
  const bad = zkinfer('compile', garbage, '--out', join(work, 'garbage'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /ONNX_MALFORMED/);
  const missing = zkinfer('prove', join(work, 'nowhere'), '--input', file(), '--out', join(work, 'x.json'));
  assert.match(missing.stderr, /ARTIFACT_MISSING/);
});

const file = (): string => join(model, 'input.json');

test('--visibility: a hashed-input proof, its opening file, and verify --input/--salt', () => {
  const example = join(REPO_ROOT, 'examples', 'tiny_mlp');
  const hashedDir = join(work, 'hashed');
  const compiled = zkinfer('compile', join(example, 'network.onnx'), '--out', hashedDir, '--calibrate', join(example, 'input.json'), '--visibility', 'input=hashed,weights=hashed');
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.match(compiled.stdout, /input=hashed,weights=hashed,output=public/);
  assert.match(compiled.stdout, /model commitment \(Poseidon of the weights\): \d+/);
  assert.equal(zkinfer('setup', hashedDir).code, 0);
  const out = join(work, 'hashed-proof.json');
  const proved = zkinfer('prove', hashedDir, '--input', join(example, 'input.json'), '--out', out, '--salt', '5');
  assert.equal(proved.code, 0, proved.stderr);
  assert.match(proved.stdout, /input commitment: \d+/);
  const bundle = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(bundle.opening, undefined);
  assert.deepEqual(bundle.inputs, []);
  const opening = JSON.parse(readFileSync(join(work, 'hashed-proof.opening.json'), 'utf8'));
  assert.equal(opening.salt, '5');
  assert.equal(zkinfer('verify', hashedDir, out).stdout.trim(), 'valid');
  assert.equal(zkinfer('verify', hashedDir, out, '--input', join(example, 'input.json'), '--salt', '5').stdout.trim(), 'valid');
  const wrongSalt = zkinfer('verify', hashedDir, out, '--input', join(example, 'input.json'), '--salt', '6');
  assert.equal(wrongSalt.code, 1);
  assert.match(wrongSalt.stdout, /does not commit to the expected input/);
  const bad = zkinfer('compile', join(example, 'network.onnx'), '--out', join(work, 'never'), '--visibility', 'weights=secret');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /INPUT_INVALID.*weights must be one of fixed, public, private, hashed/);
});
