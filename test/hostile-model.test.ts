/**
 * Hostile model files (issue 13): strings, external data, weights and sizes a model's author
 * controls must not change what a circuit proves, read the server's files or exhaust it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
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
import { parseDims } from '../src/model/prepare.js';
import { setupModel } from '../src/model/setup.js';
import { readModelFile } from '../src/onnx/external.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { readR1csHeader } from '../src/setup/index.js';
import { externalize, OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { REPO_ROOT, tempDir, TEST_DATA_DIR } from './support/env.js';
import { sleep, smallMlp, startTestService } from './support/service.js';

after(() => releaseCurve());

const rng = mulberry32(13);
const samples = (dims: number[], count = 3) => Array.from({ length: count }, () => [Array.from(randomTensor(rng, dims, 1))]);

/** x[1,3] → Gemm (constant weights) → Relu (named `reluName`) → y[1,2]. */
function gemmRelu(reluName: string): Uint8Array {
  return new OnnxBuilder()
    .input('x', [1, 3])
    .initializer('W', [2, 3], randomTensor(mulberry32(3), [2, 3], 0.8))
    .node('Gemm', ['x', 'W'], ['h'], { transB: 1 })
    .node('Relu', ['h'], ['y'], {}, { name: reluName })
    .output('y', [1, 2])
    .build();
}

const mainCircom = (dir: string) => readFileSync(modelFiles(dir).circom, 'utf8');
const codeLines = (dir: string) =>
  mainCircom(dir)
    .split('\n')
    .filter((l) => !/^\s*\/\//.test(l));

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
    const hostile = new OnnxBuilder().input('x', [1, 4]).node('Relu', ['x'], ['*/ //y'], {}, { name: reluName }).output('*/ //y', [1, 4]).build();
    const dir = join(tempDir('inject'), 'm');
    const info = await compileModel(hostile, dir, { scale: 8, samples: samples([1, 4]) });
    assert.ok(info.constraints.layers > 0);
    assert.equal(info.constraints.nonLinear, info.constraints.layers, 'the Relu layer is still there, constraint for constraint');
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
    await assert.rejects(
      setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} }),
      (e) => isZkError(e) && e.code === 'COMPILE_FAILED' && /public signals/.test(e.message),
    );
  });

  test('setup refuses a circuit with one non-linear constraint more than the plan counts; the count is exact with every commitment', async () => {
    const dir = join(tempDir('inject'), 'm');
    const visibility = parseVisibility('input=hashed,weights=private,output=hashed');
    const info = await compileModel(gemmRelu('relu'), dir, { scale: 8, samples: samples([1, 3]), visibility });
    assert.equal(info.constraints.nonLinear, info.constraints.layers, "the plan counts circom's non-linear constraints, Poseidon's included");
    const files = modelFiles(dir);
    // An unplanned product of private signals: no public signal more, one non-linear constraint more.
    const code = mainCircom(dir).replace('\n}\n\ncomponent main', '\n    signal extra;\n    extra <== in0[0] * in0[1];\n}\n\ncomponent main');
    await compileCircom(files.buildDir, code, { optimization: 1 });
    await assert.rejects(
      setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} }),
      (e) => isZkError(e) && e.code === 'COMPILE_FAILED' && /non-linear constraints/.test(e.message),
    );
  });
});

/** x[1,1] · W[1,1]: onnxruntime's output is x times whatever W's data is. */
const scaleBy = (w: number) => new OnnxBuilder().input('x', [1, 1]).initializer('W', [1, 1], [w]).node('Mul', ['x', 'W'], ['y']).output('y', [1, 1]).build();

