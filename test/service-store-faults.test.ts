/**
 * Store faults against a real server: a SQLite database locked by another process during proof
 * jobs, a full disk (a real tmpfs filled up) under uploads and at restart, and a second server on
 * the same data directory. The server stays up, each job ends with a code, nothing is lost, and a
 * server that cannot start says why and exits 1.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { releaseCurve } from '../src/core/snarkjs.js';
import { killAll, startNode } from './support/cluster.js';
import { REPO_ROOT, tempDir } from './support/env.js';
import { Client, SMALL_INPUT, serviceDataDir, smallMlp, startTestService } from './support/service.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const cleanup: (() => void)[] = [];
after(async () => {
  killAll();
  await releaseCurve();
  for (const f of cleanup.reverse()) f();
});

/**
 * Another process that opens the database, then on `lock()` holds `BEGIN EXCLUSIVE` on it for
 * `ms` (the connection is made beforehand, so the lock comes within milliseconds of the call).
 */
async function databaseLocker(dataDir: string, ms: number): Promise<{ lock(): Promise<void>; released: Promise<unknown> }> {
  const script = `import Database from 'better-sqlite3';
const db = new Database(${JSON.stringify(join(dataDir, 'zkinfer.db'))});
console.log('open');
process.stdin.once('data', () => {
  db.exec('BEGIN EXCLUSIVE'); console.log('locked');
  setTimeout(() => { db.exec('COMMIT'); db.close(); process.exit(0); }, ${ms});
});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const released = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const next = () =>
    new Promise<void>((resolve, reject) => {
      lines.once('line', () => resolve());
      void released.then(([code]) => reject(new Error(`the locking process exited with ${code}`)));
    });
  await next();
  return {
    lock: () => {
      const locked = next();
      child.stdin!.write('go\n');
      return locked;
    },
    released,
  };
}

test('a database locked by another process fails or delays proof jobs, never the server', async () => {
  const service = await startTestService({ poolSize: 1, proverThreads: 'single' });
  cleanup.push(() => rmSync(service.config.dataDir, { recursive: true, force: true }));
  const { client } = service;
  try {
    const model = await client.ready(smallMlp(), '?name=small');
    // One worker: the first job runs, the others wait; the lock is taken while they do.
    const locker = await databaseLocker(service.config.dataDir, 2500);
    const ids = await Promise.all(Array.from({ length: 6 }, async () => (await client.prove(model.id, SMALL_INPUT)).body.id));
    await locker.lock();

    // Reads go on (WAL); a write in a request is a clean 503.
    assert.equal((await client.request('GET', '/v1/models')).status, 200);
    const refused = await client.prove(model.id, SMALL_INPUT);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'STORAGE_FAILED');
    assert.match(refused.body.error.message, /locked/);
    await locker.released;

    // Every job ends: proven, or failed with the store's code; at least one met the lock.
    const ended = await Promise.all(ids.map((id) => client.job(id, undefined, 60_000)));
    for (const job of ended) assert.ok(job.status === 'done' || job.error?.code === 'STORAGE_FAILED', JSON.stringify(job));
    assert.ok(
      ended.some((j) => j.error?.code === 'STORAGE_FAILED'),
      `a job ran into the locked database: ${JSON.stringify(ended.map((j) => [j.status, j.createdAt, j.finishedAt, j.timings]))}`,
    );

    // The server is up and proves as before.
    const after = await client.prove(model.id, SMALL_INPUT, '?wait=30');
    assert.equal(after.body.status, 'done', JSON.stringify(after.body.error));
    assert.deepEqual((await client.request('POST', '/v1/verify', { model: model.id, proof: after.body.bundle })).body, { valid: true });
  } finally {
    await service.close();
  }
});

test('a database locked by another process when a model build ends delays its record; the model is ready once the lock is gone', async () => {
  const service = await startTestService();
  cleanup.push(() => rmSync(service.config.dataDir, { recursive: true, force: true }));
  const { client } = service;
  try {
    // The build of the small MLP takes a few seconds: it ends while the database is locked.
    const locker = await databaseLocker(service.config.dataDir, 15_000);
    const { status, body } = await client.upload(smallMlp(), '?name=locked-build');
    assert.equal(status, 202, JSON.stringify(body));
    await locker.lock();
    await locker.released;
    const last = (await client.settle(body.id, 60_000)).at(-1);
    assert.equal(last.status, 'ready', JSON.stringify(last));
    const proved = await client.prove(body.id, SMALL_INPUT, '?wait=30');
    assert.equal(proved.body.status, 'done', JSON.stringify(proved.body.error));
  } finally {
    await service.close();
  }
});

/** A 4 MB tmpfs as a data directory; undefined when this process may not mount (not root). */
function smallDisk(): string | undefined {
  const dir = tempDir('full-disk');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status === 0;
  if (!mounted) return void rmSync(dir, { recursive: true, force: true });
  cleanup.push(() => {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills a filesystem to the last byte; returns the filler's path. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const { bavail, bsize } = statfsSync(dir);
  writeFileSync(filler, Buffer.alloc(bavail * bsize));
  return filler;
}

test('a full disk is a clean 503 for an upload, and a restart on it serves reads or says why and exits 1', async (t) => {
  const disk = smallDisk();
  if (!disk) return t.skip('mounting a tmpfs needs root');
  const dataDir = join(disk, 'data');
  mkdirSync(dataDir);
  const service = await startTestService({ dataDir });
  const filler = fill(disk);
  try {
    const upload = await service.client.upload(smallMlp(), '?name=small');
    assert.equal(upload.status, 503, JSON.stringify(upload.body));
    assert.equal(upload.body.error.code, 'STORAGE_FAILED');
    assert.match(upload.body.error.message, /disk is full/);
    assert.doesNotMatch(upload.body.error.message, /\//, 'no path in the message');
    assert.equal((await service.client.request('GET', '/v1/models')).status, 200);
    assert.deepEqual(readdirSync(join(dataDir, 'uploads')), [], 'no temp file left');
  } finally {
    await service.close();
  }

  // Restarting on the full disk: the CLI starts (reads work, writes are 503s) or explains itself.
  const env = { ZKINFER_DATA_DIR: dataDir, PORT: '0', ZKINFER_HOST: '127.0.0.1', ZKINFER_EXAMPLE: '0', ZKINFER_POOL_SIZE: '1' };
  const restarted = await serveOrExit(env);
  if ('stderr' in restarted) {
    assert.equal(restarted.code, 1);
    assert.match(restarted.stderr, /^error \[STORAGE_FAILED\]: cannot open the database in .*disk is full/);
    assert.doesNotMatch(restarted.stderr, /\n\s+at /, 'no stack trace');
  } else {
    const client = new Client(restarted.url);
    assert.deepEqual((await client.request('GET', '/v1/models')).body, { models: [] });
    assert.equal((await client.upload(smallMlp(), '?name=small')).body.error.code, 'STORAGE_FAILED');
    await restarted.stop();
  }

  // Space again: it starts on the same data.
  rmSync(filler);
  const again = await startTestService({ dataDir });
  assert.deepEqual((await again.client.request('GET', '/v1/models')).body, { models: [] });
  await again.close();
});

/** `zkinfer serve` as a process: its URL once it listens, or its exit code and stderr if it exits first. */
async function serveOrExit(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<unknown> } | { code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ZKINFER_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exit = once(proc, 'close').then(([code]) => ({ code: code as number | null, stderr }));
  const listening = new Promise<{ url: string; stop: () => Promise<unknown> }>((resolve) =>
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line);
      if (String(entry.msg).startsWith('zkinfer listening on ')) resolve({ url: entry.url, stop: () => (proc.kill('SIGKILL'), exit) });
    }),
  );
  return Promise.race([listening, exit]);
}

test('a second server on the same data directory refuses to start and leaves the first alone', async () => {
  const dataDir = serviceDataDir();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { ZKINFER_DATA_DIR: dataDir, PORT: '0', ZKINFER_HOST: '127.0.0.1', ZKINFER_EXAMPLE: '0', ZKINFER_POOL_SIZE: '1' };
  const first = await startNode('serve', env, 'zkinfer listening on ');
  const client = new Client(String(first.ready.url));
  const { body: model } = await client.upload(smallMlp(), '?name=small');
  assert.equal(model.status, 'compiling');

  const second = await serveOrExit(env);
  assert.ok('stderr' in second, 'the second server started');
  assert.equal(second.code, 1);
  assert.match(second.stderr, /^error \[CONFLICT\]: another zkinfer server is using the data directory /);
  assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');

  // The first one's build was not swept: it finishes and proves.
  assert.equal((await client.settle(model.id)).at(-1).status, 'ready');
  assert.equal((await client.prove(model.id, SMALL_INPUT, '?wait=30')).body.status, 'done');
  first.proc.kill('SIGTERM');
  assert.equal(await first.exit, 0);

  // Once it is gone, the lock is free. (SIGKILL: the CLI installs its SIGTERM handler only after
  // start-up, so a SIGTERM right after "listening" may find none.)
  const third = await startNode('serve', env, 'zkinfer listening on ');
  third.proc.kill('SIGKILL');
  await third.exit;
});

test('a port another program holds is a one-line CONFLICT naming PORT, and the data directory is free again', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = String((busy.address() as AddressInfo).port);
  const dataDir = serviceDataDir();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { ZKINFER_DATA_DIR: dataDir, PORT: port, ZKINFER_HOST: '127.0.0.1', ZKINFER_EXAMPLE: '0', ZKINFER_POOL_SIZE: '1' };
  try {
    const refused = await serveOrExit(env);
    assert.ok('stderr' in refused, 'the server started on a busy port');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^error \\[CONFLICT\\]: port ${port} on 127\\.0\\.0\\.1 is in use by another program; .*PORT`));
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    busy.close();
  }
  const started = await startNode('serve', { ...env, PORT: '0' }, 'zkinfer listening on ');
  started.proc.kill('SIGKILL');
  await started.exit;
});
