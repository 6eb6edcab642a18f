/**
 * The prover pool under pressure, with real proofs: a full queue answers 429, cancellation of
 * queued and running jobs, a worker killed by running out of memory, and job timeouts. Provers run
 * single-threaded here (ZKINFER_PROVER_THREADS=single), which makes every proof take a few hundred
 * milliseconds: long enough to catch a job running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Client, inflatePlan, modelDirNamed, SMALL_INPUT, smallMlp, useTestService } from './support/service.js';

const settings = { poolSize: 2, queueLimit: 2, proverThreads: 'single', workerHeapMb: 32 } as const;
let client: Client;
let small: any;

const served = useTestService(settings, async () => {
  client = served.client;
  small = await client.ready(smallMlp(), '?name=small');
});

const metric = async (line: RegExp): Promise<number> => Number(line.exec((await client.request('GET', '/metrics')).body)?.[1] ?? 0);
const isDone = async (id: string) => assert.equal((await client.job(id)).status, 'done');

test('a burst beyond pool + queue gets 429 with Retry-After; every accepted job finishes', async () => {
  const replies = await Promise.all(Array.from({ length: 10 }, () => client.prove(small.id, SMALL_INPUT)));
  const accepted = replies.filter((r) => r.status === 202);
  const rejected = replies.filter((r) => r.status === 429);
  assert.equal(accepted.length + rejected.length, 10);
  assert.ok(accepted.length >= 4, `${accepted.length} accepted: pool 2 + queue 2`);
  assert.ok(rejected.length >= 1);
  for (const r of rejected) {
    assert.equal(r.body.error.code, 'QUEUE_FULL');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(Number(r.headers.get('retry-after')), r.body.error.details.retryAfterSeconds);
  }
  assert.equal(await metric(/^zkinfer_failures_total\{kind="proof",reason="QUEUE_FULL"\} (\d+)/m), rejected.length);
  for (const r of accepted) await isDone(r.body.id);
});

test('cancelling: a queued job at once, a running one by stopping its worker; the pool carries on', async () => {
  const jobs = [];
  for (let i = 0; i < 4; i++) jobs.push((await client.prove(small.id, SMALL_INPUT)).body);
  assert.deepEqual(
    jobs.map((j) => j.status),
    ['running', 'running', 'queued', 'queued'],
  );

  const queued = await client.request('DELETE', `/v1/proofs/${jobs[3].id}`);
  assert.equal(queued.status, 200);
  assert.equal(queued.body.status, 'cancelled');
  assert.equal(queued.body.error.code, 'CANCELLED');
  assert.equal(queued.body.startedAt, undefined, 'it never ran');

  const running = await client.request('DELETE', `/v1/proofs/${jobs[0].id}`);
  assert.equal(running.status, 200);
  assert.equal(running.body.status, 'cancelled');
  assert.ok(running.body.startedAt);

  await isDone(jobs[1].id);
  await isDone(jobs[2].id);
  const after = await client.prove(small.id, SMALL_INPUT, '?wait=30');
  assert.equal(after.body.status, 'done', 'the stopped worker was replaced');
});

test('a worker that runs out of memory fails only its job, says why, and the pool carries on', async () => {
  // A model too big for the workers' 32 MB heap: the service process (default heap) still checks
  // its inputs; the worker that loads it dies.
  const victim = await client.ready(smallMlp(5), '?name=victim');
  inflatePlan(modelDirNamed(served.service.config.dataDir, 'victim'));

  const [crashed, bystander] = await Promise.all([client.prove(victim.id, SMALL_INPUT, '?wait=30'), client.prove(small.id, SMALL_INPUT, '?wait=30')]);
  assert.equal(crashed.body.status, 'failed', JSON.stringify(crashed.body));
  assert.equal(crashed.body.error.code, 'WORKER_CRASHED');
  assert.match(crashed.body.error.message, /ran out of memory/);
  assert.equal(bystander.body.status, 'done');
  const next = await client.prove(small.id, SMALL_INPUT, '?wait=30');
  assert.equal(next.body.status, 'done');
  assert.equal(await metric(/^zkinfer_failures_total\{kind="proof",reason="WORKER_CRASHED"\} (\d+)/m), 1);
});

test('a job running past its timeout fails with TIMEOUT', async () => {
  client = (await served.restart({ ...settings, jobTimeoutMs: 50 })).client;
  assert.equal((await client.request('GET', `/v1/models/${small.id}`)).body.status, 'ready', 'the model survived the restart');
  const { status, body } = await client.prove(small.id, SMALL_INPUT, '?wait=30');
  assert.equal(status, 200);
  assert.equal(body.status, 'failed');
  assert.equal(body.error.code, 'TIMEOUT');
  assert.match(body.error.message, /0\.05 s/);
  assert.equal(await metric(/^zkinfer_failures_total\{kind="proof",reason="TIMEOUT"\} (\d+)/m), 1);
});