/** The model re-encoded after `edit` of its decoded form. */
function retype(onnx: Uint8Array, edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnxProto.onnx.ModelProto.decode(onnx);
  edit(m);
  return onnxProto.onnx.ModelProto.encode(m).finish();
}

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

  test("a tensor that shows raw data to zkinfer and sends onnxruntime to a file in the server's directory is refused at upload, naming it", async () => {
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
    const r = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin/zkinfer.js'), 'compile', join(dir, 'network.onnx'), '--out', join(dir, 'out'), '--scale', '8'],
      {
        encoding: 'utf8',
        env: { ...process.env, ZKINFER_DATA_DIR: TEST_DATA_DIR },
        timeout: 120_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    loadOnnx(readFileSync(modelFiles(join(dir, 'out')).onnx)); // the kept copy is self-contained

    const outside = tempDir('ext-outside');
    writeFileSync(join(outside, 'secret.bin'), data);
    const model2 = join(dir, 'sub');
    mkdirSync(model2);
    symlinkSync(join(outside, 'secret.bin'), join(model2, 'link.bin'));
    for (const location of ['../network.onnx.data', join(outside, 'secret.bin'), 'link.bin', 'missing.bin']) {
      writeFileSync(join(model2, 'network.onnx'), externalize(smallMlp(), 'W1', location).model);
      assert.throws(
        () => readModelFile(join(model2, 'network.onnx')),
        (e) => isCode('INPUT_INVALID')(e) && !(e as Error).message.includes(model2),
        location,
      );
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
    const ints = quantizeInputs(
      input,
      info.inputs.map((t) => t.scale),
      info.inputs.map((t) => t.name),
    );
    const negated = plan.weights.flatMap((w) => w.values.map((v) => toField(-v).toString()));
    const wtns = await calc.calculateWTNSBin({ in0: ints[0].map((v) => toField(v).toString()), weights: negated }, true);
    const forged = await snarkjs.groth16.prove(new Uint8Array(readFileSync(files.zkey)), wtns);
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
      // What it says of the model's version, trust and accuracy is the model's too.
      { ...honest, model: { ...honest.model, versionId: '0'.repeat(64) } },
      { ...honest, trust: { phase2: 'ceremony', trusted: 'any one of 100 contributors' } },
      { ...honest, model: { ...honest.model, acceptedError: { maxAbsError: 0, tolerance: 1 } } },
      // Removed, a label skipped its check (the model has them all).
      { ...honest, model: { ...honest.model, versionId: undefined } },
      { ...honest, model: { ...honest.model, onnxSha256: undefined } },
      { ...honest, trust: undefined },
    ];
    assert.ok(honest.model.versionId && honest.trust?.warning, 'the honest bundle names its version and warns of its operator-only key');
    for (const edited of edits)
      assert.equal(
        (await verifyBundle(info, vkey, edited)).valid,
        false,
        JSON.stringify(edited.model) + JSON.stringify(edited.outputs.map((o) => [o.name, o.dims])),
      );
    assert.equal((await verifyBundle(info, { ...vkey, nPublic: vkey.nPublic + 1 }, honest)).valid, false, 'a key of another layout');
    // A model compiled with --accept-error: its bundles say so, and one that hides it is invalid.
    const accepted = { ...info, accuracy: { ...info.accuracy, accepted: true } };
    assert.deepEqual(await verifyBundle(accepted, vkey, bundleFromSignals(accepted, 'groth16', honest.proof, honest.publicSignals)), { valid: true });
    assert.equal((await verifyBundle(accepted, vkey, honest)).valid, false, 'a bundle that hides the accepted error');
  });
});

/** x[1,4] through `n` chained Relus: about 10,000 of them make the 287 KB upload of issue 13. */
function reluChain(n: number): Uint8Array {
  const b = new OnnxBuilder().input('x', [1, 4]);
  for (let i = 0; i < n; i++) b.node('Relu', [i === 0 ? 'x' : `r${i - 1}`], [`r${i}`]);
  return b.output(`r${n - 1}`, [1, 4]).build();
}

/** Pids of circom processes working under `dir`. */
function circomUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes('circom2') && readlinkSync(`/proc/${p}/cwd`).startsWith(dir) ? [Number(p)] : [];
      } catch {
        return [];
      }
    });
}

