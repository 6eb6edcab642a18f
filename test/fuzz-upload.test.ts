/**
 * Bounded fuzzing of model uploads (issue 13): seeded mutations of small ONNX files (byte flips,
 * truncations, hostile names and strings, external data, huge and negative dims) go through the
 * real service's upload. Each must be a 4xx with an error code, or a model that settles ready or
 * failed with a code other than INTERNAL (the first BUILDS of them are followed; the rest are
 * deleted while they build); no message may show a server path; the server stays up and a model
 * built before the fuzz still proves.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { releaseCurve } from '../src/core/snarkjs.js';
import { REPO_ROOT } from './support/env.js';
import { externalize, mulberry32, OnnxBuilder, type Rng } from './support/onnx-builder.js';
import { SMALL_INPUT, smallMlp, startTestService } from './support/service.js';

const { ModelProto } = onnxProto.onnx;
type Model = onnxProto.onnx.ModelProto;

after(() => releaseCurve());

const SEED = 0x13f022;
const COUNT = 60;
/** Accepted uploads followed to the end of their build; later ones are deleted at once (which stops their build). */
const BUILDS = 4;

const relu = () => new OnnxBuilder().input('x', [1, 4]).node('Relu', ['x'], ['y']).output('y', [1, 4]).build();
const bases = [smallMlp, relu];

const HOSTILE = [
  'a\n    signal output leak[3];\n    leak[0] <== in0[0];\n    //',
  '*/ } template X() { /*',
  '__proto__',
  'constructor',
  '',
  '\u2028\u2029\u0000\u001b[31m',
  '../../../../etc/passwd',
  'x'.repeat(20_000),
  '"); process.exit(1); ("',
];
const LOCATIONS = ['package.json', '../package.json', '/etc/passwd', 'network.onnx.data', 'C:\\Windows\\win.ini', '\u0000'];
const DIMS = [2 ** 24, 2 ** 27, 2 ** 40, -1, 0, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

function edit(onnx: Uint8Array, f: (m: Model) => void): Uint8Array {
  const m = ModelProto.decode(onnx);
  f(m);
  return ModelProto.encode(m).finish();
}

/** One seeded mutation of a base model, with a label for failure messages. */
function mutate(rng: Rng): { label: string; onnx: Uint8Array } {
  const base = pick(rng, bases)();
  const kind = Math.floor(rng() * 6);
  switch (kind) {
    case 0: {
      const bytes = Uint8Array.from(base);
      const flips = 1 + Math.floor(rng() * 8);
      for (let i = 0; i < flips; i++) bytes[Math.floor(rng() * bytes.length)] ^= 1 << Math.floor(rng() * 8);
      return { label: `${flips} byte flips`, onnx: bytes };
    }
    case 1: {
      const at = Math.floor(rng() * base.length);
      return { label: `truncated at ${at}`, onnx: base.subarray(0, at) };
    }
    case 2: {
      const name = pick(rng, HOSTILE);
      const where = pick(rng, ['node', 'graph', 'doc', 'input', 'output'] as const);
      return {
        label: `hostile ${where} name ${JSON.stringify(name.slice(0, 20))}`,
        onnx: edit(base, (m) => {
          const g = m.graph!;
          if (where === 'node') g.node![0].name = name;
          else if (where === 'graph') g.name = name;
          else if (where === 'doc') g.node![0].docString = g.docString = name;
          else if (where === 'input') g.input![0].name = g.node![0].input![0] = name;
          else g.output![0].name = g.node![g.node!.length - 1].output![0] = name;
        }),
      };
    }
    case 3: {
      if (base.length < 400) return { label: 'external data (no initializer): byte flip', onnx: base.map((b, i) => (i === 10 ? b ^ 4 : b)) };
      const location = pick(rng, LOCATIONS);
      return { label: `external data at ${JSON.stringify(location)}`, onnx: externalize(base, 'W1', location, { keepRaw: rng() < 0.5 }).model };
    }
    case 4: {
      const d = pick(rng, DIMS);
      return { label: `input dims [1, ${d}]`, onnx: edit(base, (m) => (m.graph!.input![0].type!.tensorType!.shape!.dim![1] = { dimValue: d })) };
    }
    default: {
      const d = pick(rng, DIMS);
      if (base.length < 400)
        return { label: `output dims [${d}]`, onnx: edit(base, (m) => (m.graph!.output![0].type!.tensorType!.shape!.dim = [{ dimValue: d }])) };
      return { label: `initializer dims [${d}, 3]`, onnx: edit(base, (m) => (m.graph!.initializer![0].dims = [d, 3])) };
    }
  }
}

test(`${COUNT} seeded mutations of ONNX uploads: each a 4xx or a settled model with a code; the server stays up, other models unaffected`, async (t) => {
  const service = await startTestService({ compileConcurrency: 2 });
  try {
    const { client } = service;
    let clock = Date.now();
    const lap = () => -clock + (clock = Date.now());
    const control = await client.ready(smallMlp(), '?name=control&scale=8');
    const times = { control: lap(), uploads: 0, builds: 0 };
    const rng = mulberry32(SEED);
    const accepted: { label: string; id: string }[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < COUNT; i++) {
      const { label, onnx } = mutate(rng);
      const { status, body } = await client.upload(onnx, '?scale=8');
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      assert.ok(status === 202 || (status >= 400 && status < 500), `${label}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
      if (status === 202 && accepted.length < BUILDS) accepted.push({ label, id: body.id });
      else if (status === 202) assert.equal((await client.request('DELETE', `/v1/models/${body.id}`)).status, 204, label);
      else {
        assert.match(body.error.code, /^[A-Z_]+$/, label);
        assert.ok(!body.error.message.includes(REPO_ROOT) && !body.error.message.includes(service.config.dataDir), `${label}: ${body.error.message}`);
      }
    }
    times.uploads = lap();
    const settled = new Map<string, number>();
    for (const { label, id } of accepted) {
      const last = (await client.settle(id, 60_000)).at(-1);
      const key = last.status === 'failed' ? last.error.code : last.status;
      settled.set(key, (settled.get(key) ?? 0) + 1);
      assert.ok(
        last.status === 'ready' || (last.status === 'failed' && !['INTERNAL', 'WORKER_CRASHED'].includes(last.error.code)),
        `${label}: ${JSON.stringify(last.error)}`,
      );
      if (last.error)
        assert.ok(!last.error.message.includes(REPO_ROOT) && !last.error.message.includes(service.config.dataDir), `${label}: ${last.error.message}`);
    }
    times.builds = lap();
    t.diagnostic(`ms: ${JSON.stringify(times)}`);
    t.diagnostic(`upload answers ${JSON.stringify(Object.fromEntries(statuses))}; accepted builds ${JSON.stringify(Object.fromEntries(settled))}`);

    assert.equal((await client.request('GET', '/healthz')).status, 200);
    assert.equal((await client.request('GET', `/v1/models/${control.id}`)).body.status, 'ready');
    assert.equal((await client.request('GET', '/v1/models')).status, 200);
    const job = await client.prove(control.id, SMALL_INPUT, '?wait=30');
    assert.equal(job.body.status, 'done', JSON.stringify(job.body));
    const verdict = await client.request('POST', '/v1/verify', { model: control.id, proof: job.body.bundle });
    assert.deepEqual(verdict.body, { valid: true });
  } finally {
    await service.close();
  }
});
