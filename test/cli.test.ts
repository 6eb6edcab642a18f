import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CORPUS, REPO_ROOT, TEST_DATA_DIR, tempDir } from './support/env.js';
import { unsupportedModel } from './support/op-check.js';

/** Runs the real CLI as a user would: a separate process, its exit code and output. */
function zkinfer(...args: string[]): { code: number; stdout: string; stderr: string } {
  return zkinferIn(undefined, ...args);
}

/** zkinfer run from the directory `cwd` (relative paths in args are relative to it). */
function zkinferIn(cwd: string | undefined, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), ...args], {
    cwd,
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
  assert.ok(info.constraints.r1cs > 0 && info.constraints.nonLinear === info.constraints.layers, 'per-layer counts add up to the non-linear constraints');
  assert.ok(info.accuracy.withinTolerance, `quantization error ${info.accuracy.maxAbsError}`);
  assert.match(readFileSync(join(dir, 'circuit/main.circom'), 'utf8'), /RescaleRelu\(8, \d+\)/);

  const setup = zkinfer('setup', dir);
  assert.equal(setup.code, 0, setup.stderr);
  assert.match(setup.stderr, /INSECURE/);
  // The banner speaks to a CLI user: the flag, the power this model needs, where ceremony files come from.
  const power = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).setup.ptauPower;
  assert.match(
    setup.stderr,
    new RegExp(`power ${power} or more, such as\\n!!! powersOfTau28_hez_final_${String(power).padStart(2, '0')}\\.ptau of the Hermez Perpetual Powers of Tau`),
  );
  assert.match(setup.stderr, /zkinfer setup DIR --ptau FILE --verify-ptau/);
  assert.doesNotMatch(setup.stderr, /importPtau/);
  assert.match(setup.stdout, /trusted: the operator alone\n +WARNING: operator-only key/);

  const proved = zkinfer('prove', dir, '--input', join(model, 'input.json'), '--out', proof);
  assert.equal(proved.code, 0, proved.stderr);
  const bundle = JSON.parse(readFileSync(proof, 'utf8'));
  assert.equal(bundle.system, 'groth16');
  assert.equal(
    bundle.outputs[0].values.length,
    info.outputs[0].dims.reduce((a: number, b: number) => a * b, 1),
  );

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
    // Said in the model's units too, not only in bits of fixed point.
    [{ input: [[1000, 1000, 1000]] }, /INPUT_OUT_OF_RANGE.*value -?[\d.e+]+ .*layer \d+ .*the circuit checks -[\d.e+]+ to [\d.e+]+ there/],
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
  // A file that is not there is the user's to fix, said in one line; it printed a stack trace.
  const absent = zkinfer('compile', join(work, 'absent.onnx'), '--out', join(work, 'absent'));
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /^error \[INPUT_INVALID\]: cannot read the model file .*absent\.onnx: ENOENT/);
  assert.doesNotMatch(absent.stderr, /\n\s+at /);
});

const file = (): string => join(model, 'input.json');