describe('resource bounds hold before the work', () => {
  let service: Awaited<ReturnType<typeof startTestService>>;
  after(() => service?.close());

  test('a chain of 10,000 Relus fails with the ptau power it needs before circom runs', async () => {
    service = await startTestService({ maxPtauPower: 12 });
    const onnx = reluChain(10_000);
    assert.ok(onnx.length > 250_000, `${onnx.length} bytes`);
    const { status, body } = await service.client.upload(onnx, '?scale=8');
    assert.equal(status, 202, JSON.stringify(body));
    const seen = await service.client.settle(body.id, 120_000);
    const last = seen.at(-1);
    assert.equal(last.status, 'failed');
    assert.equal(last.error.code, 'TOO_LARGE');
    assert.match(last.error.message, /needs a powers-of-tau file of power (1[3-9]|2\d).*--ptau FILE/);
    assert.ok(!seen.some((v) => v.progress?.stage === 'circom' && v.progress.percent > 15), 'circom never ran');
  });

  test('a model onnxruntime cannot load is refused at upload, without paths in the message', async () => {
    const dangling = retype(reluChain(2), (m) => (m.graph!.node![1].input = ['ghost']));
    const { status, body } = await service.client.upload(dangling);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'ONNX_MALFORMED');
    assert.doesNotMatch(body.error.message, /\/[a-z]+\//);
  });

  test('setup generates no development ptau above its cap, and says how to go on', async () => {
    const dir = join(tempDir('cap'), 'm');
    await compileModel(smallMlp(), dir, { scale: 8, samples: samples([1, 3]) });
    await assert.rejects(
      setupModel(dir, { dataDir: tempDir('cap-ptau'), maxPower: 7, log: () => {} }),
      (e) => isCode('TOO_LARGE')(e) && /power \d+.*--ptau FILE/.test((e as Error).message),
    );
  });

  test("compile refuses before circom a circuit whose proof system needs a ptau above the cap (FFLONK's is 3 powers above)", async () => {
    // 192 constraints: Groth16 needs power 8, FFLONK at least 11 (its gates count the linear
    // constraints too, so the plan's count gives a lower bound). circom ran before, then setup refused.
    const onnx = new OnnxBuilder().input('x', [1, 16]).node('Relu', ['x'], ['y']).output('y', [1, 16]).build();
    const sample = [[Array.from({ length: 16 }, (_, i) => i / 16 - 0.5)]];
    const dir = join(tempDir('cap-system'), 'm');
    await assert.rejects(
      compileModel(onnx, dir, { scale: 8, samples: sample, limits: { ptauPower: 8, system: 'fflonk' } }),
      (e) => isCode('TOO_LARGE')(e) && /power 1\d/.test((e as Error).message),
    );
    assert.ok(!existsSync(modelFiles(dir).r1cs), 'circom never ran');
    await compileModel(onnx, join(tempDir('cap-system'), 'm'), { scale: 8, samples: sample, limits: { ptauPower: 8, system: 'groth16' } });
  });

  test('DELETE of a building model stops its build: its circom process ends and the next build starts at once', async () => {
    const big = readFileSync(join(REPO_ROOT, 'examples/mnist_mlp/network.onnx'));
    const { body } = await service.client.upload(big, '?scale=8&name=big');
    for (let i = 0; ; i++) {
      const { body: view } = await service.client.request('GET', `/v1/models/${body.id}`);
      if (circomUnder(service.config.dataDir).length) break;
      assert.equal(view.status, 'compiling', JSON.stringify(view.error));
      assert.ok(i < 1200, 'circom started');
      await sleep(100);
    }
    assert.equal((await service.client.request('DELETE', `/v1/models/${body.id}`)).status, 204);
    for (let i = 0; circomUnder(service.config.dataDir).length; i++) {
      assert.ok(i < 50, 'the circom process was killed');
      await sleep(100);
    }
    const started = Date.now();
    const small = await service.client.upload(smallMlp(), '?scale=8');
    const last = (await service.client.settle(small.body.id, 60_000)).at(-1);
    assert.equal(last.status, 'ready', JSON.stringify(last.error));
    assert.ok(existsSync(join(service.config.dataDir, 'artifacts')));
    console.log(`the next model was ready ${Date.now() - started} ms after the DELETE`);
  });
});

