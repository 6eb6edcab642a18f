/**
 * `npm run bench` (last): proving on the user's machine. Each example model (tiny_mlp and mnist_mlp by
 * default; BENCH_BROWSER_MODELS=tiny_mlp,… to choose) is uploaded to a local service with a hashed
 * input and clientProving=true, then proved warm with the client library in Node and in headless
 * Chromium (Debian's chromium via playwright-core) in the same run: the median witness + prove ms of
 * BENCH_RUNS proofs each, their ratio, and what a browser downloads to prove (client.js and the
 * model's artifacts). Writes bench/browser.json.
 */
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect } from '../src/client/index.js';
import { startService } from '../src/service/service.js';
import { configWith } from '../src/service/config.js';
import { launchBrowser } from '../test/support/browser.js';
import { REPO_ROOT } from '../test/support/env.js';
import { Client } from '../test/support/service.js';
import { buildWeb } from './build-web.js';
import { EXAMPLES } from './example-models.js';

const dataDir = resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const names = (process.env.BENCH_BROWSER_MODELS ?? 'tiny_mlp,mnist_mlp').split(',');
const PROVING_ARTIFACTS = ['circuit.wasm', 'circuit.zkey', 'plan.json', 'model.json', 'verification_key.json'];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The service's data directory shares the development ptau cache of the other benchmarks.
const serviceDir = join(dataDir, 'bench-browser');
rmSync(serviceDir, { recursive: true, force: true });
mkdirSync(join(dataDir, 'ptau'), { recursive: true });
mkdirSync(serviceDir, { recursive: true });
symlinkSync(join(dataDir, 'ptau'), join(serviceDir, 'ptau'));

const sizes = await buildWeb();
const service = await startService(
  configWith({ port: 0, host: '127.0.0.1', logLevel: 'silent', registerExample: false, dataDir: serviceDir, maxConstraints: 1_000_000 }),
);
const api = new Client(service.url);
const zk = connect(service.url);
const browser = await launchBrowser();
const rows = [];
try {
  for (const name of names) {
    const example = EXAMPLES.find((e) => e.name === name);
    if (!example) throw new Error(`no example model ${name}`);
    const view = await api.ready(example.model(1), `?name=${name}&visibility=input=hashed&clientProving=true`, 3_600_000);
    const model = await zk.getModel(view.id);
    const input = { input: example.inputData(1) };

    await zk.proveLocally(model, input); // warm: artifacts downloaded, witness calculator and curve built
    const node: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { bundle } = await zk.proveLocally(model, input);
      node.push(bundle.timings.witnessMs + bundle.timings.proveMs);
    }

    const page = await browser.newPage();
    await page.goto(`${service.url}/`);
    const inPage = await page.evaluate(
      async ({ id, input, runs }) => {
        const url = '/client.js'; // the bundle the service serves, typed like zkinfer/client
        const { connect } = (await import(url)) as typeof import('../src/client/index.js');
        const zk = connect(location.origin);
        const model = await zk.getModel(id);
        await zk.proveLocally(model, input);
        const ms = [];
        for (let i = 0; i < runs; i++) {
          const { bundle } = await zk.proveLocally(model, input);
          ms.push(bundle.timings.witnessMs + bundle.timings.proveMs);
        }
        const verdict = await zk.verify(model, (await zk.proveLocally(model, input)).bundle);
        return { ms, valid: verdict.valid };
      },
      { id: view.id, input, runs },
    );
    await page.close();
    if (!inPage.valid) throw new Error(`${name}: the browser's proof does not verify`);

    const artifactBytes = Object.fromEntries(await Promise.all(PROVING_ARTIFACTS.map(async (a) => [a, (await zk.artifact(model, a)).length] as const)));
    const download = sizes['client.js'] + Object.values(artifactBytes).reduce((s, b) => s + b, 0);
    rows.push({
      model: name,
      constraints: view.constraints,
      nodeMs: median(node),
      browserMs: median(inPage.ms),
      ratio: median(inPage.ms) / median(node),
      clientJsBytes: sizes['client.js'],
      artifactBytes,
      downloadBytes: download,
    });
  }
} finally {
  await browser.close();
  await zk.close();
  await service.close();
}

mkdirSync(join(REPO_ROOT, 'bench'), { recursive: true });
writeFileSync(
  join(REPO_ROOT, 'bench/browser.json'),
  `${JSON.stringify(
    { date: new Date().toISOString(), runs, visibility: 'input=hashed', chromium: (await import('../test/support/browser.js')).CHROMIUM, rows },
    null,
    2,
  )}\n`,
);
const mb = (b: number) => (b / 1024 / 1024).toFixed(2);
console.log('\nProving on the client: warm witness + Groth16 prove, median of', runs, '(input=hashed)');
console.log('| model | constraints | Node ms | Chromium ms | Chromium / Node | download MB (client.js + wasm + zkey + plan) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.model} | ${r.constraints} | ${r.nodeMs.toFixed(0)} | ${r.browserMs.toFixed(0)} | ${r.ratio.toFixed(2)} | ${mb(r.downloadBytes)} (${mb(r.clientJsBytes)} + ${mb(r.artifactBytes['circuit.wasm'])} + ${mb(r.artifactBytes['circuit.zkey'])} + ${mb(r.artifactBytes['plan.json'])}) |`,
  );
if (existsSync(serviceDir)) rmSync(serviceDir, { recursive: true, force: true });