test('--visibility: a hashed-input-and-output proof, its opening file, and verify --opening, --input/--salt, --output-commitment', () => {
  const example = join(REPO_ROOT, 'examples', 'tiny_mlp');
  const hashedDir = join(work, 'hashed');
  const compiled = zkinfer(
    'compile',
    join(example, 'network.onnx'),
    '--out',
    hashedDir,
    '--calibrate',
    join(example, 'input.json'),
    '--visibility',
    'input=hashed,weights=hashed,output=hashed',
  );
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.match(compiled.stdout, /input=hashed,weights=hashed,output=hashed/);
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

  // The opening file prove wrote, as is: both commitments recomputed from it.
  const openingFile = join(work, 'hashed-proof.opening.json');
  const opened = zkinfer('verify', hashedDir, out, '--opening', openingFile);
  assert.equal(opened.stdout.trim(), 'valid', opened.stderr);
  const tamper = (edit: (o: any) => void) => {
    const o = structuredClone(opening);
    edit(o);
    const file = join(work, 'tampered.opening.json');
    writeFileSync(file, JSON.stringify(o));
    return zkinfer('verify', hashedDir, out, '--opening', file);
  };
  assert.match(tamper((o) => (o.salt = '6')).stdout, /invalid: the proof does not commit to the expected input/);
  assert.match(
    tamper((o) => (o.outputs[0].integers[0] = String(BigInt(o.outputs[0].integers[0]) + 1n))).stdout,
    /invalid: the proof does not commit to the expected output/,
  );
  const asInput = zkinfer('verify', hashedDir, out, '--input', openingFile, '--salt', '5');
  assert.equal(asInput.code, 1);
  assert.match(asInput.stderr, /is an opening file .* pass it with --opening/);
  const outputCommitment = /output commitment: (\d+)/.exec(proved.stdout)![1];
  assert.equal(zkinfer('verify', hashedDir, out, '--output-commitment', outputCommitment).stdout.trim(), 'valid');
  assert.match(
    zkinfer('verify', hashedDir, out, '--output-commitment', String(BigInt(outputCommitment) + 1n)).stdout,
    /does not commit to the expected output/,
  );
  const bad = zkinfer('compile', join(example, 'network.onnx'), '--out', join(work, 'never'), '--visibility', 'weights=secret');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /INPUT_INVALID.*weights must be one of fixed, public, private, hashed/);
});

test('a three-party phase-2 ceremony and the audit, as README "Trust" walks through them', () => {
  const m = join(work, 'ceremony');
  const ok = (r: ReturnType<typeof zkinfer>, what: string) => {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r.stdout;
  };
  ok(zkinfer('compile', join(model, 'network.onnx'), '--out', m, '--calibrate', join(model, 'input.json')), 'compile');
  assert.match(ok(zkinfer('ceremony', 'init', m), 'init'), /WARNING: the phase-2 ceremony is not finalized/);
  // The initial key (gamma = delta) lets anyone forge: no verifier of it, as no proof with it.
  const early = zkinfer('verifier', m, '--out', join(work, 'early.sol'));
  assert.equal(early.code, 1);
  assert.match(early.stderr, /CONFLICT.*not finalized/);
  for (const name of ['alice', 'bob', 'carol']) {
    const out = join(work, `${name}.zkey`);
    const hash = /contribution hash: ([0-9a-f]{128})/.exec(
      ok(zkinfer('ceremony', 'contribute', join(m, 'circuit.zkey'), out, '--name', name), `${name} contributes`),
    )![1];
    assert.match(ok(zkinfer('ceremony', 'add', m, out), `add ${name}`), new RegExp(`"${name}" accepted: ${hash}`));
  }
  const refused = zkinfer('prove', m, '--input', join(model, 'input.json'), '--out', join(work, 'early.json'));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /CONFLICT.*not finalized/);
  assert.match(ok(zkinfer('ceremony', 'finalize', m, '--beacon', 'ab'.repeat(32)), 'finalize'), /trusted: any one of 3 contributors \(alice, bob, carol\)/);
  assert.match(ok(zkinfer('ceremony', 'verify', m), 'verify'), /ceremony ok/);
  // A second init, or a compile into the directory, replaced the finished ceremony's keys (or left
  // them without a model) without a word, where setup asks for --force.
  const reinit = zkinfer('ceremony', 'init', m);
  assert.equal(reinit.code, 1);
  assert.match(reinit.stderr, /CONFLICT.*already has groth16 keys.*run ceremony init with --force/);
  const recompile = zkinfer('compile', join(model, 'network.onnx'), '--out', m, '--scale', '10');
  assert.equal(recompile.code, 1);
  assert.match(recompile.stderr, /CONFLICT.*run compile with --force/);
  ok(zkinfer('prove', m, '--input', join(model, 'input.json'), '--out', join(work, 'ceremony-proof.json')), 'prove');
  assert.equal(ok(zkinfer('verify', m, join(work, 'ceremony-proof.json')), 'verify').trim(), 'valid');
  const audit = ok(zkinfer('audit', m), 'audit');
  assert.match(audit, /PASS +recompile/, 'recompiled with the calibration samples it recorded');
  assert.match(audit, /OK: trusted: any one of 3 contributors \(alice, bob, carol\)/);

  writeFileSync(join(m, 'verification_key.json'), readFileSync(join(dir, 'verification_key.json')));
  const failed = zkinfer('audit', m, '--json');
  assert.equal(failed.code, 1);
  assert.equal(JSON.parse(failed.stdout).checks.find((c: { id: string }) => c.id === 'vkey').status, 'fail');
});

