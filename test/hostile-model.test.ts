/**
 * Hostile model files (issue 13): strings, external data, weights and sizes a model's author
 * controls must not change what a circuit proves, read the server's files or exhaust it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileCircom } from '../src/circuit/compile.js';
import { publicSignalCount } from '../src/commit/public.js';
import { DEFAULT_VISIBILITY, parseVisibility } from '../src/commit/visibility.js';
import { isZkError } from '../src/core/errors.js';
import { buildWitnessCalculator, releaseCurve, snarkjs, toField } from '../src/core/snarkjs.js';
import { quantizeInputs } from '../src/io/input.js';
import { bundleFromSignals, type ProofBundle } from '../src/prove/bundle.js';
import { ModelProver } from '../src/prove/prover.js';
import { planFromJson } from '../src/quantize/serialize.js';
import { loadVerificationKey } from '../src/setup/index.js';
import { verifyBundle } from '../src/verify/verify.js';
import { compileModel } from '../src/model/compile.js';
import { modelFiles } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import { readModelFile } from '../src/onnx/external.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { readR1csHeader } from '../src/setup/index.js';
import { externalize, OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { REPO_ROOT, tempDir, TEST_DATA_DIR } from './support/env.js';
import { smallMlp, startTestService } from './support/service.js';

after(() => releaseCurve());

const rng = mulberry32(13);
const samples = (dims: number[], count = 3) => Array.from({ length: count }, () => [Array.from(randomTensor(rng, dims, 1))]);

/** x[1,3] → Gemm (constant weights) → Relu (named `reluName`) → y[1,2]. */
function gemmRelu(reluName: string): Uint8Array {
  return new OnnxBuilder()
    .input('x', [1, 3])
    .initializer('W', [2, 3], randomTensor(mulberry32(3), [2, 3], 0.8))
    .node('Gemm', ['x', 'W'], ['h'], { transB: 1 })
    .node('Relu', ['h'], ['y'], {}, reluName)
    .output('y', [1, 2])
    .build();
}

const mainCircom = (dir: string) => readFileSync(modelFiles(dir).circom, 'utf8');
const codeLines = (dir: string) => mainCircom(dir).split('\n').filter((l) => !/^\s*\/\//.test(l));

describe('strings from the model never become circom code', () => {
  test('a node name holding a newline and circom statements adds no public signal to an input=hashed model', async () => {
    const leak = 'relu\n    signal output leak[3];\n    for (var j = 0; j < 3; j++) leak[j] <== in0[j];\n    //';
    const dir = join(tempDir('inject'), 'm');
    const info = await compileModel(gemmRelu(leak), dir, { scale: 8, samples: samples([1, 3]), visibility: parseVisibility('input=hashed') });
    const header = await readR1csHeader(modelFiles(dir).r1cs);
    assert.equal(header.nPublic, publicSignalCount(info.publicLayout), 'the r1cs has exactly the public signals of the layout');
    assert.equal(info.publicSignals, publicSignalCount(info.publicLayout));
    assert.ok(!codeLines(dir).some((l) => /leak/.test(l)), 'the name is only ever inside a comment');
  });

  test('a node name and an output name that comment out a Relu layer and put zeros in its place change nothing', async () => {
    const clean = new OnnxBuilder().input('x', [1, 4]).node('Relu', ['x'], ['y']).output('y', [1, 4]).build();
    const relu = quantizeGraph(loadOnnx(clean), { scale: 8, visibility: DEFAULT_VISIBILITY }).groups[0];
    const reluName = `r\n    for (var j = 0; j < 4; j++) w[${relu.firstWire} + j] <== 0;\n    /*`;
    const hostile = new OnnxBuilder().input('x', [1, 4]).node('Relu', ['x'], ['*/ //y'], {}, reluName).output('*/ //y', [1, 4]).build();
    const dir = join(tempDir('inject'), 'm');
    const info = await compileModel(hostile, dir, { scale: 8, samples: samples([1, 4]) });
    assert.ok(info.constraints.layers > 0);
    assert.equal(info.constraints.r1cs, info.constraints.layers, 'the Relu layer is still there, constraint for constraint');
    assert.ok(!codeLines(dir).some((l) => /<== 0;/.test(l)), 'no statement of the names reached the code');
    assert.ok(!/\*\//.test(mainCircom(dir)), 'no comment can end early');
  });

  test('setup refuses a circuit whose public signals or constraints differ from model.json', async () => {
    const dir = join(tempDir('inject'), 'm');
    const info = await compileModel(gemmRelu('relu'), dir, { scale: 8, samples: samples([1, 3]) });
    const files = modelFiles(dir);
    // As if a name had slipped through: one more public output, and one constraint fewer or more.
    const code = mainCircom(dir).replace('\n}\n\ncomponent main', '\n    signal output leak;\n    leak <== in0[0] * in0[1];\n}\n\ncomponent main');
    await compileCircom(files.buildDir, code);
    assert.notEqual((await readR1csHeader(files.r1cs)).nPublic, publicSignalCount(info.publicLayout));
    await assert.rejects(setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} }), (e) => isZkError(e) && e.code === 'COMPILE_FAILED' && /public signals/.test(e.message));
  });
});

/** x[1,1] · W[1,1]: onnxruntime's output is x times whatever W's data is. */
const scaleBy = (w: number) => new OnnxBuilder().input('x', [1, 1]).initializer('W', [1, 1], [w]).node('Mul', ['x', 'W'], ['y']).output('y', [1, 1]).build();

const isCode = (code: string) => (e: unknown) => isZkError(e) && e.code === code;

