/**
 * `zkinfer serve` as a real process (what `npm start` runs), killed and restarted on one data
 * directory: the bundled example registers itself, a build cut short by SIGKILL runs again, queued
 * and running proof jobs survive SIGKILL, and SIGTERM drains the running job before exiting.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { killAll, startNode, type NodeProcess } from './support/cluster.js';
import { Client, serviceDataDir } from './support/service.js';

type Server = NodeProcess & { client: Client };

const dataDir = serviceDataDir();
after(() => {
  killAll();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the CLI's service; resolves once it listens. One single-threaded worker: slow, countable jobs. */
async function serve(dataDir: string): Promise<Server> {
  const node = await startNode(
    'serve',
    { ZKINFER_DATA_DIR: dataDir, PORT: '0', ZKINFER_HOST: '127.0.0.1', ZKINFER_POOL_SIZE: '1', ZKINFER_PROVER_THREADS: 'single' },
    'zkinfer listening on ',
  );
  return { ...node, client: new Client(String(node.ready.url)) };
}

const logged = (s: Server, prefix: string) => s.logs.find((l) => l.msg.startsWith(prefix));

async function kill(s: Server): Promise<void> {
  s.proc.kill('SIGKILL');
  await s.exit;
}

test('serve survives SIGKILL and SIGTERM without losing a model build or a proof job', async () => {
  // 1. A fresh data directory: the example registers itself and starts building; kill it mid-build.
  const first = await serve(dataDir);
  const example = (await first.client.request('GET', '/v1/models')).body.models;
  assert.equal(example.length, 1);
  assert.equal(example[0].name, 'tiny_mlp');
  assert.equal(example[0].status, 'compiling');
  assert.match(String(logged(first, 'registered example model tiny_mlp')?.msg), new RegExp(example[0].id));
  await kill(first);

  // 2. The next process builds it again, under the same id, without registering another one.
  const second = await serve(dataDir);
  assert.equal(logged(second, 'zkinfer listening')?.rebuildingModels, 1);
  const built = (await second.client.settle(example[0].id)).at(-1);
  assert.equal(built.status, 'ready', JSON.stringify(built.error));
  assert.equal((await second.client.request('GET', '/v1/models')).body.models.length, 1);
  assert.ok(
    second.logs.some((l) => /INSECURE DEVELOPMENT POWERS-OF-TAU/.test(l.msg)),
    'setup warned about the development ptau',
  );

  // 3. Five jobs: one running, four queued, when the process is killed.
  const input = { input_data: [[0.5, -0.25, 0.125, 0.75]] };
  const jobs = [];
  for (let i = 0; i < 5; i++) jobs.push((await second.client.prove(built.id, input)).body);
  assert.deepEqual(
    jobs.map((j) => j.status),
    ['running', 'queued', 'queued', 'queued', 'queued'],
  );
  await kill(second);

  // 4. The next process runs them all, in order, and each proof verifies.
  const third = await serve(dataDir);
  assert.ok(Number(logged(third, 'zkinfer listening')?.requeuedJobs) >= 4);
  for (const { id } of jobs) {
    const job = await third.client.job(id);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    assert.deepEqual((await third.client.request('POST', '/v1/verify', { model: built.id, proof: job.bundle })).body, { valid: true });
  }

  // 5. SIGTERM: the running job finishes, the process exits 0, the queued ones wait for the next start.
  const more = [];
  for (let i = 0; i < 3; i++) more.push((await third.client.prove(built.id, input)).body);
  assert.equal(more[0].status, 'running');
  third.proc.kill('SIGTERM');
  assert.equal(await third.exit, 0);
  assert.ok(logged(third, 'stopped'));
  const fourth = await serve(dataDir);
  assert.equal(logged(fourth, 'zkinfer listening')?.requeuedJobs, 2, 'the drained job was not requeued');
  for (const { id } of more) assert.equal((await fourth.client.job(id)).status, 'done');
  fourth.proc.kill('SIGTERM');
  assert.equal(await fourth.exit, 0);
});

test('a build the process dies in twice is failed, not started at every restart; a clean stop does not count', async () => {
  const dir = serviceDataDir();
  try {
    // A clean stop mid-build takes its start back: the next start builds the example as usual.
    const first = await serve(dir);
    const [example] = (await first.client.request('GET', '/v1/models')).body.models;
    assert.equal(example.status, 'compiling');
    first.proc.kill('SIGTERM');
    assert.equal(await first.exit, 0);
    // Two processes die while building it (SIGKILL stands in for an out-of-memory abort)...
    for (let i = 0; i < 2; i++) await kill(await serve(dir));
    // ...and the next does not start it a third time: the model fails, saying why, and the service runs.
    const last = await serve(dir);
    const failed = (await last.client.settle(example.id)).at(-1);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'COMPILE_FAILED');
    assert.match(failed.error.message, /ended the service's process 2 times/);
    assert.equal((await last.client.request('GET', '/healthz')).status, 200);
    last.proc.kill('SIGTERM');
    assert.equal(await last.exit, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