test('npm runs the CLI without warnings, and its help names all three proof systems', () => {
  // A project .npmrc key npm does not know (onnxruntime-node-install) made every npx/npm start warn.
  // --ignore-scripts: on a cold npx cache npm exec installs this package and runs `prepare` (tsc) into the
  // live dist/, and test files starting in parallel then imported half-written modules (CI, stop 20).
  const r = spawnSync('npm', ['exec', '--offline', '--ignore-scripts', '--', 'zkinfer', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /npm warn/i);
  assert.match(r.stdout, /Groth16, PLONK or FFLONK/);
});

test('setup again refuses without --force and says what new keys invalidate; --verify-ptau says it verified', () => {
  const before = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).setup;
  const again = zkinfer('setup', dir, '--system', 'plonk');
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /CONFLICT.*already has groth16 keys.*every proof made with them, every verifier contract deployed for them and the consumer contract's model id; run setup with --force/,
  );
  assert.match(again.stderr, /see README\.md#error-conflict/, 'the error names the README anchor of its code');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).setup, before, 'the keys are untouched');
  // The development ptau setup cut for this model stands in for a ceremony file.
  const ptau = join(TEST_DATA_DIR, 'ptau', `dev-pot${before.ptauPower}.ptau`);
  const forced = zkinfer('setup', dir, '--force', '--ptau', ptau, '--verify-ptau');
  assert.equal(forced.code, 0, forced.stderr);
  // Said when it is so: before the keys are made from it, not after.
  const verified = new RegExp(`ptau verified: .*dev-pot${before.ptauPower}\\.ptau \\(power ${before.ptauPower}, prepared for phase 2\\)\n[^]*groth16: wrote `);
  assert.match(forced.stderr, verified);
  assert.doesNotMatch(forced.stderr, /INSECURE/);
  const proved = zkinfer('prove', dir, '--input', join(model, 'input.json'), '--out', proof);
  assert.equal(proved.code, 0, proved.stderr);
});

test('prove --compare reports each output against onnxruntime float', () => {
  const info = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const r = zkinfer('prove', dir, '--input', join(model, 'input.json'), '--out', proof, '--compare');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /accuracy against onnxruntime \(float\), tolerance [\d.e+-]+:/);
  for (const o of info.outputs) {
    const line = new RegExp(`^  ${o.name}: max \\|error\\| ([\\d.e+-]+); onnxruntime: -?\\d`, 'm').exec(r.stdout);
    assert.ok(line, r.stdout);
    assert.ok(Number(line[1]) <= info.accuracy.tolerance, line[0]);
  }
});

test('compile with a relative --out, as the README writes it (the witness calculator step ran in the build directory)', () => {
  const r = zkinferIn(work, 'compile', join(model, 'network.onnx'), '--out', 'build/relative', '--calibrate', join(model, 'input.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(work, 'build/relative/circuit/main_js/main.wasm')));
});

test('output piped into a reader that has stopped (| head) ends the command quietly', async () => {
  // calldata of the first test's proof: it writes, then goes on (snarkjs' curve is released after).
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), 'calldata', dir, proof], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first write: EPIPE
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  assert.equal(stderr, '', 'no stack trace');
  assert.equal(code, 0);
});