describe('sizes and names a model declares are bounded at load', () => {
  const expectLoad = (onnx: Uint8Array, code: string, message: RegExp) =>
    assert.throws(
      () => loadOnnx(onnx),
      (e) => isCode(code)(e) && message.test((e as Error).message),
    );

  test('input dims [1, 2^24] and [1, 2^27], and an initializer too large or negative, are refused before anything is allocated', () => {
    for (const n of [2 ** 24, 2 ** 27])
      expectLoad(new OnnxBuilder().input('x', [1, n]).node('Relu', ['x'], ['y']).output('y', [1, n]).build(), 'TOO_LARGE', /more than \d+ elements/);
    const withDims = (dims: number[]) => {
      const b = new OnnxBuilder().input('x', [1, 1]).initializer('W', [1, 1], [1]).node('Mul', ['x', 'W'], ['y']).output('y', [1, 1]).build();
      return retype(b, (m) => (m.graph!.initializer![0].dims = dims));
    };
    expectLoad(withDims([2 ** 40, 2 ** 40]), 'TOO_LARGE', /initializer W/);
    expectLoad(withDims([-1]), 'ONNX_MALFORMED', /dimension -1/);
    // An input's negative dim was read as a symbolic one of size 1.
    expectLoad(
      retype(reluChain(1), (m) => (m.graph!.input![0].type!.tensorType!.shape!.dim![1].dimValue = -5)),
      'ONNX_MALFORMED',
      /graph value x: dimension -5 is not a size/,
    );
  });

  test('a graph without outputs, or with an input named __proto__, is refused with a code', () => {
    expectLoad(
      retype(reluChain(1), (m) => (m.graph!.output = [])),
      'ONNX_MALFORMED',
      /no outputs/,
    );
    expectLoad(new OnnxBuilder().input('__proto__', [1, 2]).node('Relu', ['__proto__'], ['y']).output('y', [1, 2]).build(), 'ONNX_UNSUPPORTED', /reserved/);
    // Symbolic dims are sized by name too: a model's `__proto__` dim was "dimension [object Object]",
    // and a `dim=__proto__=2` setting was dropped without a word.
    expectLoad(new OnnxBuilder().input('x', ['__proto__', 2]).node('Relu', ['x'], ['y']).output('y', ['__proto__', 2]).build(), 'ONNX_UNSUPPORTED', /reserved/);
    for (const name of ['__proto__', 'constructor'])
      assert.throws(
        () => parseDims([`${name}=2`], 'dim'),
        (e) => isCode('INPUT_INVALID')(e) && /reserved/.test((e as Error).message),
        name,
      );
  });

  test('an intermediate tensor past the limit (ConstantOfShape [2^30]) is refused while tracing', () => {
    const onnx = new OnnxBuilder()
      .input('x', [1, 1])
      .initializerInt64('shape', [1], [2 ** 30])
      .node('ConstantOfShape', ['shape'], ['c'])
      .node('Add', ['x', 'c'], ['y'])
      .output('y', [1, 1])
      .build();
    assert.throws(() => quantizeGraph(loadOnnx(onnx), { scale: 8 }), isCode('TOO_LARGE'));
  });

  test('a MatMul of a small input by itself is refused while planning, before its products are built', () => {
    // 114 bytes of ONNX: x[n, n] · x. At n = 256 (16.7 M products) the compile worker grew to 4.5 GB
    // and ran out of memory; at n = 128 (2.1 M) it planned at 2.8 GB before the constraint limit refused it.
    const square = (n: number) => new OnnxBuilder().input('x', [n, n]).node('MatMul', ['x', 'x'], ['y']).output('y', [n, n]).build();
    assert.throws(
      () => quantizeGraph(loadOnnx(square(128)), { scale: 8, maxConstraints: 1_000_000 }),
      (e) => isCode('TOO_LARGE')(e) && /more than 1000000 constraints/.test((e as Error).message),
    );
    // Without a constraint limit (the CLI), the op's own work is bounded: 134 M product pairs.
    assert.throws(
      () => quantizeGraph(loadOnnx(square(512)), { scale: 8 }),
      (e) => isCode('TOO_LARGE')(e) && /node .*\(MatMul\): it needs more terms or products than one op may have/.test((e as Error).message),
    );
  });

  test('an op whose folded inputs would cost more than its work limit runs on them materialised instead', () => {
    // x → W1 → W2: folding W1's 64-term forms into W2 costs 64·64·64 = 262,144 terms; on 64 wires, 4,096.
    const dense = (seed: number) => randomTensor(mulberry32(seed), [64, 64], 0.2);
    const onnx = new OnnxBuilder()
      .input('x', [1, 64])
      .initializer('W1', [64, 64], dense(5))
      .initializer('W2', [64, 64], dense(6))
      .node('MatMul', ['x', 'W1'], ['h'])
      .node('MatMul', ['h', 'W2'], ['y'])
      .output('y', [1, 64])
      .build();
    assert.ok(!quantizeGraph(loadOnnx(onnx), { scale: 8 }).groups.some((g) => g.kind === 'linear'), 'within the limit it folds');
    const plan = quantizeGraph(loadOnnx(onnx), { scale: 8, maxOpWork: 100_000 });
    assert.ok(
      plan.groups.some((g) => g.kind === 'linear'),
      'the wide forms became wires',
    );
  });

  test('a broadcast of two small inputs to a huge output ([n,1] + [1,n]) is refused before it is allocated', () => {
    // 177 bytes of ONNX whose Add allocated n² forms: n = 11,000 ran the compile worker out of heap.
    const n = 11_000;
    for (const op of ['Add', 'Where'] as const) {
      const b = new OnnxBuilder().input('a', [n, 1]).input('b', [1, n]);
      const onnx = (op === 'Add' ? b.node('Add', ['a', 'b'], ['s']) : b.input('c', [1, 1], 'bool').node('Where', ['c', 'a', 'b'], ['s']))
        .node('ReduceSum', ['s'], ['y'], { keepdims: 1 })
        .output('y', [1, 1])
        .build();
      assert.throws(
        () => quantizeGraph(loadOnnx(onnx), { scale: 8 }),
        (e) => isCode('TOO_LARGE')(e) && /node .*\((Add|Where)\) output/.test((e as Error).message),
        op,
      );
    }
  });
});
