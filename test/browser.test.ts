/**
 * The web app in a real browser (headless Chromium via playwright-core): it proves tiny_mlp with a
 * hashed input in the page, the service verifies and records the proof, and neither the service's
 * log nor its database ever holds the input; the in-page verifier rejects a tampered bundle; and
 * each page renders its key elements (checked, and kept as screenshots).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { releaseCurve } from '../src/core/snarkjs.js';
import { tinyMlp } from '../scripts/example-models.js';
import { launchBrowser } from './support/browser.js';
import { REPO_ROOT } from './support/env.js';
import { type Client, serviceDataDir } from './support/service.js';
import { configWith } from '../src/service/config.js';
import { startService, type Service } from '../src/service/service.js';
import { Client as ApiClient } from './support/service.js';

/** Distinctive digits: if any of them reaches the server's log or database, the input leaked. */
const SECRET = [0.7109375, -0.3671875, 0.2421875, -0.9140625];
const SECRET_TEXT = SECRET.map(String);
const SHOTS = join(REPO_ROOT, '.test-cache', 'screenshots');

let service: Service;
let dataDir: string;
let api: Client;
let browser: Browser;
let page: Page;
let model: any;
const logLines: string[] = [];
/** Everything the pages asked for that the service does not serve (a new user sees each as a warning in its log). */
const missing: string[] = [];