describe('external data: no path from a model is resolved on the server', () => {
  let service: Awaited<ReturnType<typeof startTestService>>;
  after(() => service?.close());

  const form = (model: Uint8Array, data: Record<string, Uint8Array> = {}) => {
    const f = new FormData();
    f.append('model', new Blob([new Uint8Array(model)]), 'network.onnx');
    for (const [name, bytes] of Object.entries(data)) f.append('data', new Blob([new Uint8Array(bytes)]), name);
    return f;
  };

  test('a tensor that shows raw data to zkinfer and sends onnxruntime to a file in the server\'s directory is refused at upload, naming it', async () => {
    service = await startTestService();
    const attack = externalize(scaleBy(1), 'W', 'package.json', { keepRaw: true }).model;
    const { status, body } = await service.client.upload(attack);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'INPUT_INVALID');
    assert.match(body.error.message, /tensor "W".*"package\.json"/);
    await assert.rejects(compileModel(attack, join(tempDir('ext'), 'm'), { scale: 8 }), isCode('INPUT_INVALID'));
  });

  test('a model with its external data sent as a "data" part compiles; without it the upload is refused', async () => {
    const { model, data } = externalize(smallMlp(), 'W1', 'network.onnx.data', { offset: 16 });
    const refused = await service.client.request('POST', '/v1/models', form(model));
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /tensor "W1"/);
    const { status, body } = await service.client.request('POST', '/v1/models?', form(model, { 'network.onnx.data': data }));
    assert.equal(status, 202, JSON.stringify(body));
    const last = (await service.client.settle(body.id)).at(-1);
    assert.equal(last.status, 'ready', JSON.stringify(last.error));
  });

  test('the CLI compiles dir/network.onnx with network.onnx.data beside it, and reads nothing outside the directory', () => {
    const dir = tempDir('ext');
    const { model, data } = externalize(smallMlp(), 'W1', 'network.onnx.data');
    writeFileSync(join(dir, 'network.onnx'), model);
    writeFileSync(join(dir, 'network.onnx.data'), data);
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), 'compile', join(dir, 'network.onnx'), '--out', join(dir, 'out'), '--scale', '8'], {
      encoding: 'utf8',
      env: { ...process.env, ZKINFER_DATA_DIR: TEST_DATA_DIR },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    loadOnnx(readFileSync(modelFiles(join(dir, 'out')).onnx)); // the kept copy is self-contained

    const outside = tempDir('ext-outside');
    writeFileSync(join(outside, 'secret.bin'), data);
    const model2 = join(dir, 'sub');
    mkdirSync(model2);
    symlinkSync(join(outside, 'secret.bin'), join(model2, 'link.bin'));
    for (const location of ['../network.onnx.data', join(outside, 'secret.bin'), 'link.bin', 'missing.bin']) {
      writeFileSync(join(model2, 'network.onnx'), externalize(smallMlp(), 'W1', location).model);
      assert.throws(() => readModelFile(join(model2, 'network.onnx')), (e) => isCode('INPUT_INVALID')(e) && !(e as Error).message.includes(model2), location);
    }
  });
});

describe('a proof binds everything it shows', () => {
  const input = [[0.5, -0.25, 0.75]];
  let dir: string;
  let info: Awaited<ReturnType<typeof setupModel>>;
  let honest: ProofBundle;

  test('weights=private: a proof with every weight negated, under the same key, does not verify', async () => {
    dir = join(tempDir('weights'), 'm');
    await compileModel(smallMlp(), dir, { scale: 8, samples: samples([1, 3]), visibility: parseVisibility('weights=private') });
    info = await setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} });
    const vkey = await loadVerificationKey(dir);
    honest = await (await ModelProver.load(dir)).prove(input);
    assert.deepEqual(await verifyBundle(info, vkey, honest), { valid: true });

    const files = modelFiles(dir);
    const plan = planFromJson(readFileSync(files.plan, 'utf8'));
    const calc = await buildWitnessCalculator(readFileSync(files.wasm));
    const ints = quantizeInputs(input, info.inputs.map((t) => t.scale), info.inputs.map((t) => t.name));
    const negated = plan.weights.flatMap((w) => w.values.map((v) => toField(-v).toString()));
    const wtns = await calc.calculateWTNSBin({ in0: ints[0].map((v) => toField(v).toString()), weights: negated }, true);
    const forged = await snarkjs.groth16.prove({ type: 'mem', data: new Uint8Array(readFileSync(files.zkey)) }, { type: 'mem', data: wtns });
    assert.equal(await snarkjs.groth16.verify(vkey, forged.publicSignals, forged.proof), true, 'the key alone accepts other weights');
    const verdict = await verifyBundle(info, vkey, bundleFromSignals(info, 'groth16', forged.proof, forged.publicSignals));
    assert.equal(verdict.valid, false, 'verifyBundle pins the weights');
  });

  test('the model name, output names and dims a bundle shows are checked against the model', async () => {
    const vkey = await loadVerificationKey(dir);
    const edits: ProofBundle[] = [
      { ...honest, model: { ...honest.model, name: 'someone-else' } },
      { ...honest, outputs: honest.outputs.map((o) => ({ ...o, name: 'approved' })) },
      { ...honest, outputs: honest.outputs.map((o) => ({ ...o, dims: [2, 1] })) },
      { ...honest, inputs: honest.inputs.map((o) => ({ ...o, name: 'other' })) },
    ];
    for (const edited of edits) assert.equal((await verifyBundle(info, vkey, edited)).valid, false, JSON.stringify(edited.model) + JSON.stringify(edited.outputs.map((o) => [o.name, o.dims])));
    assert.equal((await verifyBundle(info, { ...vkey, nPublic: vkey.nPublic + 1 }, honest)).valid, false, 'a key of another layout');
  });
});