before(async () => {
  dataDir = serviceDataDir();
  // The service logs at info (every request) into memory, to search it for the input afterwards.
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  service = await startService(configWith({ port: 0, host: '127.0.0.1', registerExample: false, dataDir }), logger);
  api = new ApiClient(service.url);
  model = await api.ready(tinyMlp(), '?name=tiny_mlp&visibility=input=hashed&clientProving=true');
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  // Chromium reports what its pages miss (the page's own requests and its own, like /favicon.ico) on the console.
  // And what the content security policy blocked: the pages must work within it (snarkjs' wasm and workers included).
  page.on('console', (m) => {
    if (m.type() === 'error' && /status of 404|Content Security Policy/.test(m.text())) missing.push(`${page.url()}: ${m.text()}`);
  });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await service?.close();
  await releaseCurve();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Screenshot of the page, checked to be a real image of some size. */
async function shot(name: string): Promise<void> {
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const png = readFileSync(file);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.ok(png.length > 5000, `${name}.png is ${png.length} bytes`);
}

let proven: any; // the bundle the page proved

test('the page proves tiny_mlp with a hashed input; the service verifies and records only the proof', async () => {
  const sent: string[] = [];
  page.on('request', (r) => sent.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`));
  const home = await page.goto(`${service.url}/#prove`);
  // Served with a content security policy and nosniff (helmet), and compressed.
  const headers = home!.headers();
  assert.match(headers['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  const bundle = await fetch(`${service.url}/app.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(bundle.headers.get('content-encoding'), 'gzip');
  // A new user's first visit lists only clientProving models (not the example): the page says why.
  assert.match(await page.getByTestId('client-models').innerText(), /clientProving=true.*The service proves the others/);
  await page.getByTestId('model-select').selectOption(model.id);
  await page.getByTestId('input').fill(JSON.stringify({ input: [SECRET] }));
  await page.getByTestId('prove-button').click();
  await page.getByTestId('proved').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('commitments').innerText(), /"input":"\d+"/);
  // The opening shows what the proof hides (here the input), for the user to keep.
  assert.match(await page.getByTestId('opening').innerText(), new RegExp(`^Opening .*: input \\[${SECRET.join(',')}\\], salt \\d+$`));
  await shot('prove');
  await page.getByTestId('send-button').click();
  await page.getByTestId('sent').waitFor({ timeout: 30_000 });
  const jobId = /job (\S+)/.exec(await page.getByTestId('sent').innerText())![1];
  const { body: job } = await api.request('GET', `/v1/proofs/${jobId}`);
  assert.equal(job.status, 'done');
  assert.equal(job.node, 'client');
  assert.equal(job.bundle.inputs.length, 0);
  proven = job.bundle;
  // What left the page: downloads of the model's artifacts and the bundle, never the input.
  for (const r of sent) for (const s of SECRET_TEXT) assert.ok(!r.includes(s), `the page sent the input: ${r.slice(0, 200)}`);
  for (const s of SECRET_TEXT) assert.ok(!logLines.some((l) => l.includes(s)), `the service logged ${s}`);
  assert.ok(
    logLines.some((l) => l.includes(`/v1/models/${model.id}/proofs`)),
    'the log holds the requests (so searching it means something)',
  );
  for (const f of readdirSync(dataDir).filter((f) => f.startsWith('zkinfer.db'))) {
    const bytes = readFileSync(join(dataDir, f)).toString('latin1');
    for (const s of SECRET_TEXT) assert.ok(!bytes.includes(s), `${f} holds ${s}`);
  }
  assert.ok(statSync(join(dataDir, 'zkinfer.db')).size > 0);
});

test('the in-page verifier accepts the bundle and rejects a tampered one, showing the key hash', async () => {
  assert.ok(proven, 'needs the proof of the previous test');
  await page.goto(`${service.url}/#verify`);
  await page.getByTestId('model-select').selectOption(model.id);
  assert.equal(await page.getByTestId('vkey-hash').innerText(), model.vkeyHash);
  await page.getByTestId('bundle').fill(JSON.stringify(proven));
  await page.getByTestId('verify-button').click();
  await page.getByTestId('verdict').getByText('Valid proof').waitFor({ timeout: 60_000 });
  await shot('verify');
  const tampered = structuredClone(proven);
  tampered.publicSignals[0] = String(BigInt(tampered.publicSignals[0]) + 1n);
  await page.getByTestId('bundle').fill(JSON.stringify(tampered));
  await page.getByTestId('verify-button').click();
  await page.getByTestId('verdict').getByText('Invalid:').waitFor({ timeout: 60_000 });
  assert.match(await page.getByTestId('verdict').innerText(), /does not verify/);
});

test('the upload form sends the model with its options; the same name makes the next version', async () => {
  await page.goto(`${service.url}/#upload`);
  const form = page.getByTestId('upload');
  await form.locator('input[name=model]').setInputFiles({ name: 'tiny.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(tinyMlp(2)) });
  await form.locator('input[name=name]').fill('tiny_mlp');
  await form.locator('select[name=input]').selectOption('hashed');
  await form.locator('input[name=clientProving]').check();
  await form.locator('select[name=system]').selectOption('plonk');
  await form.getByRole('button', { name: 'Upload' }).click();
  await form.getByText(/Uploaded tiny_mlp v2/).waitFor({ timeout: 30_000 });
  const { body } = await api.request('GET', '/v1/models?name=tiny_mlp');
  const v2 = body.models.find((m: any) => m.version === 2);
  assert.deepEqual([v2.settings.visibility, v2.clientProving, v2.settings.system], [{ input: 'hashed', weights: 'fixed', output: 'public' }, true, 'plonk']);
  await form.locator('select[name=weights]').selectOption('hashed');
  await form.getByRole('button', { name: 'Upload' }).click();
  await form.getByText(/INPUT_INVALID: clientProving/).waitFor({ timeout: 30_000 });
});

test('every page renders its key elements', async () => {
  await page.goto(`${service.url}/#models`);
  const card = page.locator(`[data-model="${model.id}"]`);
  await card.waitFor();
  assert.match(await card.innerText(), /tiny_mlp/);
  assert.match(await card.getByTestId('constraints').innerText(), /\d/);
  await card.getByTestId('chart-layers').locator('canvas').waitFor();
  await card.getByTestId('chart-error').locator('canvas').waitFor();
  assert.match(await card.getByTestId('trust').innerText(), /development powers of tau/);
  await shot('models');
  await page.goto(`${service.url}/#upload`);
  await page.getByTestId('upload').locator('input[type=file]').waitFor();
  await shot('upload');
  await page.goto(`${service.url}/#jobs`);
  await page.getByTestId('job').first().getByText('done').waitFor({ timeout: 30_000 });
  await shot('jobs');
  await page.goto(`${service.url}/docs/`);
  await page.getByText('/v1/models/{id}/artifacts/{name}').first().waitFor({ timeout: 30_000 });
  await shot('docs');
  assert.deepEqual(missing, [], 'every page asked only for what the service serves, and nothing its policy blocks');
});
